package booking

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/icaltest"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// demoBookings serves the demo office with a simulated clock standing at now.
func demoBookings(t testing.TB, st *store.Store, now time.Time) (*Bookings, *Office, *clock.Simulated) {
	t.Helper()
	offices := DemoOffices()
	clk := clock.NewSimulated(now)
	b := NewBookings(NewDirectory(offices), st.Client, clk, "https://termine.geesthacht.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
	return b, offices[0], clk
}

func ptr(s string) *string { return &s }

func seedClosure() ClosureInput {
	return ClosureInput{From: "2021-09-27", Until: "2021-10-06",
		Title:   TextInput{Text: Text{De: "Umstellung der Software", En: "Software migration"}, set: true},
		Message: TextInput{Text: Text{De: "Dringende Anliegen bitte telefonisch.", En: "Urgent matters by phone, please."}, set: true},
		Phone:   ptr("04152 130"), ComeBy: ptr("2021-09-24")}
}

func outboxMessages(t *testing.T, st *store.Store, office string) []notify.Message {
	t.Helper()
	entries, err := st.Client.XRange(context.Background(), notify.OutboxKey(office), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []notify.Message
	for _, e := range entries {
		if r, ok := notify.ParseRef(e.Values["msg"].(string)); ok {
			out = append(out, notify.Message{ID: r.MessageID(), Kind: r.Kind})
			continue
		}
		var m notify.Message
		if err := json.Unmarshal([]byte(e.Values["msg"].(string)), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestClosureSeedScenario is the town's case: closed 27 Sep – 6 Oct 2021 for a
// software migration, urgent matters by phone, come by 24 Sep.
func TestClosureSeedScenario(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := demoBookings(t, st, time.Date(2021, 9, 10, 10, 0, 0, 0, berlin))
		var tokens []string
		for _, start := range []string{"2021-09-28T09:00:00+02:00", "2021-10-01T09:00:00+02:00", "2021-10-07T09:00:00+02:00"} {
			bk, err := b.Book(ctx, o.ID, BookRequest{Service: "ummeldung", Start: start, Name: "Bürger " + start[8:10],
				Email: "b" + start[8:10] + "@example.org"}, "de", nil)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, bk.Token)
		}
		dry, err := b.PublishClosure(ctx, o.ID, seedClosure(), "admin", true)
		if err != nil {
			t.Fatal(err)
		}
		if dry.Affected != 2 || fmt.Sprint(dry.AffectedDays) != "[{2021-09-28 1} {2021-10-01 1}]" {
			t.Fatalf("dry run = %d %v", dry.Affected, dry.AffectedDays)
		}
		if cl, _ := b.Closures(ctx, o.ID); len(cl) != 0 {
			t.Fatalf("the dry run published a closure: %+v", cl)
		}
		before := len(outboxMessages(t, st, o.ID))

		res, err := b.PublishClosure(ctx, o.ID, seedClosure(), "admin", false)
		if err != nil || res.Affected != 2 {
			t.Fatalf("publish = %+v, %v", res, err)
		}
		for i, tok := range tokens {
			a, _, err := b.Get(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			want := StatusCancelled
			if i == 2 {
				want = StatusConfirmed
			}
			if a.Status != want {
				t.Fatalf("appointment %d status = %s, want %s", i, a.Status, want)
			}
		}
		mails := outboxMessages(t, st, o.ID)[before:]
		if len(mails) != 2 {
			t.Fatalf("%d closure mails, want 2", len(mails))
		}
		for _, m := range mails {
			if m.Kind != notify.KindClosure || notify.MethodFor(m.Kind) != notify.MethodCancel || m.Appointment.Sequence != 1 {
				t.Fatalf("mail kind %s seq %d", m.Kind, m.Appointment.Sequence)
			}
			if m.Closure == nil || m.Closure.Phone != "04152 130" || m.Closure.ComeBy != "2021-09-24" || !strings.Contains(m.Closure.Message.De, "telefonisch") {
				t.Fatalf("closure in mail = %+v", m.Closure)
			}
			if len(m.Alternatives) != 3 {
				t.Fatalf("%d alternatives, want 3", len(m.Alternatives))
			}
			for _, alt := range m.Alternatives {
				d := DateOf(alt.Start.In(berlin))
				if !d.Before(Date{2021, 9, 27}) && !(Date{2021, 10, 6}).Before(d) {
					t.Fatalf("alternative %v lies inside the closure", alt.Start)
				}
				if !strings.Contains(alt.RebookURL, "/a/geesthacht.") || !strings.Contains(alt.RebookURL, "rebook=") {
					t.Fatalf("rebook URL %q", alt.RebookURL)
				}
			}
		}
		// The nearest free slot before the closure (Friday 24 Sep, the last start of
		// the morning), the nearest after it (Thursday 7 Oct, 08:00) and the next
		// nearest at least an hour from both.
		var got []string
		for _, a := range mails[0].Alternatives {
			got = append(got, a.Start.Format(time.RFC3339))
		}
		if want := "[2021-09-24T11:45:00+02:00 2021-10-07T08:00:00+02:00 2021-10-07T09:00:00+02:00]"; fmt.Sprint(got) != want {
			t.Fatalf("alternatives = %v, want %s", got, want)
		}

		_, err = b.Book(ctx, o.ID, BookRequest{Service: "ummeldung", Start: "2021-09-30T09:00:00+02:00", Name: "Spät", Email: "s@example.org"}, "de", nil)
		if codeOf(err) != "office_closed" || !strings.Contains(err.Error(), "04152 130") {
			t.Fatalf("booking inside the closure: %v", err)
		}
		days, err := b.Availability(ctx, o.ID, "ummeldung", Date{2021, 9, 27}, Date{2021, 10, 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range days {
			if d.Date.Before(Date{2021, 10, 7}) && (d.Status != DayClosed || d.Closure == nil) {
				t.Fatalf("%s: status %s, closure %v", d.Date, d.Status, d.Closure)
			}
		}
		if days[len(days)-1].Status != DayOpen {
			t.Fatalf("7 October: %s", days[len(days)-1].Status)
		}

		// One click on a rebook link moves the cancelled appointment to the alternative.
		moved, err := b.Reschedule(ctx, tokens[0], mails[0].Alternatives[0].Start.Format(time.RFC3339))
		if err != nil || moved.Status != StatusConfirmed || moved.Seq != 2 {
			t.Fatalf("rebook = %+v, %v", moved, err)
		}

		ics, err := b.ClosuresICS(ctx, o.ID, "de")
		if err != nil {
			t.Fatal(err)
		}
		cal := icaltest.ParseJS(t, ics)
		if len(cal.Events) != 1 || cal.Events[0].StartDate != "2021-09-27" || cal.Events[0].EndDate != "2021-10-07" ||
			cal.Events[0].Summary != "Umstellung der Software" || cal.Events[0].Status != "CONFIRMED" {
			t.Fatalf("closures feed as read by ical.js: %+v", cal)
		}
	})
}

func TestClosureWithdrawAndChange(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	ctx := context.Background()
	b, o, _ := demoBookings(t, st, time.Date(2021, 9, 10, 10, 0, 0, 0, berlin))
	res, err := b.PublishClosure(ctx, o.ID, seedClosure(), "admin", false)
	if err != nil {
		t.Fatal(err)
	}
	bk, err := b.Book(ctx, o.ID, BookRequest{Service: "ummeldung", Start: "2021-10-07T09:00:00+02:00", Name: "Anna", Email: "a@example.org"}, "de", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := b.ChangeClosure(ctx, o.ID, res.Closure.ID, ClosureInput{Until: "2021-10-07"}, "admin2", false)
	if err != nil || ch.Affected != 1 || ch.Closure.Sequence != 1 || ch.Closure.Until != (Date{2021, 10, 7}) {
		t.Fatalf("change = %+v, %v", ch, err)
	}
	if a, _, _ := b.Get(ctx, bk.Token); a.Status != StatusCancelled {
		t.Fatalf("appointment newly inside: %s", a.Status)
	}
	w, err := b.WithdrawClosure(ctx, o.ID, res.Closure.ID, "admin")
	if err != nil || !w.Cancelled || w.Sequence != 2 {
		t.Fatalf("withdraw = %+v, %v", w, err)
	}
	if _, err := b.WithdrawClosure(ctx, o.ID, res.Closure.ID, "admin"); codeOf(err) != "closure_not_found" {
		t.Fatalf("second withdraw: %v", err)
	}
	if _, err := b.Book(ctx, o.ID, BookRequest{Service: "ummeldung", Start: "2021-09-30T09:00:00+02:00", Name: "Anna", Email: "b@example.org"}, "de", nil); err != nil {
		t.Fatalf("booking after the withdrawal: %v", err)
	}
	ics, _ := b.ClosuresICS(ctx, o.ID, "en")
	cal := icaltest.ParseJS(t, ics)
	if len(cal.Events) != 1 || cal.Events[0].Status != "CANCELLED" || cal.Events[0].Sequence != 2 {
		t.Fatalf("feed after withdrawal: %+v", cal.Events)
	}
}

// TestClosureRace publishes a closure while many clients book inside it: a
// booking and the closure can never both succeed.
func TestClosureRace(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := demoBookings(t, st, time.Date(2021, 9, 10, 10, 0, 0, 0, berlin))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 200 {
			wg.Go(func() {
				<-start
				slot := fmt.Sprintf("2021-09-%02dT%02d:%02d:00+02:00", 27+i%4, 8+i%3, (i/4)%12*5)
				_, err := b.Book(ctx, o.ID, BookRequest{Service: "fundsache", Start: slot, Name: "Racer", Email: fmt.Sprintf("r%d@example.org", i)}, "de", nil)
				if err != nil && codeOf(err) != "office_closed" && codeOf(err) != "slot_taken" && codeOf(err) != "try_again" {
					t.Errorf("book: %v", err)
				}
			})
		}
		wg.Go(func() {
			<-start
			if _, err := b.PublishClosure(ctx, o.ID, seedClosure(), "admin", false); err != nil {
				t.Errorf("publish: %v", err)
			}
		})
		close(start)
		wg.Wait()
		for d := (Date{2021, 9, 27}); d.Before(Date{2021, 10, 7}); d = d.AddDays(1) {
			list, err := b.DayList(ctx, o.ID, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range list {
				if a.Active() {
					t.Fatalf("appointment %s on %s is active inside the closure", a.ID, d)
				}
			}
		}
	})
}

func TestClosureInput(t *testing.T) {
	st := redistest.Backends[1].Open(t)
	ctx := context.Background()
	b, o, _ := demoBookings(t, st, time.Date(2021, 9, 10, 10, 0, 0, 0, berlin))
	long := strings.Repeat("x", 201)
	tests := []struct {
		name string
		in   ClosureInput
		code string
	}{
		{"until before from", ClosureInput{From: "2021-10-06", Until: "2021-09-27", Title: TextInput{Text: Text{De: "x"}, set: true}}, "until_before_from"},
		{"over a year", ClosureInput{From: "2021-10-01", Until: "2022-10-02", Title: TextInput{Text: Text{De: "x"}, set: true}}, "closure_too_long"},
		{"in the past", ClosureInput{From: "2021-08-01", Until: "2021-08-02", Title: TextInput{Text: Text{De: "x"}, set: true}}, "closure_in_past"},
		{"malformed date", ClosureInput{From: "27.09.2021", Until: "2021-10-06", Title: TextInput{Text: Text{De: "x"}, set: true}}, "malformed_date"},
		{"no title", ClosureInput{From: "2021-09-27", Until: "2021-10-06"}, "missing_title"},
		{"overlong title", ClosureInput{From: "2021-09-27", Until: "2021-10-06", Title: TextInput{Text: Text{De: long}, set: true}}, "invalid_title"},
		{"control character", ClosureInput{From: "2021-09-27", Until: "2021-10-06", Title: TextInput{Text: Text{De: "a\x00b"}, set: true}}, "invalid_title"},
		{"partial day over two days", ClosureInput{From: "2021-09-27", Until: "2021-09-28", FromTime: "08:00", UntilTime: "10:00", Title: TextInput{Text: Text{De: "x"}, set: true}}, "invalid_partial_day"},
		{"come by after start", ClosureInput{From: "2021-09-27", Until: "2021-09-28", ComeBy: ptr("2021-09-27"), Title: TextInput{Text: Text{De: "x"}, set: true}}, "invalid_come_by"},
		{"bad phone", ClosureInput{From: "2021-09-27", Until: "2021-09-28", Phone: ptr("call us"), Title: TextInput{Text: Text{De: "x"}, set: true}}, "invalid_phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.PublishClosure(ctx, o.ID, tt.in, "admin", false)
			if codeOf(err) != tt.code {
				t.Fatalf("code = %q (%v), want %q", codeOf(err), err, tt.code)
			}
		})
	}
	if _, err := b.PublishClosure(ctx, "nowhere", seedClosure(), "admin", false); codeOf(err) != "office_not_found" {
		t.Fatalf("unknown office: %v", err)
	}
}

func TestPartialDayClosure(t *testing.T) {
	st := redistest.Backends[1].Open(t)
	ctx := context.Background()
	b, o, _ := demoBookings(t, st, time.Date(2021, 9, 10, 10, 0, 0, 0, berlin))
	in := ClosureInput{From: "2021-09-28", Until: "2021-09-28", FromTime: "08:00", UntilTime: "10:00",
		Title: TextInput{Text: Text{De: "Betriebsversammlung", En: "Staff meeting"}, set: true}}
	if _, err := b.PublishClosure(ctx, o.ID, in, "admin", false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Book(ctx, o.ID, BookRequest{Service: "fundsache", Start: "2021-09-28T09:50:00+02:00", Name: "Anna", Email: "a@example.org"}, "de", nil); codeOf(err) != "office_closed" {
		t.Fatalf("inside: %v", err)
	}
	if _, err := b.Book(ctx, o.ID, BookRequest{Service: "fundsache", Start: "2021-09-28T10:00:00+02:00", Name: "Anna", Email: "a@example.org"}, "de", nil); err != nil {
		t.Fatalf("after: %v", err)
	}
	day, _ := b.Slots(ctx, o.ID, "fundsache", Date{2021, 9, 28})
	if day.Status != DayOpen || day.Starts[0].Format("15:04") != "10:00" {
		t.Fatalf("slots = %s first %v", day.Status, day.Starts)
	}
}
