package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// releases returns the queued delayed releases of o.
func releases(t *testing.T, st *store.Store, o *Office) []redis.Z {
	t.Helper()
	z, err := st.Client.ZRangeWithScores(context.Background(), releasesKey(o.ID), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestDelayedRelease: a cancelled seat stays taken until its release moment,
// which lies between delay and delay+window after the cancellation; the
// sweep before that moment changes nothing, the sweep at it frees the seat.
func TestDelayedRelease(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		b.SetReleaseDelay(30*time.Minute, 30*time.Minute)
		var first Booked
		for i := range 3 {
			bk, err := b.Book(ctx, o.ID, req(fmt.Sprintf("f%d@example.org", i), slot), "de", nil)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = bk
			}
		}
		cancelledAt := clk.Now()
		if _, err := b.Cancel(ctx, first.Token); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 3)
		if _, err := b.Book(ctx, o.ID, req("buyer@example.org", slot), "de", nil); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("booking the cancelled slot right away: %v, want slot_taken", err)
		}
		z := releases(t, st, o)
		if len(z) != 1 {
			t.Fatalf("releases = %v", z)
		}
		due := time.UnixMilli(int64(z[0].Score))
		if due.Before(cancelledAt.Add(30*time.Minute)) || !due.Before(cancelledAt.Add(time.Hour)) {
			t.Fatalf("release at %v, want within [%v, %v)", due, cancelledAt.Add(30*time.Minute), cancelledAt.Add(time.Hour))
		}
		if m := z[0].Member.(string); strings.Contains(m, first.Appointment.ID) || !strings.HasPrefix(m, "2026-10-05|") {
			t.Fatalf("release member %q names the appointment or lacks the date", m)
		}

		clk.Set(due.Add(-time.Millisecond))
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 3)
		clk.Set(due)
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 2)
		if n, err := b.PendingReleases(ctx, o.ID); err != nil || n != 0 {
			t.Fatalf("pending releases = %d, %v", n, err)
		}
		if err := b.Sweep(ctx); err != nil { // a second sweep gives nothing back twice
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 2)
		if _, err := b.Book(ctx, o.ID, req("later@example.org", slot), "de", nil); err != nil {
			t.Fatalf("booking after the release: %v", err)
		}
	})
}

// TestDelayedReleaseUnpredictable: release moments of cancellations made at
// the same instant differ and all lie in the window.
func TestDelayedReleaseUnpredictable(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		b.SetReleaseDelay(30*time.Minute, 30*time.Minute)
		now := clk.Now()
		for i := range 8 {
			bk, err := b.Book(ctx, o.ID, req(fmt.Sprintf("m%d@example.org", i), fmt.Sprintf("2026-10-05T%02d:%02d:00+02:00", 8+i/4, (i%4)*10)), "de", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Cancel(ctx, bk.Token); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[float64]bool{}
		for _, z := range releases(t, st, o) {
			due := time.UnixMilli(int64(z.Score))
			if due.Before(now.Add(30*time.Minute)) || !due.Before(now.Add(time.Hour)) {
				t.Errorf("release at %v outside the window", due)
			}
			seen[z.Score] = true
		}
		if len(seen) < 7 {
			t.Fatalf("8 cancellations at one instant got only %d different release moments", len(seen))
		}
	})
}

// TestDelayedReleaseOnMove: the old slot of a move is released late too, so
// a move cannot hand a slot over at an agreed moment either.
func TestDelayedReleaseOnMove(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		b.SetReleaseDelay(30*time.Minute, 0)
		bk, err := b.Book(ctx, o.ID, req("mover@example.org", slot), "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Reschedule(ctx, bk.Token, "2026-10-05T10:00:00+02:00"); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 1)
		clk.Advance(30 * time.Minute)
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 0)
		a, _, _ := b.Get(ctx, bk.Token)
		if a.Name != "Anna Muster" {
			t.Fatalf("name after the move: %q", a.Name)
		}
	})
}

// TestReleaseOfPastDay: a release that falls after its day has passed (the
// capacity record expired) only drops the entry and creates no record.
func TestReleaseOfPastDay(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		member := "2026-09-01|abcd|54|1"
		if err := st.Client.ZAdd(ctx, releasesKey(o.ID), redis.Z{Score: float64(clk.Now().UnixMilli()), Member: member}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Client.Exists(ctx, capKey(o.ID, Date{2026, 9, 1})).Result(); n != 0 {
			t.Fatal("sweep created a capacity record for a past day")
		}
		if len(releases(t, st, o)) != 0 {
			t.Fatal("entry not dropped")
		}
	})
}

// TestClosureAndExpiryReleaseAtOnce: with the delayed release on, a closure
// and an unconfirmed booking that expires free their seats at once — no one
// chose their moment, so there is nothing to trade.
func TestClosureAndExpiryReleaseAtOnce(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "    confirm_by_email: true\n")
		b.SetReleaseDelay(30*time.Minute, 30*time.Minute)
		if _, err := b.Book(ctx, o.ID, req("late@example.org", slot), "de", nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(61 * time.Minute)
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 0)

		bk, err := b.Book(ctx, o.ID, req("closed@example.org", slot), "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Confirm(ctx, bk.Token); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 1)
		in := seedClosure()
		in.From, in.Until, in.ComeBy = "2026-10-05", "2026-10-05", nil
		if _, err := b.PublishClosure(ctx, o.ID, in, "admin", false); err != nil {
			t.Fatal(err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 0)
		if z := releases(t, st, o); len(z) != 0 {
			t.Fatalf("queued releases %v, want none", z)
		}
	})
}
