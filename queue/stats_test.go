package queue

import (
	"testing"

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
	}
	got := DayStats("2026-10-01", []string{"a", "b", "c"}, tickets)
	want := []StatRow{
		{Date: "2026-10-01", Service: "a", Tickets: 4, WalkIns: 3, Appointments: 1, Served: 2, NoShows: 1,
			WaitP50Minutes: 10, WaitP90Minutes: 20, ServiceTimeP50Minute: 5},
		{Date: "2026-10-01", Service: "b", Tickets: 1, WalkIns: 1, WaitP50Minutes: 1, WaitP90Minutes: 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DayStats (-want +got):\n%s", d)
	}
}
