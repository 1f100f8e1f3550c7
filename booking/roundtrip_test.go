package booking

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/redistest"
)

// countTrips counts the round trips a client makes: one per command sent
// alone, one per pipeline.
type countTrips struct{ n atomic.Int64 }

func (c *countTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *countTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *countTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestRoundTrips pins the cost of the hot paths: eight weeks of availability
// is one round trip, a booking one script call (it starts from the closures
// last read), or a read and the script once the closures changed.
func TestRoundTrips(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	ctx := context.Background()
	b, o, _ := newBookings(t, st, "")
	// Load the scripts first: the first call of a script may add an EVAL after a NOSCRIPT.
	if _, err := b.Book(ctx, o.ID, req("warm@example.org", slot), "de", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Availability(ctx, o.ID, "short", Date{2026, 9, 1}, Date{2026, 9, 2}); err != nil {
		t.Fatal(err)
	}
	trips := &countTrips{}
	st.Client.AddHook(trips)

	if _, err := b.Availability(ctx, o.ID, "short", Date{2026, 10, 1}, Date{2026, 11, 25}); err != nil {
		t.Fatal(err)
	}
	if n := trips.n.Swap(0); n != 1 {
		t.Fatalf("availability of 8 weeks took %d round trips, want 1", n)
	}
	if _, err := b.Book(ctx, o.ID, req("trip@example.org", "2026-10-05T10:00:00+02:00"), "de", nil); err != nil {
		t.Fatal(err)
	}
	if n := trips.n.Swap(0); n != 1 {
		t.Fatalf("a booking took %d round trips, want 1 (the script)", n)
	}
	// Another server publishes a closure elsewhere: this one's closures are
	// stale, its script says so, and it reads them and books.
	other := NewBookings(b.dir, st.Client, b.clock, "https://termine.example", b.log)
	in := ClosureInput{From: "2026-10-08", Until: "2026-10-09", Title: TextInput{Text: Text{De: "Umzug", En: "Move"}, set: true}}
	pub, err := other.PublishClosure(ctx, o.ID, in, "admin", false)
	if err != nil {
		t.Fatal(err)
	}
	trips.n.Store(0)
	if _, err := b.Book(ctx, o.ID, req("trip2@example.org", "2026-10-05T10:10:00+02:00"), "de", nil); err != nil {
		t.Fatal(err)
	}
	if n := trips.n.Swap(0); n != 3 {
		t.Fatalf("a booking after a closure change took %d round trips, want 3 (stale script, read, script)", n)
	}
	// The other server withdraws it: a booking on its day is not refused on
	// the strength of the closures this server read before.
	if _, err := other.WithdrawClosure(ctx, o.ID, pub.Closure.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Book(ctx, o.ID, req("trip3@example.org", "2026-10-08T09:00:00+02:00"), "de", nil); err != nil {
		t.Fatalf("booking on the day of a withdrawn closure: %v", err)
	}
}

// TestAvailabilityRoundTrips pins how availability asks Redis (answerCache):
// a stable answer by a GET of the version, a second trip when it moved, then
// one full read per request while the office keeps changing, and a GET again
// once it has calmed down.
func TestAvailabilityRoundTrips(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	ctx := context.Background()
	b, o, _ := newBookings(t, st, "")
	if _, err := b.Availability(ctx, o.ID, "short", Date{2026, 9, 1}, Date{2026, 9, 2}); err != nil {
		t.Fatal(err) // loads the script
	}
	trips := &countTrips{}
	st.Client.AddHook(trips)
	var cmds []string
	st.Client.AddHook(&lastCmd{names: &cmds})
	other := NewBookings(b.dir, st.Client, b.clock, "https://termine.example", b.log)
	book := func(email, start string) {
		t.Helper()
		if _, err := other.Book(ctx, o.ID, req(email, start), "de", nil); err != nil {
			t.Fatal(err)
		}
	}
	ask := func(want int, what string) {
		t.Helper()
		trips.n.Store(0)
		cmds = cmds[:0]
		if _, err := b.Availability(ctx, o.ID, "short", Date{2026, 10, 1}, Date{2026, 11, 25}); err != nil {
			t.Fatal(err)
		}
		if n := trips.n.Load(); n != int64(want) {
			t.Fatalf("%s: %d round trips %v, want %d", what, n, cmds, want)
		}
	}
	ask(1, "first answer (full read)")
	ask(1, "nothing changed (GET of the version)")
	book("r1@example.org", "2026-10-05T10:00:00+02:00")
	ask(2, "after a booking (GET, then full read)")
	book("r2@example.org", "2026-10-05T10:10:00+02:00")
	ask(1, "after another booking (full read with the version)")
	ask(1, "nothing changed since (full read says unchanged)")
	ask(1, "calm again (GET of the version)")
	if cmds[0] != "get" {
		t.Fatalf("calm again: sent %v, want a GET", cmds)
	}
}

// lastCmd records the names of the commands sent.
type lastCmd struct{ names *[]string }

func (c *lastCmd) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *lastCmd) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		*c.names = append(*c.names, cmd.Name())
		return next(ctx, cmd)
	}
}
func (c *lastCmd) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
