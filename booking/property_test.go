package booking

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestPropertyConcurrentChanges runs thousands of random holds, bookings,
// cancellations and reschedules from many goroutines on a small office and
// then checks the invariants: no unit over capacity, every capacity record
// equal to what the appointments and live holds say, and no appointment that
// was confirmed (and not cancelled by the test) lost.
func TestPropertyConcurrentChanges(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		// A small grid so that the workers collide a lot: 09:00-09:50 on two days.
		var starts []string
		for _, day := range []string{"2026-10-05", "2026-10-06"} {
			for m := 0; m < 50; m += 10 {
				starts = append(starts, fmt.Sprintf("%sT09:%02d:00+02:00", day, m))
			}
		}
		const workers, opsPerWorker = 16, 150
		var mu sync.Mutex
		live := map[string]bool{} // token -> expected active
		var tokens []string
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 42))
				for i := range opsPerWorker {
					pick := func() string { return starts[rng.IntN(len(starts))] }
					service := []string{"short", "long"}[rng.IntN(2)]
					switch op := rng.IntN(10); {
					case op < 4:
						r := BookRequest{Service: service, Start: pick(), Name: "Prop Test", Email: fmt.Sprintf("w%d-%d@example.org", w, i)}
						if rng.IntN(3) == 0 {
							h, err := b.Hold(ctx, o.ID, service, r.Start)
							if err == nil {
								r.Hold = h.ID
							}
						}
						bk, err := b.Book(ctx, o.ID, r, "de", nil)
						if err == nil {
							mu.Lock()
							live[bk.Token] = true
							tokens = append(tokens, bk.Token)
							mu.Unlock()
						} else if !expected(err) {
							t.Errorf("Book: %v", err)
						}
					case op < 6:
						if _, err := b.Hold(ctx, o.ID, service, pick()); err != nil && !expected(err) {
							t.Errorf("Hold: %v", err)
						}
					case op < 8:
						tok := randomToken(&mu, &tokens, rng)
						if tok == "" {
							continue
						}
						if _, err := b.Reschedule(ctx, tok, pick()); err != nil && !expected(err) {
							t.Errorf("Reschedule: %v", err)
						}
					default:
						tok := randomToken(&mu, &tokens, rng)
						if tok == "" {
							continue
						}
						if _, err := b.Cancel(ctx, tok); err != nil {
							t.Errorf("Cancel: %v", err)
						}
						mu.Lock()
						live[tok] = false
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		checkInvariants(t, b, o, st, live)
		// Let every hold expire and sweep: the records must then match the appointments alone.
		clk.Advance(time.Duration(o.HoldMinutes+1) * time.Minute)
		if err := b.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Client.ZCard(ctx, holdsKey(o.ID)).Result(); n != 0 {
			t.Fatalf("%d holds left after the sweep", n)
		}
		checkInvariants(t, b, o, st, live)
	})
}

func randomToken(mu *sync.Mutex, tokens *[]string, rng *rand.Rand) string {
	mu.Lock()
	defer mu.Unlock()
	if len(*tokens) == 0 {
		return ""
	}
	return (*tokens)[rng.IntN(len(*tokens))]
}

// expected are the refusals a busy office gives: full, inactive, or an
// appointment that no longer fits where a service was moved.
func expected(err error) bool {
	if errors.Is(err, ErrSlotTaken) {
		return true
	}
	switch apperr.CodeOf(err) {
	case "appointment_inactive", "start_outside_opening_hours":
		return true
	}
	return false
}

func checkInvariants(t *testing.T, b *Bookings, o *Office, st *store.Store, live map[string]bool) {
	t.Helper()
	ctx := context.Background()
	for _, d := range []Date{{2026, 10, 5}, {2026, 10, 6}} {
		want := make([]int, 1440/o.SlotMinutes)
		appts, err := b.DayList(ctx, o.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range appts {
			if a.Active() {
				for u := a.Unit; u < a.Unit+Unit(a.Units); u++ {
					want[u]++
				}
			}
		}
		holds, _ := st.Client.ZRange(ctx, holdsKey(o.ID), 0, -1).Result()
		for _, id := range holds {
			h, _ := st.Client.HGetAll(ctx, holdKey(o.ID, id)).Result()
			if h["date"] != d.String() {
				continue
			}
			var u, n int
			fmt.Sscan(h["unit"], &u)
			fmt.Sscan(h["units"], &n)
			for i := u; i < u+n; i++ {
				want[i]++
			}
		}
		rec, _ := st.Client.Get(ctx, capKey(o.ID, d)).Result()
		p := o.Plan(d, nil)
		for u := range want {
			got := Used(rec).At(Unit(u))
			if got != want[u] {
				t.Errorf("%s unit %d: record says %d seats taken, appointments and holds say %d", d, u, got, want[u])
			}
			if got > p.Seats(Unit(u)) {
				t.Errorf("%s unit %d: %d seats taken, capacity %d", d, u, got, p.Seats(Unit(u)))
			}
		}
	}
	for tok, active := range live {
		a, _, err := b.Get(ctx, tok)
		if err != nil {
			t.Fatalf("appointment lost: %v", err)
		}
		if a.Active() != active {
			t.Errorf("appointment %s active=%v, want %v", a.ID, a.Active(), active)
		}
	}
}
