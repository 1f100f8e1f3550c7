package booking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

const testHours = `    opening_hours:
      mon: ["08:00-12:00"]
      tue: ["08:00-12:00"]
      wed: ["08:00-12:00"]
      thu: ["08:00-12:00"]
      fri: ["08:00-12:00"]
`

// monday 5 October 2026, 09:00 in Berlin.
const slot = "2026-10-05T09:00:00+02:00"

func newBookings(t testing.TB, st *store.Store, extra string) (*Bookings, *Office, *clock.Simulated) {
	t.Helper()
	o := testOffice(t, testHours+extra)
	clk := clock.NewSimulated(at("2026-10-01 12:00"))
	b := NewBookings(NewDirectory([]*Office{o}), st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
	return b, o, clk
}

func req(email, start string) BookRequest {
	return BookRequest{Service: "short", Start: start, Name: "Anna Muster", Email: email}
}

func outboxKinds(t *testing.T, rdb redis.UniversalClient, office string) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), notify.OutboxKey(office), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if r, ok := notify.ParseRef(m.Values["msg"].(string)); ok {
			out = append(out, r.Kind)
			continue
		}
		var n struct {
			Kind string `json:"kind"`
		}
		if err := jsonUnmarshal(m.Values["msg"].(string), &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n.Kind)
	}
	return out
}

func TestBookingLifecycle(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := newBookings(t, st, "")
		booked, err := b.Book(ctx, o.ID, req("anna@example.org", slot), "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		a := booked.Appointment
		if a.Status != StatusConfirmed || NormalizeCode(a.Code) != a.Code || a.End.Sub(a.Start) != 10*time.Minute {
			t.Fatalf("appointment = %+v", a)
		}
		got, _, err := b.Get(ctx, booked.Token)
		if err != nil || got.ID != a.ID || got.Name != "Anna Muster" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		wrong := booked.Token[:len(booked.Token)-1] + "A"
		if strings.HasSuffix(booked.Token, "A") {
			wrong = booked.Token[:len(booked.Token)-1] + "B"
		}
		if _, _, err := b.Get(ctx, wrong); codeOf(err) != "appointment_not_found" {
			t.Fatalf("Get with a wrong token: %v", err)
		}
		day, _ := b.Slots(ctx, o.ID, "short", Date{2026, 10, 5})
		before := day.FreeSlots

		moved, err := b.Reschedule(ctx, booked.Token, "2026-10-05T10:00:00+02:00")
		if err != nil || moved.Seq != 1 || moved.Start.Hour() != 10 {
			t.Fatalf("Reschedule = %+v, %v", moved, err)
		}
		c, err := b.Cancel(ctx, booked.Token)
		if err != nil || c.Status != StatusCancelled || c.Seq != 2 {
			t.Fatalf("Cancel = %+v, %v", c, err)
		}
		if c2, err := b.Cancel(ctx, booked.Token); err != nil || c2.Status != StatusCancelled || c2.Seq != 2 {
			t.Fatalf("second Cancel = %+v, %v", c2, err)
		}
		if _, err := b.Reschedule(ctx, booked.Token, slot); codeOf(err) != "appointment_inactive" {
			t.Fatalf("Reschedule after cancel: %v", err)
		}
		day, _ = b.Slots(ctx, o.ID, "short", Date{2026, 10, 5})
		if day.FreeSlots != before {
			t.Fatalf("free slots after cancel = %d, want %d (all seats back)", day.FreeSlots, before)
		}
		want := []string{notify.KindConfirmation, notify.KindReschedule, notify.KindCancellation}
		if got := outboxKinds(t, st.Client, o.ID); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("outbox = %v, want %v", got, want)
		}
		if n, err := b.SendDueReminders(ctx, o.ID, moved.Start.Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("reminders of a cancelled appointment: %d, %v", n, err)
		}
	})
}

func TestBookRace(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := newBookings(t, st, "")
		var ok, taken, other atomic.Int32
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Go(func() {
				_, err := b.Book(ctx, o.ID, req(fmt.Sprintf("p%d@example.org", i), slot), "de", nil)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrSlotTaken):
					taken.Add(1)
				default:
					other.Add(1)
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 3 || taken.Load() != 997 || other.Load() != 0 {
			t.Fatalf("ok=%d taken=%d other=%d, want 3/997/0", ok.Load(), taken.Load(), other.Load())
		}
		list, err := b.DayList(ctx, o.ID, Date{2026, 10, 5})
		if err != nil || len(list) != 3 {
			t.Fatalf("day list has %d appointments (%v), want 3", len(list), err)
		}
	})
}

