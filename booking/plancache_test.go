package booking

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestPlanCacheMatchesUncached runs availability and slots on one service
// whose plan cache lives through closures being published, changed,
// withdrawn and (as after a restore or a failover) a closures version that
// starts over with other closures, and compares every answer with that of a
// service built afresh for the question (an empty cache). The range covers
// past days, holidays, the DST change of 31 October and days beyond the
// horizon.
func TestPlanCacheMatchesUncached(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2021, 9, 10, 10, 0, 0, 0, berlin)
		b, o, clk := demoBookings(t, st, now)
		for i, start := range []string{"2021-09-13T09:00:00+02:00", "2021-09-28T09:00:00+02:00", "2021-10-29T08:30:00+02:00"} {
			if _, err := b.Book(ctx, o.ID, BookRequest{Service: "ummeldung", Start: start, Name: "Anna Beispiel",
				Email: fmt.Sprintf("c%d@example.org", i)}, "de", nil); err != nil {
				t.Fatal(err)
			}
		}
		from, to := Date{2021, 9, 5}, Date{2021, 12, 5}
		check := func(step string) {
			t.Helper()
			fresh, _, _ := demoBookings(t, st, now)
			for _, svc := range o.Services {
				got, err := b.Availability(ctx, o.ID, svc.ID, from, to)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fresh.Availability(ctx, o.ID, svc.ID, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%s, %s: cached availability differs from uncached (-want +got):\n%s", step, svc.ID, diff)
				}
				for _, d := range []Date{{2021, 9, 13}, {2021, 9, 28}, {2021, 9, 30}, {2021, 10, 31}} {
					got, _ := b.Slots(ctx, o.ID, svc.ID, d)
					want, _ := fresh.Slots(ctx, o.ID, svc.ID, d)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("%s, %s, %s: cached slots differ from uncached (-want +got):\n%s", step, svc.ID, d, diff)
					}
				}
			}
		}
		check("no closures")
		res, err := b.PublishClosure(ctx, o.ID, seedClosure(), "admin", false)
		if err != nil {
			t.Fatal(err)
		}
		check("closure published")
		in := seedClosure()
		in.From, in.Until = "2021-09-28", "2021-09-29"
		if _, err := b.ChangeClosure(ctx, o.ID, res.Closure.ID, in, "admin", false); err != nil {
			t.Fatal(err)
		}
		check("closure moved")
		partial := seedClosure()
		partial.From, partial.Until, partial.FromTime, partial.UntilTime = "2021-09-30", "2021-09-30", "09:00", "11:30"
		if _, err := b.PublishClosure(ctx, o.ID, partial, "admin", false); err != nil {
			t.Fatal(err)
		}
		check("partial closure")
		if _, err := b.WithdrawClosure(ctx, o.ID, res.Closure.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		check("closure withdrawn")
		// The closures start over (a restored Redis, a failover that lost the
		// last changes): the version numbers come again, now with other
		// closures, up to the version the cache holds.
		seen, err := st.Client.Get(ctx, closuresVerKey(o.ID)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Client.Del(ctx, closuresVerKey(o.ID), closuresKey(o.ID)).Err(); err != nil {
			t.Fatal(err)
		}
		// (Not all on one date: which of two closures starting together a
		// day reports depends on the order of the stored hash, cache or not.)
		for i := 0; ; i++ {
			ver, _ := st.Client.Get(ctx, closuresVerKey(o.ID)).Result()
			if ver == seen {
				break
			}
			if i == 20 {
				t.Fatalf("closures version %q never came back to %q", ver, seen)
			}
			other := seedClosure()
			other.From = (Date{2021, 10, 11}).AddDays(2 * i).String()
			other.Until = other.From
			if _, err := b.PublishClosure(ctx, o.ID, other, "admin", false); err != nil {
				t.Fatal(err)
			}
		}
		// The plans notice at once (they compare the closures); a cached
		// availability answer trusts equal versions, so after such a loss it
		// may be as old as answerMaxAge (see answerCache) — not older.
		clk.Advance(answerMaxAge)
		now = now.Add(answerMaxAge)
		check("closures anew")
	})
}

// TestPlanCacheConcurrent reads availability from many goroutines while
// closures change (for the race detector), then checks the answer.
func TestPlanCacheConcurrent(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2021, 9, 10, 10, 0, 0, 0, berlin)
		b, o, _ := demoBookings(t, st, now)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				for j := 0; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					from := (Date{2021, 9, 10}).AddDays((i + j) % 30)
					days, err := b.Availability(ctx, o.ID, "ummeldung", from, from.AddDays(55))
					if err != nil {
						t.Error(err)
						return
					}
					for _, d := range days {
						if d.Closure != nil {
							_ = closureSummary(d.Closure)
						}
					}
				}
			})
		}
		for i := range 4 {
			in := seedClosure()
			in.From = fmt.Sprintf("2021-10-%02d", 11+i)
			in.Until = in.From
			if _, err := b.PublishClosure(ctx, o.ID, in, "admin", false); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
		fresh, _, _ := demoBookings(t, st, now)
		got, _ := b.Availability(ctx, o.ID, "ummeldung", Date{2021, 9, 10}, Date{2021, 11, 30})
		want, _ := fresh.Availability(ctx, o.ID, "ummeldung", Date{2021, 9, 10}, Date{2021, 11, 30})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("after concurrent changes (-want +got):\n%s", diff)
		}
	})
}

