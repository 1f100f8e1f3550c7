package booking

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rathaus/rathaus/examples"
	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestAvailabilityAnswersStayCurrent drives one office through a random
// sequence of everything that changes availability — bookings, holds and
// their release, cancellations (at once and delayed), moves, expired holds
// and unconfirmed bookings, closures published and withdrawn, and time
// passing (the lead time's bound, midnight, the DST change of 31 October) —
// with most writes made by another server on the same Redis. After every
// step, the answers of a server that caches them must equal those of a
// server asked for the first time, and asking again without a change must be
// answered from the cache.
func TestAvailabilityAnswersStayCurrent(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2021, 10, 27, 9, 58, 0, 0, berlin)
		// the demo office with one seat per unit: every booking, hold or
		// release changes the count of free starts
		y := strings.Replace(string(examples.OfficesYAML), "appointment_counters: 3", "appointment_counters: 1", 1)
		offices, err := ParseOffices("one-seat.yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		o, clk := offices[0], clock.NewSimulated(now)
		b := NewBookings(NewDirectory(offices), st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
		other := NewBookings(b.dir, st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
		delayed := NewBookings(b.dir, st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
		delayed.SetReleaseDelay(20*time.Minute, 0)
		rng := rand.New(rand.NewPCG(9, 26))
		var tokens, holds []string
		var closures []string
		checked := 0

		// a free start of some service, on one of the next days
		pick := func() (string, string, bool) {
			svc := o.Services[rng.IntN(len(o.Services))].ID
			d := o.Today(clk.Now()).AddDays(rng.IntN(14))
			day, err := other.Slots(ctx, o.ID, svc, d)
			if err != nil || len(day.Starts) == 0 {
				return "", "", false
			}
			return svc, day.Starts[rng.IntN(len(day.Starts))].Format(time.RFC3339), true
		}
		writer := func() *Bookings {
			switch rng.IntN(3) {
			case 0:
				return b
			case 1:
				return delayed
			}
			return other
		}
		expected := func(err error) bool {
			if err == nil {
				return true
			}
			k := apperr.KindOf(err)
			return k != apperr.KindInternal && k != apperr.KindUnavailable
		}
		check := func(step int, what string) {
			t.Helper()
			fresh := NewBookings(b.dir, st.Client, clk, "https://termine.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
			today := o.Today(clk.Now())
			for _, svc := range o.Services {
				from, to := today.AddDays(-1), today.AddDays(55)
				got, key, err := b.availability(ctx, o.ID, svc.ID, from, to)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fresh.Availability(ctx, o.ID, svc.ID, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got.days); diff != "" {
					t.Fatalf("step %d (%s), %s: cached answer differs from a fresh one (-want +got):\n%s", step, what, svc.ID, diff)
				}
				if string(got.JSON(key)) != string(appendAvailabilityJSON(nil, o.ID, svc.ID, from, to, want)) {
					t.Fatalf("step %d (%s), %s: cached JSON differs from a fresh one", step, what, svc.ID)
				}
				again, _, err := b.availability(ctx, o.ID, svc.ID, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if again != got {
					t.Fatalf("step %d (%s), %s: asked again without a change, the answer was computed anew", step, what, svc.ID)
				}
				checked++
			}
		}
		check(0, "start")
		for step := 1; step <= 300; step++ {
			var what string
			switch r := rng.IntN(100); {
			case r < 25:
				what = "book"
				if svc, start, ok := pick(); ok {
					bk, err := writer().Book(ctx, o.ID, BookRequest{Service: svc, Start: start, Name: "Anna Beispiel",
						Email: fmt.Sprintf("a%d@example.org", step)}, "de", nil)
					if !expected(err) {
						t.Fatal(err)
					}
					if err == nil {
						tokens = append(tokens, bk.Token)
					}
				}
			case r < 35:
				what = "hold"
				if svc, start, ok := pick(); ok {
					h, err := writer().Hold(ctx, o.ID, svc, start)
					if !expected(err) {
						t.Fatal(err)
					}
					if err == nil {
						holds = append(holds, h.ID)
					}
				}
			case r < 40 && len(holds) > 0:
				what = "release hold"
				i := rng.IntN(len(holds))
				if err := writer().ReleaseHold(ctx, o.ID, holds[i]); !expected(err) {
					t.Fatal(err)
				}
				holds = append(holds[:i], holds[i+1:]...)
			case r < 52 && len(tokens) > 0:
				what = "cancel"
				if _, err := writer().Cancel(ctx, tokens[rng.IntN(len(tokens))]); !expected(err) {
					t.Fatal(err)
				}
			case r < 64 && len(tokens) > 0:
				what = "move"
				if _, start, ok := pick(); ok {
					if _, err := writer().Reschedule(ctx, tokens[rng.IntN(len(tokens))], start); !expected(err) {
						t.Fatal(err)
					}
				}
			case r < 70:
				what = "closure"
				d := o.Today(clk.Now()).AddDays(1 + rng.IntN(20))
				in := seedClosure()
				in.From, in.Until, in.ComeBy = d.String(), d.AddDays(rng.IntN(3)).String(), nil
				res, err := other.PublishClosure(ctx, o.ID, in, "admin", false)
				if !expected(err) {
					t.Fatal(err)
				}
				if err == nil {
					closures = append(closures, res.Closure.ID)
				}
			case r < 74 && len(closures) > 0:
				what = "withdraw closure"
				i := rng.IntN(len(closures))
				if _, err := other.WithdrawClosure(ctx, o.ID, closures[i], "admin"); !expected(err) {
					t.Fatal(err)
				}
				closures = append(closures[:i], closures[i+1:]...)
			case r < 82:
				what = "sweep"
				if err := other.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			case r < 97:
				d := time.Duration(rng.IntN(40)) * time.Minute
				what = "time passes " + d.String()
				clk.Advance(d)
			default:
				what = "night passes"
				clk.Advance(time.Duration(10+rng.IntN(6)) * time.Hour)
			}
			check(step, what)
		}
		if clk.Now().Before(time.Date(2021, 10, 31, 12, 0, 0, 0, berlin)) {
			t.Fatalf("the walk ended at %s, before the DST change it should cross", clk.Now())
		}
		if len(tokens) < 30 {
			t.Fatalf("the walk booked only %d appointments: too little to judge", len(tokens))
		}
		t.Logf("%d appointments, %d closures left, %d answers checked", len(tokens), len(closures), checked)
	})
}

// TestAvailabilityAnswerMaxAge: equal versions are trusted for at most
// answerMaxAge. A Redis that lost its last writes (here: the capacity version
// and a record deleted and written again) can repeat a version with other
// data; after answerMaxAge the answer is computed anew.
func TestAvailabilityAnswerMaxAge(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2021, 9, 10, 10, 0, 0, 0, berlin)
		b, o, clk := demoBookings(t, st, now)
		from, to := Date{2021, 9, 13}, Date{2021, 9, 13}
		before, _, err := b.availability(ctx, o.ID, "ummeldung", from, to)
		if err != nil {
			t.Fatal(err)
		}
		// every seat of the day taken, behind the version's back
		full := []byte{}
		for range 1440 {
			full = append(full, 200)
		}
		if err := st.Client.Set(ctx, capKey(o.ID, from), string(full), 0).Err(); err != nil {
			t.Fatal(err)
		}
		same, _, _ := b.availability(ctx, o.ID, "ummeldung", from, to)
		if same != before {
			t.Fatal("within answerMaxAge, equal versions should answer from the cache")
		}
		clk.Advance(answerMaxAge)
		after, _, err := b.availability(ctx, o.ID, "ummeldung", from, to)
		if err != nil {
			t.Fatal(err)
		}
		if before.days[0].FreeSlots == 0 || after.days[0].FreeSlots != 0 || after.days[0].Status != DayFull {
			t.Fatalf("free slots before %d, after answerMaxAge %d (%s), want >0 then 0 (full)",
				before.days[0].FreeSlots, after.days[0].FreeSlots, after.days[0].Status)
		}
	})
}
