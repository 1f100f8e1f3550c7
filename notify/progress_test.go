package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestWorkerProgress: a running worker's progress moves on with every idle
// pass, stands still while a send hangs, and moves on once the send returns;
// the metric says the same.
func TestWorkerProgress(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		release, sending := make(chan struct{}), make(chan struct{}, 1)
		snd := senderFunc(func(ctx context.Context, msg Message) error {
			sending <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		m := NewMetrics(prometheus.NewRegistry())
		w := NewWorker(st.Client, WorkerConfig{Office: "geesthacht", Consumer: "p1", Sender: snd, Metrics: m,
			Log: quietLog, Block: 20 * time.Millisecond})
		if !w.Progress().IsZero() {
			t.Fatal("progress before the start")
		}
		var wg sync.WaitGroup
		w.Start(&wg)
		released := false
		defer func() {
			w.Shutdown()
			if !released {
				close(release)
			}
			wg.Wait()
		}()
		p0 := w.Progress()
		if p0.IsZero() {
			t.Fatal("no progress at the start")
		}
		if !waitUntil(5*time.Second, func() bool { return w.Progress().After(p0) }) {
			t.Fatal("idle passes did not move the progress on")
		}

		enqueue(t, st.Client, testMessage("m-hang", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		<-sending
		p1 := w.Progress()
		time.Sleep(300 * time.Millisecond) // fifteen idle passes' time
		if p := w.Progress(); !p.Equal(p1) {
			t.Fatalf("progress moved on (%s → %s) while the send hung", p1, p)
		}
		var g dto.Metric
		if err := m.LastProgress.WithLabelValues("geesthacht").Write(&g); err != nil {
			t.Fatal(err)
		}
		if got, want := g.GetGauge().GetValue(), float64(p1.UnixNano())/1e9; got != want {
			t.Errorf("metric %f, want %f", got, want)
		}
		close(release)
		released = true
		if !waitUntil(5*time.Second, func() bool { return w.Progress().After(p1) }) {
			t.Fatal("progress did not move on after the send returned")
		}
	})
}

func waitUntil(d time.Duration, f func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if f() {
			return true
		}
	}
	return f()
}
