package queue

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDayStats(t *testing.T) {
	const min = 60_000
	tickets := []Ticket{
		{Number: "A001", Service: "a", Kind: KindWalkIn, Status: StatusFinished, Issued: 0, Called: 10 * min, LastCall: 10 * min, Finished: 25 * min},
		{Number: "A002", Service: "a", Kind: KindWalkIn, Status: StatusNoShow, Issued: 0, Called: 20 * min, LastCall: 22 * min, Finished: 23 * min},
		{Number: "A003", Service: "a", Kind: KindAppointment, Status: StatusFinished, Issued: 0, Due: 30 * min, Called: 32 * min, LastCall: 32 * min, Finished: 37 * min, Appointment: "x"},
		{Number: "A004", Service: "a", Kind: KindWalkIn, Status: StatusWaiting, Issued: 40 * min},
		{Number: "B001", Service: "b", Kind: KindWalkIn, Status: StatusParked, Issued: 5 * min, Called: 6 * min},
		// Called and never finished (left "called" over midnight): open, not served.
		{Number: "A005", Service: "a", Kind: KindWalkIn, Status: StatusCalled, Issued: 50 * min, Called: 60 * min, LastCall: 60 * min},
	}
	got := DayStats("2026-10-01", []string{"a", "b", "c"}, tickets)
	want := []StatRow{
		{Date: "2026-10-01", Service: "a", Tickets: 5, WalkIns: 4, Appointments: 1, Served: 2, NoShows: 1, Open: 2,
			WaitP50Minutes: 10, WaitP90Minutes: 20, ServiceTimeP50Minute: 5},
		{Date: "2026-10-01", Service: "b", Tickets: 1, WalkIns: 1, Open: 1, WaitP50Minutes: 1, WaitP90Minutes: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DayStats (-want +got):\n%s", d)
	}
}

func TestHourStats(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	const min = 60_000
	at := func(h, m int) int64 { return time.Date(2026, 10, 1, h, m, 0, 0, berlin).UnixMilli() }
	tickets := []Ticket{
		{Service: "a", Status: StatusFinished, Issued: at(8, 5), Called: at(8, 15), LastCall: at(8, 15), Finished: at(8, 27)},
		{Service: "b", Status: StatusFinished, Issued: at(8, 50), Called: at(9, 20), LastCall: at(9, 20), Finished: at(9, 24)},
		{Service: "a", Status: StatusWaiting, Issued: at(10, 0)},
		// An appointment counts in the hour it became due, not when it checked in.
		{Service: "a", Status: StatusFinished, Issued: at(8, 40), Due: at(10, 30), Called: at(10, 32), LastCall: at(10, 32), Finished: at(10, 32) + 6*min},
	}
	want := []HourRow{
		{Hour: 8, Tickets: 2, WaitP50Minutes: 10, WaitP90Minutes: 30, ServiceTimeP50Minute: 4},
		{Hour: 10, Tickets: 2, WaitP50Minutes: 2, WaitP90Minutes: 2, ServiceTimeP50Minute: 6},
	}
	if d := cmp.Diff(want, HourStats(berlin, tickets)); d != "" {
		t.Errorf("HourStats (-want +got):\n%s", d)
	}
}
