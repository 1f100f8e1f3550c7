package notify

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestLatestInstant: the look-back search finds the same latest instant as
// stepping through every instant from after, for fine and coarse schedules,
// across both 2026 DST changes and spans from seconds to the week of catch-up.
func TestLatestInstant(t *testing.T) {
	s := NewScheduler(nil, nil, berlin, "t", quietLog)
	specs := []string{"* * * * *", "*/5 * * * *", "15 * * * *", "30 2 * * *", "15 3 * * *", "0 9 * * 1", "0 0 1 * *"}
	for i, spec := range specs {
		if err := s.Register(Job{Name: spec, Spec: spec, Run: func(context.Context, time.Time) error { return nil }}); err != nil {
			t.Fatal(err)
		}
		sched := s.jobs[i].sched
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for range 300 {
			base := []time.Time{time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 10, 25, 0, 0, 0, 0, berlin),
				time.Date(2026, 6, 1, 0, 0, 0, 0, berlin)}[r.IntN(3)]
			until := base.Add(time.Duration(r.IntN(48*60*60)) * time.Second)
			after := until.Add(-time.Duration(r.Int64N(int64(8 * 24 * time.Hour))))
			var want time.Time
			for x := sched.Next(after); !x.IsZero() && !x.After(until); x = sched.Next(x) {
				want = x
			}
			if got := latestInstant(sched, after, until); !got.Equal(want) {
				t.Fatalf("%s in (%s, %s]: got %s, want %s", spec, after, until, got, want)
			}
		}
	}
}

// BenchmarkLatestInstantCatchUp is a minute job's first run: a week to look through.
func BenchmarkLatestInstantCatchUp(b *testing.B) {
	sched, err := cronParser.Parse("* * * * *")
	if err != nil {
		b.Fatal(err)
	}
	until := time.Date(2026, 11, 26, 5, 30, 0, 0, berlin)
	after := until.Add(-7 * 24 * time.Hour)
	b.Run("stepping", func(b *testing.B) { // the former way, as the baseline
		for b.Loop() {
			for x := sched.Next(after); !x.IsZero() && !x.After(until); x = sched.Next(x) {
			}
		}
	})
	b.Run("look-back", func(b *testing.B) {
		for b.Loop() {
			latestInstant(sched, after, until)
		}
	})
}
