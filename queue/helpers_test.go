package queue

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/store"
)

// testOffice is an office open every day, all day, with three services and five counters.
func testOffice(t testing.TB) *booking.Office {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	o := &booking.Office{ID: "testamt", Name: "Testamt", Timezone: "Europe/Berlin", Location: loc, SlotMinutes: 5,
		Counters: []string{"1", "2", "3", "4", "5"},
		Services: []booking.Service{
			{ID: "ummeldung", Name: booking.Text{De: "Ummeldung", En: "Change of address"}, DurationMinutes: 15, Letter: "A"},
			{ID: "pass", Name: booking.Text{De: "Reisepass", En: "Passport"}, DurationMinutes: 20, Letter: "B"},
			{ID: "fundsache", Name: booking.Text{De: "Fundsache", En: "Lost property"}, DurationMinutes: 10, Letter: "C", DailyTicketQuota: 2},
		}}
	for d := range o.Hours {
		o.Hours[d] = []booking.TimeRange{{Start: 0, End: 1440}}
	}
	return o
}

// fakeAppointments stands for the booking package's side of check-in: a
// small in-memory implementation of the Appointments interface.
type fakeAppointments struct {
	mu      sync.Mutex
	byCode  map[string]CheckinAppointment
	checked map[string]int
}

func newFakeAppointments(list ...CheckinAppointment) *fakeAppointments {
	f := &fakeAppointments{byCode: map[string]CheckinAppointment{}, checked: map[string]int{}}
	for _, a := range list {
		f.add(a)
	}
	return f
}

func (f *fakeAppointments) add(a CheckinAppointment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byCode[a.Code] = a
}

func (f *fakeAppointments) ForCheckin(_ context.Context, _, code string) (CheckinAppointment, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.byCode[code]
	return a, ok, nil
}

func (f *fakeAppointments) MarkCheckedIn(_ context.Context, _, id string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked[id]++
	for code, a := range f.byCode {
		if a.ID == id {
			a.Status = "checked_in"
			f.byCode[code] = a
		}
	}
	return nil
}

func (f *fakeAppointments) timesChecked(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checked[id]
}

// fixedClosure is a closure checker that reports one closure for every moment.
type fixedClosure struct{ c *Closure }

func (f fixedClosure) ClosedAt(context.Context, string, time.Time) (*Closure, error) { return f.c, nil }

type fixture struct {
	svc    *Service
	clock  *clock.Simulated
	office *booking.Office
	appts  *fakeAppointments
	st     *store.Store
}

func newFixture(t testing.TB, st *store.Store, now time.Time, mod func(*Config)) *fixture {
	t.Helper()
	o := testOffice(t)
	clk := clock.NewSimulated(now)
	appts := newFakeAppointments()
	cfg := Config{Offices: booking.NewDirectory([]*booking.Office{o}), Store: st, Clock: clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseURL: "http://localhost:8080", Appointments: appts}
	if mod != nil {
		mod(&cfg)
	}
	svc := New(cfg)
	t.Cleanup(svc.Close)
	return &fixture{svc: svc, clock: clk, office: o, appts: appts, st: st}
}

// at returns the office-local time of a "2006-01-02 15:04" text.
func at(t testing.TB, local string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	ts, err := time.ParseInLocation("2006-01-02 15:04", local, loc)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("got error %v (code %s), want code %s", err, got, code)
	}
	if e := apperr.As(err); e.De == "" || e.En == "" {
		t.Fatalf("error %s lacks a German or English message", code)
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func hours(start, end int) booking.TimeRange { return booking.TimeRange{Start: start, End: end} }
