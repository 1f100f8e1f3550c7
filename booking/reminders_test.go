package booking

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// outboxRefs lists the reminder Refs in the outbox with the clock time at
// which each was first seen (seen is updated by the caller's polling).
func reminderRefs(t *testing.T, st *store.Store, office string) []notify.Ref {
	t.Helper()
	entries, err := st.Client.XRange(context.Background(), notify.OutboxKey(office), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []notify.Ref
	for _, e := range entries {
		if r, ok := notify.ParseRef(e.Values["msg"].(string)); ok && r.Kind == notify.KindReminder {
			out = append(out, r)
		}
	}
	return out
}

// remindAtOnce runs the reminder job of office on every server at once, as
// replicas do.
func remindAtOnce(t *testing.T, office string, now time.Time, servers ...*Bookings) {
	t.Helper()
	var wg sync.WaitGroup
	for _, b := range servers {
		wg.Go(func() {
			if _, err := b.SendDueReminders(context.Background(), office, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// checkOnceWhenDue checks that each reminder of want (key -> due time) was
// queued once (count) and first seen within the run after it fell due.
func checkOnceWhenDue(t *testing.T, want map[string]time.Time, count map[string]int, seen map[string]time.Time, step time.Duration) {
	t.Helper()
	for id, due := range want {
		if count[id] != 1 {
			t.Errorf("%s: queued %d times, want once", id, count[id])
			continue
		}
		if got := seen[id]; got.Before(due) || got.After(due.Add(step+time.Minute)) {
			t.Errorf("%s: queued at %s, due %s", id, got, due)
		}
	}
}

// TestReminders_OnceEach: two servers run the reminder job at once, every
// seven minutes for a week; each appointment's reminder is queued exactly
// once, within the run after it fell due, for the appointment's time after
// moves; cancelled appointments and bookings made after their reminder
// would have been due get none.
func TestReminders_OnceEach(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b1, o, clk := newBookings(t, st, "")
		b2 := NewBookings(NewDirectory([]*Office{o}), st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
		book := func(email, start string) Booked {
			t.Helper()
			bk, err := b1.Book(ctx, o.ID, req(email, start), "de", nil)
			if err != nil {
				t.Fatalf("Book %s: %v", start, err)
			}
			return bk
		}
		// now: Thu 2026-10-01 12:00
		_ = book("a@example.org", "2026-10-02T09:00:00+02:00") // due Thu 09:00, before it was booked: none
		bB := book("b@example.org", "2026-10-05T09:00:00+02:00")
		bC := book("c@example.org", "2026-10-05T09:00:00+02:00")
		bD := book("d@example.org", "2026-10-06T11:50:00+02:00")
		bE := book("e@example.org", "2026-10-07T08:00:00+02:00")
		bF := book("f@example.org", "2026-10-05T10:00:00+02:00")
		if _, err := b1.Cancel(ctx, bE.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := b1.Reschedule(ctx, bF.Token, "2026-10-08T10:00:00+02:00"); err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{ // id -> due
			bB.Appointment.ID: at("2026-10-04 09:00"), bC.Appointment.ID: at("2026-10-04 09:00"),
			bD.Appointment.ID: at("2026-10-05 11:50"), bF.Appointment.ID: at("2026-10-07 10:00"),
		}
		var lateID string
		seen := map[string]time.Time{}
		const step = 7 * time.Minute
		for end := at("2026-10-08 12:00"); clk.Now().Before(end); {
			clk.Advance(step)
			if lateID == "" && !clk.Now().Before(at("2026-10-04 08:59")) {
				// Sun 08:59:30: booked for Mon 09:00, due 30 s ago-ish: none.
				clk.Advance(30 * time.Second)
				lateID = book("late@example.org", "2026-10-05T09:00:00+02:00").Appointment.ID
			}
			remindAtOnce(t, o.ID, clk.Now(), b1, b2)
			for _, r := range reminderRefs(t, st, o.ID) {
				if _, ok := seen[r.Subject]; !ok {
					seen[r.Subject] = clk.Now()
				}
			}
		}
		refs := reminderRefs(t, st, o.ID)
		if len(refs) != len(want) {
			t.Errorf("%d reminders queued, want %d: %+v", len(refs), len(want), refs)
		}
		count := map[string]int{}
		for _, r := range refs {
			count[r.Subject]++
		}
		checkOnceWhenDue(t, want, count, seen, step)
		if count[lateID] != 0 {
			t.Errorf("the late booking got a reminder")
		}
		for _, r := range refs {
			if r.Subject == bF.Appointment.ID && r.Seq != 1 {
				t.Errorf("moved appointment's reminder has seq %d, want 1", r.Seq)
			}
		}
	})
}

// TestReminders_CatchUp: after every server was down for days, one run
// queues the reminders that fell due meanwhile — more than one script's
// batch — whose appointments still lie ahead, each once.
func TestReminders_CatchUp(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		b.st.reminderBatch = 20                                             // several scripts, each ending at a start with all of that start's appointments
		if _, err := b.SendDueReminders(ctx, o.ID, clk.Now()); err != nil { // the job ran once: cursor set
			t.Fatal(err)
		}
		// Every seat of Mon 5 – Fri 9 October: 5 days × 24 starts × 3 counters.
		var ids []string
		for day := 5; day <= 9; day++ {
			for m := 8 * 60; m < 12*60; m += 10 {
				for c := range 3 {
					start := fmt.Sprintf("2026-10-%02dT%02d:%02d:00+02:00", day, m/60, m%60)
					bk, err := b.Book(ctx, o.ID, req(fmt.Sprintf("p%d-%d-%d@example.org", day, m, c), start), "de", nil)
					if err != nil {
						t.Fatalf("Book %s: %v", start, err)
					}
					ids = append(ids, bk.Appointment.ID)
				}
			}
		}
		// Down from Thu 1 Oct 12:00 until Wed 7 Oct 10:05: the appointments of
		// Mon 5 and Tue 6 and of Wed 7 until 10:05 are over; those due by then
		// (starting until Thu 8 10:05) that still lie ahead are reminded.
		clk.Set(at("2026-10-07 10:05"))
		n, err := b.SendDueReminders(ctx, o.ID, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		wantN := 0
		appts, _ := b.st.appointments(ctx, o, ids)
		for _, a := range appts {
			if a.Start.After(clk.Now()) && !a.Start.After(clk.Now().Add(defaultReminderLead)) {
				wantN++
			}
		}
		refs := reminderRefs(t, st, o.ID)
		if n != wantN || len(refs) != wantN || wantN <= 3*b.st.reminderBatch {
			t.Fatalf("queued %d (outbox %d), want %d (> three batches of %d)", n, len(refs), wantN, b.st.reminderBatch)
		}
		seen := map[string]bool{}
		for _, r := range refs {
			if seen[r.Subject] {
				t.Fatalf("reminder of %s queued twice", r.Subject)
			}
			seen[r.Subject] = true
		}
		// Running again at the same instant queues nothing more.
		if n, err := b.SendDueReminders(ctx, o.ID, clk.Now()); err != nil || n != 0 {
			t.Fatalf("second run queued %d, %v", n, err)
		}
	})
}

// TestResolve builds the mails of outbox references from the appointment as
// it is when sent, and drops the ones a later change made pointless.
func TestResolve(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		bk, err := b.Book(ctx, o.ID, req("anna@example.org", slot), "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		id := bk.Appointment.ID
		m, ok, err := resolveBoth(t, b, o.ID, notify.Ref{Kind: notify.KindConfirmation, Subject: id})
		if err != nil || !ok || m.To != "anna@example.org" || m.ToName != "Anna Muster" || m.Kind != notify.KindConfirmation ||
			m.Appointment.Code != bk.Appointment.Code || !m.Appointment.Start.Equal(bk.Appointment.Start) ||
			m.Appointment.ManageURL != bk.ManageURL {
			t.Fatalf("confirmation = %+v, %v, %v", m, ok, err)
		}
		if _, err := b.Reschedule(ctx, bk.Token, "2026-10-05T10:00:00+02:00"); err != nil {
			t.Fatal(err)
		}
		m, ok, err = resolveBoth(t, b, o.ID, notify.Ref{Kind: notify.KindReschedule, Subject: id, Seq: 1, Extra: unixText(bk.Appointment.Start)})
		if err != nil || !ok || m.Appointment.Sequence != 1 || m.Appointment.PreviousStart == nil ||
			!m.Appointment.PreviousStart.Equal(bk.Appointment.Start) || m.Appointment.Start.Hour() != 10 {
			t.Fatalf("reschedule = %+v, %v, %v", m.Appointment, ok, err)
		}
		if _, ok, _ := resolveBoth(t, b, o.ID, notify.Ref{Kind: notify.KindCancellation, Subject: id, Seq: 2}); ok {
			t.Error("a cancellation of an active appointment was built")
		}
		clk.Set(at("2026-10-05 10:30"))
		if _, ok, _ := resolveBoth(t, b, o.ID, notify.Ref{Kind: notify.KindReminder, Subject: id, Seq: 1}); ok {
			t.Error("a reminder after the start was built")
		}
		clk.Set(at("2026-10-02 12:00"))
		if _, err := b.Cancel(ctx, bk.Token); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{notify.KindConfirmation, notify.KindReminder, notify.KindReschedule} {
			if _, ok, _ := resolveBoth(t, b, o.ID, notify.Ref{Kind: kind, Subject: id}); ok {
				t.Errorf("%s of a cancelled appointment was built", kind)
			}
		}
		m, ok, err = resolveBoth(t, b, o.ID, notify.Ref{Kind: notify.KindCancellation, Subject: id, Seq: 2})
		if err != nil || !ok || m.Kind != notify.KindCancellation || m.Appointment.Sequence != 2 {
			t.Fatalf("cancellation = %+v, %v, %v", m, ok, err)
		}
		for _, r := range []notify.Ref{{Kind: notify.KindConfirmation, Subject: "nosuchid"}, {Kind: "unknown", Subject: id}} {
			if _, ok, err := resolveBoth(t, b, o.ID, r); ok || err != nil {
				t.Errorf("Resolve(%+v) = %v, %v", r, ok, err)
			}
		}
		if _, ok, err := resolveBoth(t, b, "nosuchoffice", notify.Ref{Kind: notify.KindCancellation, Subject: id}); ok || err != nil {
			t.Errorf("Resolve in another office = %v, %v", ok, err)
		}
	})
}

// resolveBoth resolves r with Resolve and, within a batch of other
// references, with ResolveAll: both must give the same mail.
func resolveBoth(t *testing.T, b *Bookings, office string, r notify.Ref) (notify.Message, bool, error) {
	t.Helper()
	ctx := context.Background()
	m, ok, err := b.Resolve(ctx, office, r)
	all, errAll := b.ResolveAll(ctx, office, []notify.Ref{{Kind: notify.KindConfirmation, Subject: "nosuchid"}, r, r})
	if (err == nil) != (errAll == nil) {
		t.Fatalf("Resolve: %v, ResolveAll: %v", err, errAll)
	}
	if err == nil {
		if all[0].OK {
			t.Fatal("ResolveAll built a mail for an appointment that does not exist")
		}
		for _, got := range all[1:] {
			if got.OK != ok || !cmp.Equal(got.Msg, m) {
				t.Fatalf("ResolveAll(%+v) = %v, %+v; Resolve = %v, %+v", r, got.OK, got.Msg, ok, m)
			}
		}
	}
	return m, ok, err
}

// TestReminders_TwoLeads: an office that reminds 24 and 2 hours before sends
// each appointment both reminders, each once with two servers running the
// job at once, each at its own due time and with its own Message-ID; a
// booking made after the first was due gets only the second, and the
// reminders of an office that lists none are none.
func TestReminders_TwoLeads(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b1, o, clk := newBookings(t, st, "    reminder_hours: [2, 24]\n")
		if !slices.Equal(o.ReminderLeads, []time.Duration{24 * time.Hour, 2 * time.Hour}) {
			t.Fatalf("leads %v", o.ReminderLeads)
		}
		b2 := NewBookings(NewDirectory([]*Office{o}), st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
		book := func(email, start string) string {
			t.Helper()
			bk, err := b1.Book(ctx, o.ID, req(email, start), "de", nil)
			if err != nil {
				t.Fatalf("Book %s: %v", start, err)
			}
			return bk.Appointment.ID
		}
		// now: Thu 2026-10-01 12:00
		late := book("a@example.org", "2026-10-02T09:00:00+02:00") // 24 h reminder due before it was booked
		both := book("b@example.org", "2026-10-05T09:00:00+02:00")
		want := map[string]time.Time{ // Message-ID -> due
			late + "-reminder-0-2h": at("2026-10-02 07:00"),
			both + "-reminder-0":    at("2026-10-04 09:00"),
			both + "-reminder-0-2h": at("2026-10-05 07:00"),
		}
		seen := map[string]time.Time{}
		count := map[string]int{}
		const step = 7 * time.Minute
		for end := at("2026-10-05 12:00"); clk.Now().Before(end); {
			clk.Advance(step)
			remindAtOnce(t, o.ID, clk.Now(), b1, b2)
			clear(count)
			for _, r := range reminderRefs(t, st, o.ID) {
				id := r.MessageID()
				count[id]++
				if _, ok := seen[id]; !ok {
					seen[id] = clk.Now()
					if _, ok, err := b1.Resolve(ctx, o.ID, r); err != nil || !ok {
						t.Errorf("reminder %s does not resolve when queued (ok %v, err %v)", id, ok, err)
					}
				}
			}
		}
		if len(count) != len(want) {
			t.Errorf("reminders %v, want %v", count, want)
		}
		checkOnceWhenDue(t, want, count, seen, step)

		// An office without reminders queues none.
		o.ReminderLeads = nil
		book("c@example.org", "2026-10-08T09:00:00+02:00")
		before := len(reminderRefs(t, st, o.ID))
		clk.Set(at("2026-10-08 08:00"))
		if n, err := b1.SendDueReminders(ctx, o.ID, clk.Now()); err != nil || n != 0 {
			t.Errorf("an office without reminders queued %d (err %v)", n, err)
		}
		if after := len(reminderRefs(t, st, o.ID)); after != before {
			t.Errorf("%d reminders queued without any configured", after-before)
		}
	})
}