// TestPlanCacheKeys checks the cache's key without Redis: a plan is reused
// only under the same version and the same closures, and the set stays
// bounded.
func TestPlanCacheKeys(t *testing.T) {
	o := DemoOffices()[0]
	d := Date{2021, 9, 28}
	closed := []Closure{{ID: "c1", From: d, Until: d, Title: Text{De: "zu", En: "closed"}}}
	var c planCache
	open := c.plans(o, "1", nil, []Date{d})[0]
	if len(open.Windows) == 0 || open.Closure != nil {
		t.Fatalf("open day: %+v", open)
	}
	if again := c.plans(o, "1", nil, []Date{d})[0]; again != open {
		t.Fatal("same version and closures: the plan was built again")
	}
	if p := c.plans(o, "1", closed, []Date{d})[0]; len(p.Windows) != 0 || p.Closure == nil || p.Closure.ID != "c1" {
		t.Fatalf("same version, other closures: %+v", p)
	}
	if p := c.plans(o, "2", nil, []Date{d})[0]; p == open || len(p.Windows) == 0 {
		t.Fatalf("other version: %+v", p)
	}
	var dates []Date
	for i := range maxCachedDays + 10 {
		dates = append(dates, d.AddDays(i))
	}
	c.plans(o, "2", nil, dates[:maxCachedDays])
	c.plans(o, "2", nil, dates[maxCachedDays:])
	if set := c.slot(o).Load(); len(set.days) > maxCachedDays {
		t.Fatalf("%d days cached, bound %d", len(set.days), maxCachedDays)
	}
}

// TestCountFreeMatchesCountFreeStarts compares the one-pass count of
// availability with the start-by-start walk on random days: windows, seats
// taken, service lengths and lead times.
func TestCountFreeMatchesCountFreeStarts(t *testing.T) {
	o := testOffice(t, "")
	rng := rand.New(rand.NewPCG(9, 9))
	d := Date{2026, 10, 6}
	units := 1440 / o.SlotMinutes
	for i := range 3000 {
		var p DayPlan
		p.Date = d
		for u := Unit(rng.IntN(20)); int(u) < units; {
			w := Window{From: u, To: u + Unit(1+rng.IntN(40)), Seats: rng.IntN(4)}
			if int(w.To) > units {
				w.To = Unit(units)
			}
			p.Windows = append(p.Windows, w)
			u = w.To + Unit(rng.IntN(10))
		}
		used := make(Used, rng.IntN(units+1))
		for u := range used {
			used[u] = byte(rng.IntN(5))
		}
		n := 1 + rng.IntN(6)
		earliest := d.Midnight(o.Location).Add(time.Duration(rng.IntN(30*60)-60) * time.Minute)
		if i%7 == 0 {
			earliest = earliest.Add(time.Duration(rng.IntN(60)) * time.Second)
		}
		want := o.CountFreeStarts(p, used, n, earliest)
		if got := o.countFree(p, true, nil, used, n, earliest, o.boundOf(earliest)); got != want {
			t.Fatalf("case %d: countFree = %d, CountFreeStarts = %d (plan %+v, used %v, n %d, earliest %s)", i, got, want, p, used, n, earliest)
		}
		// The same windows on the two DST days of 2026, with their unit tables.
		for _, dst := range []Date{{2026, 3, 29}, {2026, 10, 25}} {
			p.Date = dst
			e := dst.Midnight(o.Location).Add(earliest.Sub(d.Midnight(o.Location)))
			want := o.CountFreeStarts(p, used, n, e)
			if got := o.countFree(p, false, o.unitStarts(dst), used, n, e, o.boundOf(e)); got != want {
				t.Fatalf("case %d on %s: countFree = %d, CountFreeStarts = %d (plan %+v, used %v, n %d, earliest %s)", i, dst, got, want, p, used, n, e)
			}
		}
		p.Date = d
	}
}

// TestDateTextMatchesTime compares the digit-by-digit String and ParseDate
// with the time package's formatting and parsing.
func TestDateTextMatchesTime(t *testing.T) {
	for d := (Date{1999, 12, 1}); d.Before(Date{2101, 3, 1}); d = d.AddDays(1) {
		if got, want := d.String(), d.Midnight(time.UTC).Format(time.DateOnly); got != want {
			t.Fatalf("String(%v) = %q, want %q", d, got, want)
		}
	}
	for _, d := range []Date{{0, 1, 1}, {9999, 12, 31}, {10000, 1, 1}, {-1, 6, 1}, {2026, 2, 29}, {2026, 13, 1}, {2026, 0, 10}, {2024, 2, 29}} {
		if got, want := d.String(), d.Midnight(time.UTC).Format(time.DateOnly); got != want {
			t.Fatalf("String(%v) = %q, want %q", d, got, want)
		}
	}
	for _, s := range []string{"2026-10-01", "2024-02-29", "2026-02-29", "2100-02-29", "2000-02-29", "0000-01-01", "9999-12-31",
		"2026-04-31", "2026-13-01", "2026-00-01", "2026-01-00", "2026-1-01", "+026-01-01", "2026-01-0a", "2026/01/01", " 2026-01-01", ""} {
		got, gotErr := ParseDate(s)
		tm, wantErr := time.Parse(time.DateOnly, s)
		if (gotErr == nil) != (wantErr == nil) || (wantErr == nil && got != DateOf(tm)) {
			t.Fatalf("ParseDate(%q) = %v, %v; time.Parse gives %v, %v", s, got, gotErr, tm, wantErr)
		}
	}
}
