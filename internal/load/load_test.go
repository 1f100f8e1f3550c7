package load

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rathaus/rathaus/internal/clock"
)

// fakeClock is the pacer's clock: a simulated clock whose Sleep advances it
// and records the pause; onTick runs whenever it moves.
type fakeClock struct {
	*clock.Simulated
	mu     sync.Mutex
	slept  []time.Duration
	onTick func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{Simulated: clock.NewSimulated(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))}
}

func (c *fakeClock) advance(d time.Duration) {
	c.Advance(d)
	if c.onTick != nil {
		c.onTick()
	}
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	c.advance(d)
	return nil
}

func (c *fakeClock) pauses() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func newPacer(clk *fakeClock) (*Pacer, *Meter) {
	m := &Meter{}
	return &Pacer{Meter: m, Now: clk.Now, Sleep: clk.Sleep}, m
}

// busyPacer returns a pacer on clk that is busy from the start: every move
// of the clock looks like a flood of requests.
func busyPacer(t *testing.T, clk *fakeClock) *Pacer {
	t.Helper()
	p, m := newPacer(clk)
	p.Busy()
	keepBusy(clk, m)
	clk.advance(100 * time.Millisecond)
	if !p.Busy() {
		t.Fatal("not busy")
	}
	return p
}

// keepBusy makes every move of the clock look like a flood of requests.
func keepBusy(clk *fakeClock, m *Meter) {
	clk.onTick = func() {
		for range 10000 {
			m.Add()
		}
	}
}

func TestBusyMeasuresTheRate(t *testing.T) {
	clk := newFakeClock()
	p, m := newPacer(clk)
	if p.Busy() {
		t.Fatal("busy before anything was measured")
	}
	for range 9 { // 9 requests in 100 ms: 90 a second, below 100
		m.Add()
	}
	clk.advance(100 * time.Millisecond)
	if p.Busy() {
		t.Fatal("busy at 90 requests a second")
	}
	for range 10 { // 100 a second
		m.Add()
	}
	clk.advance(100 * time.Millisecond)
	if !p.Busy() {
		t.Fatal("not busy at 100 requests a second")
	}
	clk.advance(50 * time.Millisecond) // within the window the verdict stands
	if !p.Busy() {
		t.Fatal("verdict changed within the window")
	}
	clk.advance(time.Second) // quiet second: 0 requests
	if p.Busy() {
		t.Fatal("still busy after a quiet second")
	}
	var nilPacer *Pacer
	if nilPacer.Busy() {
		t.Fatal("a nil pacer is busy")
	}
}

// TestDoWhenQuiet: without load, work runs at once and side by side.
func TestDoWhenQuiet(t *testing.T) {
	clk := newFakeClock()
	p, _ := newPacer(clk)
	var inside sync.WaitGroup
	inside.Add(2)
	both := make(chan struct{})
	go func() { inside.Wait(); close(both) }()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.Do(context.Background(), func() {
				inside.Done()
				select { // waits for the other one: fails if the two were serialised
				case <-both:
				case <-time.After(10 * time.Second):
					t.Error("work was serialised while quiet")
				}
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := clk.pauses(); len(got) != 0 {
		t.Fatalf("paused %v while quiet", got)
	}
	var nilPacer *Pacer
	ran := false
	if err := nilPacer.Do(context.Background(), func() { ran = true }); err != nil || !ran {
		t.Fatalf("nil pacer: ran %v, err %v", ran, err)
	}
}

// TestDoWhenBusy: under load every piece pauses three times as long as its
// predecessor took (a share of 1/4), at most MaxPause, and pieces of
// several callers never overlap.
func TestDoWhenBusy(t *testing.T) {
	clk := newFakeClock()
	p := busyPacer(t, clk)
	paused := prometheus.NewCounter(prometheus.CounterOpts{Name: "paused"})
	p.Paused = paused
	for _, took := range []time.Duration{10 * time.Millisecond, time.Second, 2 * time.Millisecond, 0} {
		if err := p.Do(context.Background(), func() { clk.advance(took) }); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{30 * time.Millisecond, 100 * time.Millisecond, 6 * time.Millisecond}
	got := clk.pauses()
	if len(got) != len(want) {
		t.Fatalf("pauses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pauses %v, want %v", got, want)
		}
	}
	var d dto.Metric
	if err := paused.Write(&d); err != nil {
		t.Fatal(err)
	}
	if s := d.Counter.GetValue(); s < 0.135 || s > 0.137 {
		t.Fatalf("paused counter %.4f s, want 0.136", s)
	}

	var in, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Do(context.Background(), func() {
				n := in.Add(1)
				for {
					old := most.Load()
					if n <= old || most.CompareAndSwap(old, n) {
						break
					}
				}
				time.Sleep(time.Millisecond) // real time, so that overlaps could happen
				in.Add(-1)
			})
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d pieces ran at once while busy", most.Load())
	}
}

// TestDoCancelledWhileYielding: a caller shutting down during a pause gets
// ctx's error and its work does not run.
func TestDoCancelledWhileYielding(t *testing.T) {
	clk := newFakeClock()
	p := busyPacer(t, clk)
	if err := p.Do(context.Background(), func() { clk.advance(10 * time.Millisecond) }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := p.Do(ctx, func() { ran = true }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
}

// TestShareOne: a share of 1 never pauses.
func TestShareOne(t *testing.T) {
	clk := newFakeClock()
	p := busyPacer(t, clk)
	p.Share = 1
	for range 3 {
		if err := p.Do(context.Background(), func() { clk.advance(10 * time.Millisecond) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.pauses(); len(got) != 0 {
		t.Fatalf("paused %v with share 1", got)
	}
}

func TestMeterMiddleware(t *testing.T) {
	gin.SetMode(gin.TestMode)
	m := &Meter{}
	r := gin.New()
	r.Use(m.Middleware())
	r.GET("/x", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	for range 3 {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	}
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/missing", nil))
	if m.Count() != 4 {
		t.Fatalf("counted %d requests, want 4", m.Count())
	}
}

// TestDoCancelledWhileWaitingForTheTurn: while another piece runs, a caller
// shutting down returns at once with ctx's error and its work does not run.
func TestDoCancelledWhileWaitingForTheTurn(t *testing.T) {
	clk := newFakeClock()
	p := busyPacer(t, clk)
	inside, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = p.Do(context.Background(), func() { close(inside); <-release })
	}()
	<-inside
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ran := atomic.Bool{}
	go func() { done <- p.Do(ctx, func() { ran.Store(true) }) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || ran.Load() {
			t.Fatalf("err %v, ran %v", err, ran.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled caller still waits for its turn")
	}
	close(release)
}