func TestEmailLimit(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := newBookings(t, st, "")
		for i, start := range []string{"2026-10-05T09:00:00+02:00", "2026-10-05T09:10:00+02:00", "2026-10-05T09:20:00+02:00"} {
			_, err := b.Book(ctx, o.ID, req("Same@Example.org", start), "de", nil)
			if i < 2 && err != nil {
				t.Fatal(err)
			}
			if i == 2 && codeOf(err) != "too_many_appointments" {
				t.Fatalf("third booking: %v", err)
			}
		}
	})
}

func TestHolds(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		var holds []Hold
		for range 3 {
			h, err := b.Hold(ctx, o.ID, "short", slot)
			if err != nil {
				t.Fatal(err)
			}
			holds = append(holds, h)
		}
		if _, err := b.Hold(ctx, o.ID, "short", slot); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("fourth hold: %v", err)
		}
		if _, err := b.Book(ctx, o.ID, req("x@example.org", slot), "de", nil); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("booking without hold: %v", err)
		}
		r := req("holder@example.org", slot)
		r.Hold = holds[0].ID
		if _, err := b.Book(ctx, o.ID, r, "de", nil); err != nil {
			t.Fatalf("booking with hold: %v", err)
		}
		r2 := req("other@example.org", "2026-10-05T09:10:00+02:00")
		r2.Hold = holds[1].ID
		if _, err := b.Book(ctx, o.ID, r2, "de", nil); codeOf(err) != "hold_mismatch" {
			t.Fatalf("booking another time with a hold: %v", err)
		}
		if err := b.ReleaseHold(ctx, o.ID, holds[1].ID); err != nil {
			t.Fatal(err)
		}
		clk.Advance(11 * time.Minute)
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		day, _ := b.Slots(ctx, o.ID, "short", Date{2026, 10, 5})
		for _, s := range day.Starts {
			if s.Equal(at("2026-10-05 09:00")) {
				assertCap(t, st, o, Date{2026, 10, 5}, 54, 1)
				return
			}
		}
		t.Fatalf("09:00 not free again after the holds expired")
	})
}

func assertCap(t *testing.T, st *store.Store, o *Office, d Date, u Unit, want int) {
	t.Helper()
	rec, _ := st.Client.Get(context.Background(), capKey(o.ID, d)).Result()
	if got := Used(rec).At(u); got != want {
		t.Fatalf("seats taken at unit %d = %d, want %d", u, got, want)
	}
}

func TestRescheduleWinsBeforeFreeing(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := newBookings(t, st, "")
		mine, err := b.Book(ctx, o.ID, req("me@example.org", slot), "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		full := "2026-10-05T11:00:00+02:00"
		for i := range 3 {
			if _, err := b.Book(ctx, o.ID, req(fmt.Sprintf("f%d@example.org", i), full), "de", nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Reschedule(ctx, mine.Token, full); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("reschedule into a full slot: %v", err)
		}
		a, _, _ := b.Get(ctx, mine.Token)
		if !a.Start.Equal(at("2026-10-05 09:00")) || a.Status != StatusConfirmed || a.Seq != 0 {
			t.Fatalf("appointment changed by a failed reschedule: %+v", a)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 1)
	})
}

func TestUnverified(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "    confirm_by_email: true\n")
		late, err := b.Book(ctx, o.ID, req("late@example.org", slot), "de", nil)
		if err != nil || late.Appointment.Status != StatusUnverified {
			t.Fatalf("Book = %+v, %v", late.Appointment, err)
		}
		prompt, err := b.Book(ctx, o.ID, req("prompt@example.org", slot), "en", nil)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := b.Confirm(ctx, prompt.Token); err != nil || a.Status != StatusConfirmed {
			t.Fatalf("Confirm = %+v, %v", a, err)
		}
		clk.Advance(61 * time.Minute)
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		a, _, _ := b.Get(ctx, late.Token)
		if a.Status != StatusExpired {
			t.Fatalf("unconfirmed appointment status = %s, want expired", a.Status)
		}
		if _, err := b.Confirm(ctx, late.Token); codeOf(err) != "appointment_inactive" {
			t.Fatalf("confirming an expired appointment: %v", err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 1)
		want := []string{notify.KindVerification, notify.KindVerification, notify.KindConfirmation}
		if got := outboxKinds(t, st.Client, o.ID); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("outbox = %v, want %v", got, want)
		}
	})
}
