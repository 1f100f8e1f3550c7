package queue

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/redistest"
)

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// report adds p50 and p99 (in µs) to the benchmark's output.
func (l *latencies) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	at := func(p float64) float64 {
		return float64(l.d[min(int(p*float64(len(l.d))), len(l.d)-1)].Microseconds())
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// runConcurrently runs op b.N times in total on workers goroutines, timing each call.
func runConcurrently(b *testing.B, workers int, op func(worker int) error) *latencies {
	var lat latencies
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				if err := op(w); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(start))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	return &lat
}

// BenchmarkCallNext compares call-next at 10 concurrent counters with a
// plain Redis GET at the same concurrency, on the same real redis-server.
func BenchmarkCallNext(b *testing.B) {
	srv := redistest.Start(b)
	st := redistest.OpenURL(b, srv.URL())
	ctx := context.Background()
	b.Run("baseline-redis-GET", func(b *testing.B) {
		st.Client.Set(ctx, "bench:key", "value", 0)
		lat := runConcurrently(b, 10, func(int) error { return st.Client.Get(ctx, "bench:key").Err() })
		lat.report(b)
	})
	b.Run("call-next-10-counters", func(b *testing.B) {
		f := newFixture(b, st, at(b, "2026-10-01 09:00"), nil)
		f.office.Services[2].DailyTicketQuota = 0
		b.StopTimer()
		for i := range b.N {
			if _, err := f.svc.Draw(ctx, "testamt", f.office.Services[i%3].ID); err != nil {
				b.Fatal(err)
			}
		}
		for i := 1; i <= 10; i++ {
			f.office.Counters = append(f.office.Counters, fmt.Sprint(100+i))
			if _, err := f.svc.OpenCounter(ctx, "testamt", fmt.Sprint(100+i), nil, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		lat := runConcurrently(b, 10, func(w int) error {
			_, ok, err := f.svc.CallNext(ctx, "testamt", fmt.Sprint(101+w), "bench")
			if err == nil && !ok {
				err = fmt.Errorf("nobody waited")
			}
			return err
		})
		lat.report(b)
	})
}

// BenchmarkCallNextHTTP compares POST call-next through gin (with auth) at
// 10 concurrent counters with a plain gin handler answering JSON.
func BenchmarkCallNextHTTP(b *testing.B) {
	srv := redistest.Start(b)
	now := at(b, "2026-10-01 09:00")
	b.Run("baseline-plain-gin", func(b *testing.B) {
		gin.SetMode(gin.TestMode)
		r := gin.New()
		r.POST("/plain", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
		ts := newHTTPServer(b, r)
		lat := runConcurrently(b, 10, func(int) error { return post(ts + "/plain") })
		lat.report(b)
	})
	b.Run("call-next-10-counters", func(b *testing.B) {
		s := newTestServer(b, redistest.OpenURL(b, srv.URL()), now, nil)
		ctx := context.Background()
		s.office.Services[2].DailyTicketQuota = 0
		b.StopTimer()
		for i := range b.N {
			if _, err := s.svc.Draw(ctx, "testamt", s.office.Services[i%3].ID); err != nil {
				b.Fatal(err)
			}
		}
		for i := 1; i <= 10; i++ {
			s.office.Counters = append(s.office.Counters, fmt.Sprint(100+i))
			if _, err := s.svc.OpenCounter(ctx, "testamt", fmt.Sprint(100+i), nil, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		lat := runConcurrently(b, 10, func(w int) error {
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/staff/offices/testamt/counters/%d/call-next", s.URL, 101+w), nil)
			req.Header.Set("Authorization", "Bearer "+s.staff)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
		lat.report(b)
	})
}

// BenchmarkDisplayFanout1000 measures the delivery latency from a call to
// 1,000 connected display streams (one SSE connection each) of one process.
func BenchmarkDisplayFanout1000(b *testing.B) {
	const clients = 1000
	srv := redistest.Start(b)
	s := newTestServer(b, redistest.OpenURL(b, srv.URL()), at(b, "2026-10-01 09:00"), nil)
	ctx := context.Background()
	if _, err := s.svc.OpenCounter(ctx, "testamt", "1", nil, "bench"); err != nil {
		b.Fatal(err)
	}
	for range b.N { // drawn before the displays connect, so only calls reach them
		if _, err := s.svc.Draw(ctx, "testamt", "ummeldung"); err != nil {
			b.Fatal(err)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	got := make(chan time.Time, clients)
	for range clients {
		c := openSSEWith(b, tr, s.URL+"/api/v1/offices/testamt/display/stream")
		go func() {
			for {
				ev, err := c.next()
				if err != nil {
					return
				}
				if ev.Name == "called" {
					got <- time.Now()
				}
			}
		}()
	}
	for s.svc.Hub().Subscribers("testamt") < clients {
		time.Sleep(10 * time.Millisecond) // wait for the connections, not an assertion
	}
	var lat latencies
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, _, err := s.svc.CallNext(ctx, "testamt", "1", "bench"); err != nil {
			b.Fatal(err)
		}
		for range clients {
			lat.add((<-got).Sub(start))
		}
	}
	b.StopTimer()
	lat.report(b)
}
