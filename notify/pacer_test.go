package notify

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/load"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// busyPacer is a pacer whose process looks busy from the start: its clock
// moves only by advance (a send taking its time) and by its pauses, and
// every millisecond it moves counts 100 requests (100,000 a second). stop,
// once set, makes its pauses end as a shutdown would.
func busyPacer() (p *load.Pacer, advance func(time.Duration), pauses func() []time.Duration, stop *atomic.Bool) {
	meter := &load.Meter{}
	clk := clock.NewSimulated(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var slept []time.Duration
	stop = &atomic.Bool{}
	advance = func(d time.Duration) {
		clk.Advance(d)
		for range d / time.Millisecond * 100 {
			meter.Add()
		}
	}
	p = &load.Pacer{Meter: meter, Now: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if stop.Load() {
				return context.Canceled
			}
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			advance(d)
			return nil
		}}
	p.Busy() // starts measuring
	advance(100 * time.Millisecond)
	if !p.Busy() {
		panic("busyPacer is not busy")
	}
	return p, advance, func() []time.Duration { mu.Lock(); defer mu.Unlock(); return slices.Clone(slept) }, stop
}

// slowly delivers through tr after moving the pacer's clock by 10 ms.
func slowly(tr Transport, advance func(time.Duration)) Transport {
	return transportFunc(func(ctx context.Context, id string, m *gomail.Msg) error {
		advance(10 * time.Millisecond)
		return tr.Deliver(ctx, id, m)
	})
}

// TestWorker_YieldsWhileBusy: while requests arrive at a rush's rate the
// worker pauses between mails and still sends each exactly once; a worker
// shut down during such a pause leaves its entry for the next one, which
// sends it.
func TestWorker_YieldsWhileBusy(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		start := time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)
		enqueue(t, st.Client, testMessage("a", KindConfirmation, 0, start), testMessage("b", KindConfirmation, 0, start),
			testMessage("c", KindConfirmation, 0, start))
		pacer, advance, pauses, _ := busyPacer()
		w := newTestWorker(t, st.Client, slowly(smtpTransport(t, srv), advance), clock.NewSimulated(start), "w1")
		w.cfg.Pacer = pacer
		if n := mustExec(t, w); n != 3 {
			t.Fatalf("handled %d, want 3", n)
		}
		want := []string{"<a@rathaus.example>", "<b@rathaus.example>", "<c@rathaus.example>"}
		if ids := messageIDs(t, srv); !slices.Equal(ids, want) {
			t.Fatalf("received %v, want %v", ids, want)
		}
		if p := pauses(); !slices.Equal(p, []time.Duration{30 * time.Millisecond, 30 * time.Millisecond}) {
			t.Fatalf("pauses %v: want 30 ms (3 × the 10 ms a send took) before each mail after the first", p)
		}
		assertEmpty(t, st.Client)

		enqueue(t, st.Client, testMessage("d", KindConfirmation, 0, start), testMessage("e", KindConfirmation, 0, start))
		pacer2, advance2, _, stop2 := busyPacer()
		w.cfg.Pacer = pacer2
		var sent atomic.Int32
		mailer, err := NewMailer(testFrom, slowly(smtpTransport(t, srv), advance2))
		if err != nil {
			t.Fatal(err)
		}
		w.cfg.Sender = senderFunc(func(ctx context.Context, m Message) error {
			sent.Add(1)
			stop2.Store(true) // shut down during the pause after this mail
			return mailer.Send(ctx, m)
		})
		if _, err := w.exec(context.Background()); err == nil {
			t.Fatal("exec ended without the shutdown's error")
		}
		if sent.Load() != 1 {
			t.Fatalf("sent %d before the shutdown, want 1", sent.Load())
		}
		w2 := newTestWorker(t, st.Client, smtpTransport(t, srv), clock.NewSimulated(start), "w2")
		w2.cfg.ClaimIdle = -1
		mustExec(t, w2)
		want = append(want, "<d@rathaus.example>", "<e@rathaus.example>")
		if ids := messageIDs(t, srv); !slices.Equal(ids, want) {
			t.Fatalf("received %v, want %v", ids, want)
		}
		assertEmpty(t, st.Client)
	})
}

type senderFunc func(ctx context.Context, m Message) error

func (f senderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }
