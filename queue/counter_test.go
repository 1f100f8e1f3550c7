package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/events"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

func TestCallNext(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := at(t, "2026-10-01 10:00")
		f := newFixture(t, st, now, nil)
		f.appts.add(CheckinAppointment{ID: "ap1", Code: "DUE1", Service: "pass", Start: now.Add(-5 * time.Minute), Status: "confirmed"})
		f.appts.add(CheckinAppointment{ID: "ap2", Code: "EARLY", Service: "ummeldung", Start: now.Add(20 * time.Minute), Status: "confirmed"})

		t.Run("ErrCounterNotOpen", func(t *testing.T) {
			_, _, err := f.svc.CallNext(ctx, "testamt", "1", "anna")
			wantCode(t, err, "counter_not_open")
		})
		t.Run("ErrCounterNotFound", func(t *testing.T) {
			_, _, err := f.svc.CallNext(ctx, "testamt", "99", "anna")
			wantCode(t, err, "counter_not_found")
		})
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "1", nil, "anna"))
		t.Run("NobodyWaits", func(t *testing.T) {
			_, ok, err := f.svc.CallNext(ctx, "testamt", "1", "anna")
			if err != nil || ok {
				t.Fatalf("got %v %v, want nothing", ok, err)
			}
		})
		a1 := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "ummeldung"))
		b1 := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
		early := must[*Issued](t)(f.svc.CheckIn(ctx, "testamt", "EARLY"))
		due := must[*Issued](t)(f.svc.CheckIn(ctx, "testamt", "DUE1"))
		a2 := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "ummeldung"))

		call := func(counter string) string {
			t.Helper()
			tk, ok, err := f.svc.CallNext(ctx, "testamt", counter, "anna")
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return ""
			}
			return tk.Number
		}
		// due appointment first, then walk-ins by arrival; the early appointment waits
		got := []string{call("1"), call("1"), call("1"), call("1")}
		want := []string{due.Ticket.Number, a1.Ticket.Number, b1.Ticket.Number, a2.Ticket.Number}
		if !slices.Equal(got, want) {
			t.Fatalf("called %v, want %v", got, want)
		}
		if n := call("1"); n != "" {
			t.Fatalf("called %s before its appointment time", n)
		}
		f.clock.Advance(20 * time.Minute)
		if n := call("1"); n != early.Ticket.Number {
			t.Fatalf("called %q, want the now due appointment %s", n, early.Ticket.Number)
		}
		// calling next finished the previous ticket of the counter
		prev := must[*StaffTicket](t)(f.svc.Ticket(ctx, "testamt", a2.Ticket.Number))
		if prev.Status != StatusFinished {
			t.Fatalf("previous ticket is %s, want finished", prev.Status)
		}
		t.Run("ServicesFiltered", func(t *testing.T) {
			must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "2", []string{"pass"}, "ben"))
			must[*Issued](t)(f.svc.Draw(ctx, "testamt", "ummeldung"))
			if n := call("2"); n != "" {
				t.Fatalf("counter for pass called %s", n)
			}
		})
	})
}

func TestTicketActions(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, at(t, "2026-10-01 10:00"), nil)
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "1", []string{"ummeldung"}, "anna"))
		a1 := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "ummeldung")).Ticket.Number
		a2 := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "ummeldung")).Ticket.Number
		b1 := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass")).Ticket.Number
		act := func(number, action, service string) (*StaffTicket, error) {
			return f.svc.Act(ctx, "testamt", number, action, service, "anna")
		}
		t.Run("ErrTicketState", func(t *testing.T) {
			_, err := act(a1, ActionFinish, "")
			wantCode(t, err, "ticket_state_changed")
		})
		t.Run("ErrTicketNotFound", func(t *testing.T) {
			_, err := act("Z999", ActionRecall, "")
			wantCode(t, err, "ticket_not_found")
		})
		t.Run("ErrUnknownAction", func(t *testing.T) {
			_, err := act(a1, "explode", "")
			wantCode(t, err, "unknown_action")
		})
		t.Run("RecallLimitThenNoShow", func(t *testing.T) {
			tk, _, err := f.svc.CallNext(ctx, "testamt", "1", "anna")
			if err != nil || tk.Number != a1 {
				t.Fatalf("called %+v %v, want %s", tk, err, a1)
			}
			for i := 1; i <= 3; i++ {
				r, err := act(a1, ActionRecall, "")
				if err != nil || r.Recalls != i {
					t.Fatalf("recall %d: %+v %v", i, r, err)
				}
			}
			_, err = act(a1, ActionRecall, "")
			wantCode(t, err, "recall_limit")
			r := must[*StaffTicket](t)(act(a1, ActionNoShow, ""))
			if r.Status != StatusNoShow {
				t.Fatalf("status %s", r.Status)
			}
			last := r.History[len(r.History)-1]
			if last.Action != "no_show" || last.By != "anna" || last.At != f.clock.Now().UnixMilli() {
				t.Fatalf("history does not record who and when: %+v", last)
			}
		})
		t.Run("TransferKeepsNumberAndPlace", func(t *testing.T) {
			// a2 (arrived before b1) moves to pass: it is called there before b1
			r := must[*StaffTicket](t)(act(a2, ActionTransfer, "pass"))
			if r.Number != a2 || r.Service != "pass" || r.Status != StatusWaiting {
				t.Fatalf("transferred %+v", r)
			}
			must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "2", []string{"pass"}, "ben"))
			tk, _, err := f.svc.CallNext(ctx, "testamt", "2", "ben")
			if err != nil || tk.Number != a2 {
				t.Fatalf("called %+v %v, want %s", tk, err, a2)
			}
			_, err = act(a2, ActionTransfer, "nope")
			wantCode(t, err, "unknown_service")
		})
		t.Run("ParkUnpark", func(t *testing.T) {
			r := must[*StaffTicket](t)(act(a2, ActionPark, ""))
			if r.Status != StatusParked {
				t.Fatalf("status %s", r.Status)
			}
			// the counter is free again and the parked ticket is not called
			tk, _, err := f.svc.CallNext(ctx, "testamt", "2", "ben")
			if err != nil || tk.Number != b1 {
				t.Fatalf("called %+v %v, want %s", tk, err, b1)
			}
			f.clock.Advance(5 * time.Minute)
			must[*StaffTicket](t)(act(b1, ActionFinish, ""))
			r = must[*StaffTicket](t)(act(a2, ActionUnpark, ""))
			if r.Status != StatusWaiting {
				t.Fatalf("status %s", r.Status)
			}
			f.clock.Advance(5 * time.Minute)
			tk, _, err = f.svc.CallNext(ctx, "testamt", "2", "ben")
			if err != nil || tk.Number != a2 {
				t.Fatalf("called %+v %v, want %s", tk, err, a2)
			}
			f.clock.Advance(7 * time.Minute)
			r = must[*StaffTicket](t)(act(a2, ActionFinish, ""))
			if r.Status != StatusFinished {
				t.Fatalf("status %s", r.Status)
			}
		})
		t.Run("ServiceTimeLearned", func(t *testing.T) {
			must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
			must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
			d := must[*Display](t)(f.svc.Display(ctx, "testamt", "de"))
			// b1 took 5 min, a2 (as pass) 7 min: average 0.2*7+0.8*5 = 5.4 min; 2 waiting, one counter
			i := slices.IndexFunc(d.Services, func(s ServiceWait) bool { return s.Service == "pass" })
			if s := d.Services[i]; s.Waiting != 2 || s.EstimatedWaitMinutes != 11 {
				t.Fatalf("pass queue %+v, want 2 waiting and 11 minutes", s)
			}
		})
	})
}

func TestCheckIn(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := at(t, "2026-10-01 10:00")
		appt := func(id, code string, start time.Time) CheckinAppointment {
			return CheckinAppointment{ID: id, Code: code, Service: "pass", Start: start, End: start.Add(20 * time.Minute), Status: "confirmed"}
		}
		t.Run("OnTimeIdempotent", func(t *testing.T) {
			f := newFixture(t, st, now, nil)
			f.appts.add(appt("x1", "ONTIME", now.Add(5*time.Minute)))
			first := must[*Issued](t)(f.svc.CheckIn(ctx, "testamt", "ONTIME"))
			again := must[*Issued](t)(f.svc.CheckIn(ctx, "testamt", "ONTIME"))
			if first.Existing || !again.Existing || first.Ticket.Number != again.Ticket.Number {
				t.Fatalf("check-ins %+v / %+v, want one ticket", first, again)
			}
			if f.appts.timesChecked("x1") == 0 {
				t.Fatal("appointment not marked checked in")
			}
			if first.Ticket.AppointmentAt == "" || first.Ticket.EstimatedWaitMinutes < 5 {
				t.Fatalf("ticket %+v: want appointment time and a wait until it", first.Ticket)
			}
		})
		t.Run("ErrCheckinTooEarly", func(t *testing.T) {
			f := newFixture(t, st, now, nil)
			f.appts.add(appt("x2", "EARLY", now.Add(2*time.Hour)))
			_, err := f.svc.CheckIn(ctx, "testamt", "EARLY")
			wantCode(t, err, "checkin_too_early")
		})
		t.Run("ErrCheckinWrongDay", func(t *testing.T) {
			f := newFixture(t, st, now, nil)
			f.appts.add(appt("x3", "TOMORROW", now.Add(24*time.Hour)))
			_, err := f.svc.CheckIn(ctx, "testamt", "TOMORROW")
			wantCode(t, err, "checkin_wrong_day")
		})
		t.Run("ErrAppointmentNotFound", func(t *testing.T) {
			f := newFixture(t, st, now, nil)
			_, err := f.svc.CheckIn(ctx, "testamt", "NOPE")
			wantCode(t, err, "appointment_not_found")
		})
		t.Run("ErrAppointmentNotActive", func(t *testing.T) {
			f := newFixture(t, st, now, nil)
			a := appt("x4", "GONE", now)
			a.Status = "cancelled"
			f.appts.add(a)
			_, err := f.svc.CheckIn(ctx, "testamt", "GONE")
			wantCode(t, err, "appointment_not_active")
		})
		t.Run("LateBecomesWalkIn", func(t *testing.T) {
			f := newFixture(t, st, now, nil)
			f.appts.add(appt("x5", "LATE", now.Add(-30*time.Minute)))
			walk := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
			late := must[*Issued](t)(f.svc.CheckIn(ctx, "testamt", "LATE"))
			if late.Ticket.AppointmentAt != "" || late.Ticket.Position != 2 {
				t.Fatalf("late ticket %+v, want a walk-in behind %s", late.Ticket, walk.Ticket.Number)
			}
		})
		t.Run("ErrCheckinTooLate", func(t *testing.T) {
			f := newFixture(t, st, now, func(c *Config) { c.Options.Late = LateRefuse })
			f.appts.add(appt("x6", "LATE", now.Add(-30*time.Minute)))
			_, err := f.svc.CheckIn(ctx, "testamt", "LATE")
			wantCode(t, err, "checkin_too_late")
		})
	})
}

// TestConcurrentCallNext: five counters call at once on 1,000 tickets. Every
// callable ticket is called exactly once, and the order of the calls (as the
// event stream records it) is the order the rule NextFor gives for the
// calling counter at each step.
func TestConcurrentCallNext(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := at(t, "2026-10-01 10:00")
		f := newFixture(t, st, now, nil)
		services := []string{"ummeldung", "pass", "fundsache"}
		f.office.Services[2].DailyTicketQuota = 0
		counterServices := map[string][]string{
			"1": services, "2": {"ummeldung"}, "3": {"pass", "fundsache"}, "4": {"ummeldung", "pass"}, "5": {"fundsache"},
		}
		for id, svcs := range counterServices {
			must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", id, svcs, "staff"+id))
		}
		waiting := map[string]Candidate{}
		for i := range 1000 {
			svc := services[i%3]
			var iss *Issued
			if i%10 == 3 { // every tenth is a checked-in appointment, some due, some early
				start := now.Add(time.Duration(-9+i%17) * time.Minute)
				code := fmt.Sprintf("C%04d", i)
				f.appts.add(CheckinAppointment{ID: code, Code: code, Service: svc, Start: start, Status: "confirmed"})
				iss = must[*Issued](t)(f.svc.CheckIn(ctx, "testamt", code))
			} else {
				iss = must[*Issued](t)(f.svc.Draw(ctx, "testamt", svc))
			}
			tk := must[*StaffTicket](t)(f.svc.Ticket(ctx, "testamt", iss.Ticket.Number))
			stored := must[*Ticket](t)(f.svc.st.ticket(ctx, "testamt", "2026-10-01", tk.Number))
			waiting[tk.Number] = Candidate{Number: tk.Number, Service: svc, Appointment: stored.Kind == KindAppointment,
				Due: stored.Due, Arrival: stored.Arrival}
		}
		startID := must[string](t)(f.svc.st.lastEventID(ctx, "testamt"))

		var mu sync.Mutex
		calledBy := map[string][]string{}
		var wg sync.WaitGroup
		for id := range counterServices {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					tk, ok, err := f.svc.CallNext(ctx, "testamt", id, "staff"+id)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					calledBy[tk.Number] = append(calledBy[tk.Number], id)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()

		// exactly once each, and nothing that was not yet due
		nowMs := now.UnixMilli()
		callable := 0
		for num, c := range waiting {
			n := len(calledBy[num])
			switch {
			case Callable(c, nowMs) && n != 1:
				t.Errorf("%s called %d times, want once", num, n)
			case !Callable(c, nowMs) && n != 0:
				t.Errorf("%s (appointment not yet due) called %d times", num, n)
			}
			if Callable(c, nowMs) {
				callable++
			}
		}
		if len(calledBy) != callable || callable < 900 {
			t.Fatalf("%d tickets called, %d callable", len(calledBy), callable)
		}

		// replay the calls in stream order against the rule
		evs := must[[]Event](t)(f.svc.EventsAfter(ctx, "testamt", startID))
		calls := 0
		for _, ev := range evs {
			if ev.Type != events.TicketCalled {
				continue
			}
			var d struct{ Number, Counter string }
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
				t.Fatal(err)
			}
			pool := make([]Candidate, 0, len(waiting))
			for _, c := range waiting {
				pool = append(pool, c)
			}
			want, _ := NextFor(pool, counterServices[d.Counter], nowMs)
			if d.Number != want.Number {
				t.Fatalf("call %d: counter %s got %s, the rule says %s", calls+1, d.Counter, d.Number, want.Number)
			}
			delete(waiting, d.Number)
			calls++
		}
		if calls != callable {
			t.Fatalf("%d calls in the stream, want %d", calls, callable)
		}
	})
}

// TestNextDay: a counter left with a called ticket overnight does not finish
// today's ticket of the same number that another counter called, and the
// display shows only today's calls.
func TestNextDay(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, at(t, "2026-10-01 15:00"), nil)
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "1", nil, "anna"))
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "2", nil, "ben"))
		must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
		if tk, _, err := f.svc.CallNext(ctx, "testamt", "1", "anna"); err != nil || tk.Number != "B001" {
			t.Fatalf("called %+v %v", tk, err)
		}
		f.clock.Set(at(t, "2026-10-02 08:00"))
		if d := must[*Display](t)(f.svc.Display(ctx, "testamt", "de")); len(d.Called) != 0 {
			t.Fatalf("yesterday's calls on today's display: %+v", d.Called)
		}
		must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
		must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
		if tk, _, err := f.svc.CallNext(ctx, "testamt", "2", "ben"); err != nil || tk.Number != "B001" {
			t.Fatalf("called %+v %v", tk, err)
		}
		// counter 1 still holds yesterday's B001
		if tk, _, err := f.svc.CallNext(ctx, "testamt", "1", "anna"); err != nil || tk.Number != "B002" {
			t.Fatalf("called %+v %v", tk, err)
		}
		if tk := must[*StaffTicket](t)(f.svc.Ticket(ctx, "testamt", "B001")); tk.Status != StatusCalled || tk.Counter != "2" {
			t.Fatalf("today's B001 %+v, want still called at counter 2", tk)
		}
		if d := must[*Display](t)(f.svc.Display(ctx, "testamt", "de")); len(d.Called) != 2 {
			t.Fatalf("today's calls %+v, want 2", d.Called)
		}
	})
}

// TestCallNextRetry: a call-next retried with its key after a lost answer
// gets the ticket it called, which stays called (without the key the retry
// would finish it unseen); any other call finishes it and calls the next.
func TestCallNextRetry(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, at(t, "2026-10-01 10:00"), nil)
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "1", nil, "anna"))
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "2", nil, "ben"))
		var a []string
		for range 7 {
			a = append(a, must[*Issued](t)(f.svc.Draw(ctx, "testamt", "ummeldung")).Ticket.Number)
		}
		call := func(counter, key string) (string, bool) {
			t.Helper()
			tk, ok, replayed, err := f.svc.CallNextOnce(ctx, "testamt", counter, "anna", key)
			if err != nil {
				t.Fatalf("call-next at %s with %q: %v", counter, key, err)
			}
			if !ok {
				return "", replayed
			}
			return tk.Number, replayed
		}
		status := func(number string) string {
			t.Helper()
			return must[*StaffTicket](t)(f.svc.Ticket(ctx, "testamt", number)).Status
		}
		if n, replayed := call("1", "k1"); n != a[0] || replayed {
			t.Fatalf("first call: %s replayed=%v, want %s", n, replayed, a[0])
		}
		for range 2 { // the answer was lost, twice
			if n, replayed := call("1", "k1"); n != a[0] || !replayed {
				t.Fatalf("retry: %s replayed=%v, want %s again", n, replayed, a[0])
			}
		}
		tk := must[*StaffTicket](t)(f.svc.Ticket(ctx, "testamt", a[0]))
		if tk.Status != StatusCalled || tk.Counter != "1" {
			t.Fatalf("after the retries %s is %s at %q, want still called at 1", a[0], tk.Status, tk.Counter)
		}
		calls := 0
		for _, h := range tk.History {
			if h.Action == "call" {
				calls++
			}
		}
		if calls != 1 {
			t.Fatalf("%s has %d calls in its history, want 1: %+v", a[0], calls, tk.History)
		}
		t.Run("ReplayAfterReopen", func(t *testing.T) {
			must[*Counter](t)(f.svc.CloseCounter(ctx, "testamt", "1", "anna"))
			must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "1", nil, "anna"))
			if n, replayed := call("1", "k1"); n != a[0] || !replayed {
				t.Fatalf("retry after close and open: %s replayed=%v, want %s again", n, replayed, a[0])
			}
		})
		t.Run("KeyOfAnotherCounter", func(t *testing.T) {
			if n, _ := call("2", "k2"); n != a[1] {
				t.Fatalf("counter 2 called %s, want %s", n, a[1])
			}
			// counter 1's key at counter 2, whose called ticket came with k2: a new call
			if n, replayed := call("2", "k1"); n != a[2] || replayed {
				t.Fatalf("counter 2 with counter 1's key: %s replayed=%v, want %s", n, replayed, a[2])
			}
			if s := status(a[1]); s != StatusFinished {
				t.Fatalf("%s is %s, want finished by counter 2's next call", a[1], s)
			}
		})
		t.Run("NewKeyFinishesAndCalls", func(t *testing.T) {
			if n, replayed := call("1", "k3"); n != a[3] || replayed {
				t.Fatalf("new key: %s replayed=%v, want %s", n, replayed, a[3])
			}
			if s := status(a[0]); s != StatusFinished {
				t.Fatalf("%s is %s, want finished by the next call", a[0], s)
			}
		})
		t.Run("OldKeyAfterPark", func(t *testing.T) {
			// a[3], called with k3, is parked: the counter has no called ticket,
			// and k3 is a new call
			must[*StaffTicket](t)(f.svc.Act(ctx, "testamt", a[3], ActionPark, "", "anna"))
			if n, replayed := call("1", "k3"); n != a[4] || replayed {
				t.Fatalf("old key after park: %s replayed=%v, want %s", n, replayed, a[4])
			}
		})
		t.Run("NoKeyFinishes", func(t *testing.T) {
			// without a key a repeat is a new call: it finishes the called ticket
			if n, replayed := call("1", ""); n != a[5] || replayed {
				t.Fatalf("call without key: %s replayed=%v, want %s", n, replayed, a[5])
			}
			if s := status(a[4]); s != StatusFinished {
				t.Fatalf("%s is %s, want finished", a[4], s)
			}
			if n, replayed := call("1", ""); n != a[6] || replayed {
				t.Fatalf("repeat without key: %s replayed=%v, want %s", n, replayed, a[6])
			}
		})
	})
}
