package booking

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// benchOffice has room for hundreds of thousands of bookings: 200 counters,
// open around the clock, a year ahead.
func benchOffice(b *testing.B) *Office { return benchOfficeID(b, "bench") }

// benchOfficeID is benchOffice under another id.
func benchOfficeID(b *testing.B, id string) *Office {
	var hours strings.Builder
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		fmt.Fprintf(&hours, "      %s: [\"00:00-24:00\"]\n", d)
	}
	counters := make([]string, 200)
	for i := range counters {
		counters[i] = fmt.Sprintf("%q", fmt.Sprint(i+1))
	}
	y := `offices:
  - id: ` + id + `
    name: Benchamt
    counters: [` + strings.Join(counters, ",") + `]
    slot_minutes: 5
    lead_minutes: 0
    horizon_days: 366
    max_active_per_email: 100
    services:
      - id: s
        name: {de: S, en: S}
        duration_minutes: 15
    opening_hours:
` + hours.String()
	offices, err := ParseOffices("bench.yaml", []byte(y))
	if err != nil {
		b.Fatal(err)
	}
	return offices[0]
}

func benchBookings(b *testing.B) (*Bookings, *Office) {
	st := redistest.Backends[0].Open(b)
	o := benchOffice(b)
	clk := clock.NewSimulated(time.Date(2026, 9, 30, 12, 0, 0, 0, o.Location))
	return NewBookings(NewDirectory([]*Office{o}), st.Client, clk, "https://b.example", slog.New(slog.NewTextHandler(io.Discard, nil))), o
}

// BenchmarkBaselineGET is one plain Redis GET on the same kind of server: the
// yardstick for the benchmarks below (run them together and compare).
func BenchmarkBaselineGET(b *testing.B) {
	bk, _ := benchBookings(b)
	ctx := context.Background()
	bk.st.rdb.Set(ctx, "k", "v", 0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := bk.st.rdb.Get(ctx, "k").Err(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAvailability8Weeks reads 56 days of one service with 10,000
// bookings in them: "current" while nothing changes (the cached answer is
// confirmed by its versions), "changed" as after a change (every answer is
// computed from the records).
func BenchmarkAvailability8Weeks(b *testing.B) {
	bk, o := benchBookings(b)
	ctx := context.Background()
	for i := range 10000 {
		start := time.Date(2026, 10, 1+i%56, (i/56)%24, 0, 0, 0, o.Location).Add(time.Duration(i/(56*24)%12*5) * time.Minute)
		if _, err := bk.Book(ctx, o.ID, BookRequest{Service: "s", Start: start.Format(time.RFC3339), Name: "Bench Mark",
			Email: fmt.Sprintf("b%d@example.org", i)}, "de", nil); !benchOK(err) {
			b.Fatal(err)
		}
	}
	for _, changed := range []bool{false, true} {
		name := map[bool]string{false: "current", true: "changed"}[changed]
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if changed {
						bk.answers.m.Clear()
					}
					if _, err := bk.Availability(ctx, o.ID, "s", Date{2026, 10, 1}, Date{2026, 11, 25}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBook books distinct starts: one read and one script each.
func BenchmarkBook(b *testing.B) {
	bk, o := benchBookings(b)
	ctx := context.Background()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			start := time.Date(2026, 10, 1, 0, 0, 0, 0, o.Location).Add(time.Duration(i%(360*288)) * 5 * time.Minute)
			_, err := bk.Book(ctx, o.ID, BookRequest{Service: "s", Start: start.Format(time.RFC3339), Name: "Bench Mark",
				Email: fmt.Sprintf("b%d@example.org", i)}, "de", nil)
			if !benchOK(err) {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAvailabilityDays reads the availability of 1 to 92 days (the
// longest range a request may ask) of an office with 20,000 appointments
// spread over those 92 days: "current" while
// the office's version has not moved (the kept answer), "changed" computed
// afresh each time (the answers forgotten). How cost grows with the days
// asked (PERFORMANCE.md).
func BenchmarkAvailabilityDays(b *testing.B) {
	bk, o := benchBookings(b)
	ctx := context.Background()
	first := Date{2026, 10, 1}
	for i := range 20000 {
		start := first.Midnight(o.Location).AddDate(0, 0, i%92).Add(time.Duration(i/92%288) * 5 * time.Minute)
		if _, err := bk.Book(ctx, o.ID, BookRequest{Service: "s", Start: start.Format(time.RFC3339), Name: "Bench Mark",
			Email: fmt.Sprintf("b%d@example.org", i)}, "de", nil); !benchOK(err) {
			b.Fatal(err)
		}
	}
	for _, days := range []int{1, 7, 28, 56, 92} {
		for _, changed := range []bool{false, true} {
			name := fmt.Sprintf("days=%d/%s", days, map[bool]string{false: "current", true: "changed"}[changed])
			b.Run(name, func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if changed {
							bk.answers.m.Clear()
						}
						if _, err := bk.Availability(ctx, o.ID, "s", first, first.AddDays(days-1)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkBookOffices books distinct starts round robin into 1, 43 and 430
// offices on one Redis: what one booking costs does not depend on how many
// offices there are (PERFORMANCE.md, "How cost grows").
func BenchmarkBookOffices(b *testing.B) {
	for _, n := range []int{1, 43, 430} {
		b.Run(fmt.Sprintf("offices=%d", n), func(b *testing.B) {
			st := redistest.Backends[0].Open(b)
			offices := make([]*Office, n)
			for i := range offices {
				offices[i] = benchOfficeID(b, fmt.Sprintf("bench%03d", i))
			}
			clk := clock.NewSimulated(time.Date(2026, 9, 30, 12, 0, 0, 0, offices[0].Location))
			bk := NewBookings(NewDirectory(offices), st.Client, clk, "https://b.example", slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx := context.Background()
			var next atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					o := offices[int(i)%n]
					start := time.Date(2026, 10, 1, 0, 0, 0, 0, o.Location).Add(time.Duration(i/int64(n)%(360*288)) * 5 * time.Minute)
					_, err := bk.Book(ctx, o.ID, BookRequest{Service: "s", Start: start.Format(time.RFC3339), Name: "Bench Mark",
						Email: fmt.Sprintf("b%d@example.org", i)}, "de", nil)
					if !benchOK(err) {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchOK accepts the refusals a grid walk meets: a full start, the day's
// last starts, the DST hours and public holidays.
func benchOK(err error) bool {
	if err == nil {
		return true
	}
	switch codeOf(err) {
	case "slot_taken", "start_outside_opening_hours", "invalid_start", "office_closed":
		return true
	}
	return false
}
