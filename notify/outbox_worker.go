package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/load"
)

// Sender sends one message; *Mailer is the one rathaus uses.
type Sender interface {
	Send(ctx context.Context, msg Message) error
}

// WorkerConfig configures an outbox worker; zero fields take the defaults.
type WorkerConfig struct {
	// Office whose outbox the worker reads.
	Office string
	// Consumer names the worker in the consumer group; unique per process.
	Consumer string
	Sender   Sender
	// Resolver builds the Messages of Ref entries (booking's appointments).
	Resolver Resolver
	Clock    clock.Clock
	Metrics  *Metrics
	Log      *slog.Logger
	// MaxAttempts is how many failed tries move a mail to the dead-letter stream (8).
	MaxAttempts int
	// BaseBackoff is the wait after the first failure, doubled each time (30 s) up to MaxBackoff (1 h).
	BaseBackoff, MaxBackoff time.Duration
	// ClaimIdle is how long an entry stays with a consumer before another
	// takes it over as orphaned (5 min; longer than any send); negative: at once.
	ClaimIdle time.Duration
	// Block is how long a read waits for new entries (2 s); negative: not at all.
	Block time.Duration
	// Batch is how many entries one read takes (16).
	Batch int
	// Pacer, when set, runs each send: while the process is busy answering
	// requests, the sends of all its workers yield (internal/load).
	Pacer *load.Pacer
}

func (c *WorkerConfig) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	set(&c.BaseBackoff, 30*time.Second)
	set(&c.MaxBackoff, time.Hour)
	set(&c.ClaimIdle, 5*time.Minute)
	set(&c.Block, 2*time.Second)
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Worker sends one office's outbox: it reads new entries with XREADGROUP,
// sends each, and acknowledges it; a failed send goes to the retry set with
// exponential backoff and, after MaxAttempts, to the dead-letter stream;
// entries left by a dead worker are taken over with XAUTOCLAIM. An entry is
// removed from the stream only in the same script that records its outcome
// (sent, retry or dead letter), so a message a domain appended is never lost.
type Worker struct {
	cfg     WorkerConfig
	st      *outboxStore
	cursor  string
	grouped bool
	done    chan struct{}
	stop    sync.Once
	cancel  context.CancelFunc
	// progress is when the worker last got on (Unix ns, wall time): started,
	// finished a pass, or handled an entry. A worker stuck in a send or a
	// store call stops moving it (see Progress).
	progress     atomic.Int64
	lastProgress prometheus.Gauge
}

// NewWorker returns a worker for cfg.Office.
func NewWorker(rdb redis.UniversalClient, cfg WorkerConfig) *Worker {
	cfg.defaults()
	m := cfg.Metrics // every series shows from the start, at 0
	for _, c := range []*prometheus.CounterVec{m.Sent, m.Failed, m.Retried, m.DeadLettered, m.Reclaimed, m.Dropped} {
		c.WithLabelValues(cfg.Office)
	}
	m.Backlog.WithLabelValues(cfg.Office)
	return &Worker{cfg: cfg, st: &outboxStore{rdb: rdb, office: cfg.Office}, cursor: "0-0", done: make(chan struct{}),
		lastProgress: m.LastProgress.WithLabelValues(cfg.Office)}
}

// Progress is when the worker last got on: it started, finished a pass
// (an empty one too, every Block at the latest) or handled an entry (sent,
// retried or dead-lettered it). Zero before Start. A worker whose progress is
// older than the longest send and store call is stuck; ClaimIdle later,
// other workers take its entries over.
func (w *Worker) Progress() time.Time {
	if ns := w.progress.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

func (w *Worker) markProgress() {
	now := time.Now() // wall time even under a simulated clock: it measures being stuck
	w.progress.Store(now.UnixNano())
	w.lastProgress.Set(float64(now.UnixNano()) / 1e9)
}

// Start runs the worker in a goroutine counted by wg until Shutdown.
func (w *Worker) Start(wg *sync.WaitGroup) {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	w.markProgress()
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.loop(ctx)
	}()
}

// Shutdown stops the worker; a send in progress is cancelled and its entry
// stays pending for the next start (or another worker) to take over.
func (w *Worker) Shutdown() {
	w.stop.Do(func() {
		close(w.done)
		if w.cancel != nil {
			w.cancel()
		}
	})
}

func (w *Worker) loop(ctx context.Context) {
	pause := 200 * time.Millisecond
	for {
		select {
		case <-w.done:
			return
		default:
		}
		n, err := w.exec(ctx)
		wait := time.Duration(0)
		switch {
		case err != nil && ctx.Err() == nil:
			w.cfg.Log.Warn("notify: outbox pass failed", "office", w.cfg.Office, "err", err)
			wait, pause = pause, min(pause*2, 10*time.Second)
		case err == nil:
			w.markProgress()
			pause = 200 * time.Millisecond
			if n == 0 && w.cfg.Block < 0 {
				wait = time.Second
			}
		}
		if wait > 0 {
			select {
			case <-w.done:
				return
			case <-time.After(wait):
			}
		}
	}
}

// exec does one pass: move due retries back into the stream, take over
// orphaned entries, read new ones and handle all of them. It returns how many
// entries it handled.
func (w *Worker) exec(ctx context.Context) (int, error) {
	now := w.cfg.Clock.Now()
	if !w.grouped {
		if err := w.st.ensureGroup(ctx); err != nil {
			return 0, fmt.Errorf("notify.Worker: %w", err)
		}
		w.grouped = true
	}
	if _, err := w.st.forwardRetries(ctx, now, 100); err != nil {
		return 0, fmt.Errorf("notify.Worker: %w", err)
	}
	claimed, next, err := w.st.reclaim(ctx, w.cfg.Consumer, w.cursor, w.cfg.ClaimIdle, w.cfg.Batch)
	if err != nil {
		w.grouped = !isNoGroup(err)
		return 0, fmt.Errorf("notify.Worker: %w", err)
	}
	w.cursor = next
	w.cfg.Metrics.Reclaimed.WithLabelValues(w.cfg.Office).Add(float64(len(claimed)))
	handled, err := w.handleAll(ctx, claimed, true)
	if err != nil {
		return handled, err
	}
	fresh, err := w.st.read(ctx, w.cfg.Consumer, w.cfg.Batch, w.cfg.Block)
	if err != nil {
		w.grouped = !isNoGroup(err)
		return handled, fmt.Errorf("notify.Worker: %w", err)
	}
	n, err := w.handleAll(ctx, fresh, false)
	handled += n
	if err != nil {
		return handled, err
	}
	if n, err := w.st.backlog(ctx); err == nil {
		w.cfg.Metrics.Backlog.WithLabelValues(w.cfg.Office).Set(float64(n))
	}
	return handled, nil
}

// isNoGroup reports whether err says the stream or its group is missing
// (a fresh or flushed Redis).
func isNoGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOGROUP")
}

// handleAll handles entries in order and returns how many it handled. An
// entry taken over from another worker (takenOver) is first checked to be
// still in the stream: that worker may have finished it meanwhile.
func (w *Worker) handleAll(ctx context.Context, entries []entry, takenOver bool) (int, error) {
	var pre []*Resolved
	if !takenOver {
		var err error
		if pre, err = w.resolveAll(ctx, entries); err != nil {
			return 0, err
		}
	}
	for i, e := range entries {
		if takenOver {
			ok, err := w.st.exists(ctx, e.ID)
			if err != nil {
				return i, fmt.Errorf("notify.Worker: %w", err)
			}
			if !ok {
				w.cfg.Log.Info("notify: finished by the worker it was taken from", "office", w.cfg.Office, "entry", e.ID)
				continue
			}
		}
		var r *Resolved
		if pre != nil {
			r = pre[i]
		}
		if err := w.handle(ctx, e, r); err != nil {
			return i, err
		}
		w.markProgress()
	}
	return len(entries), nil
}

// resolveAll resolves the references among entries in one call when the
// resolver can (BatchResolver); out[i] is nil for an entry it did not
// resolve (not a reference), and out is nil when it cannot.
func (w *Worker) resolveAll(ctx context.Context, entries []entry) ([]*Resolved, error) {
	br, ok := w.cfg.Resolver.(BatchResolver)
	if !ok || len(entries) < 2 {
		return nil, nil
	}
	var refs []Ref
	var at []int
	for i, e := range entries {
		if r, ok := ParseRef(e.Raw); ok {
			refs, at = append(refs, r), append(at, i)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	res, err := br.ResolveAll(ctx, w.cfg.Office, refs)
	if err != nil {
		return nil, fmt.Errorf("notify.Worker: resolving a batch: %w", err)
	}
	if len(res) != len(refs) {
		return nil, fmt.Errorf("notify.Worker: resolving a batch: %d answers for %d references", len(res), len(refs))
	}
	out := make([]*Resolved, len(entries))
	for j, i := range at {
		out[i] = &res[j]
	}
	return out, nil
}

// parseEntry returns an entry's message id and either its reference or its
// message; id is "" when the entry is neither.
func parseEntry(e entry) (id string, ref Ref, msg *Message) {
	if r, ok := ParseRef(e.Raw); ok {
		return r.MessageID(), r, nil
	}
	var m Message
	if err := json.Unmarshal([]byte(e.Raw), &m); err != nil || m.ID == "" {
		return "", Ref{}, nil
	}
	return m.ID, Ref{}, &m
}

// handle sends one entry and records the outcome; pre is the entry's
// reference already resolved (nil: resolve it here). A returned error is a
// store error: the entry stays pending and is taken over later.
func (w *Worker) handle(ctx context.Context, e entry, pre *Resolved) error {
	id, ref, parsed := parseEntry(e)
	if id == "" {
		return w.fail(ctx, e, fmt.Errorf("%w: entry %s is no message JSON", ErrInvalidMessage, e.ID))
	}
	isRef := parsed == nil
	msg := Message{ID: id}
	if parsed != nil {
		msg = *parsed
	}
	if isRef {
		if w.cfg.Resolver == nil {
			return w.fail(ctx, e, ErrNoResolver)
		}
		var m Message
		var ok bool
		if pre != nil {
			m, ok = pre.Msg, pre.OK
		} else {
			var err error
			if m, ok, err = w.cfg.Resolver.Resolve(ctx, w.cfg.Office, ref); err != nil {
				return fmt.Errorf("notify.Worker: resolving %s: %w", msg.ID, err)
			}
		}
		if !ok {
			w.cfg.Metrics.Dropped.WithLabelValues(w.cfg.Office).Inc()
			w.cfg.Log.Info("notify: mail no longer needed, dropping", "office", w.cfg.Office, "id", msg.ID)
			return w.retryStore(func() error { return w.st.ack(context.WithoutCancel(ctx), e) })
		}
		m.ID = msg.ID
		msg = m
	}
	var err error
	if perr := w.cfg.Pacer.Do(ctx, func() { err = w.send(ctx, msg) }); perr != nil {
		return perr // shutting down while yielding: the entry stays pending
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return w.fail(ctx, e, err)
	}
	w.cfg.Metrics.Sent.WithLabelValues(w.cfg.Office).Inc()
	// The mail server has the mail now: acknowledging is retried for a while
	// rather than letting the entry be sent again.
	return w.retryStore(func() error { return w.st.ack(context.WithoutCancel(ctx), e) })
}

// send calls the sender, turning a panic into an error so that one bad
// message cannot stop the worker.
func (w *Worker) send(ctx context.Context, msg Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: panic while sending: %v", ErrInvalidMessage, r)
		}
	}()
	return w.cfg.Sender.Send(ctx, msg)
}

func (w *Worker) retryStore(f func() error) error {
	var err error
	for delay := 100 * time.Millisecond; delay < 10*time.Second; delay *= 2 {
		if err = f(); err == nil {
			return nil
		}
		select {
		case <-w.done:
			return fmt.Errorf("notify.Worker: %w", err)
		case <-time.After(delay):
		}
	}
	return fmt.Errorf("notify.Worker: %w", err)
}

// fail records a failed try: retry after backoff, or dead letter when the
// message is invalid or has failed MaxAttempts times.
func (w *Worker) fail(ctx context.Context, e entry, cause error) error {
	office, now := w.cfg.Office, w.cfg.Clock.Now()
	attempts := e.Attempts + 1
	w.cfg.Metrics.Failed.WithLabelValues(office).Inc()
	if errors.Is(cause, ErrInvalidMessage) || attempts >= w.cfg.MaxAttempts {
		moved, err := w.st.dead(ctx, e, attempts, cause, now)
		if err != nil {
			return fmt.Errorf("notify.Worker: %w", err)
		}
		if moved {
			w.cfg.Metrics.DeadLettered.WithLabelValues(office).Inc()
			w.cfg.Log.Error("notify: mail moved to dead letters", "office", office, "entry", e.ID, "attempts", attempts, "err", cause)
		}
		return nil
	}
	due := now.Add(Backoff(attempts, w.cfg.BaseBackoff, w.cfg.MaxBackoff))
	moved, err := w.st.retry(ctx, e, attempts, due)
	if err != nil {
		return fmt.Errorf("notify.Worker: %w", err)
	}
	if moved {
		w.cfg.Metrics.Retried.WithLabelValues(office).Inc()
		w.cfg.Log.Warn("notify: send failed, will retry", "office", office, "entry", e.ID, "attempts", attempts, "due", due, "err", cause)
	}
	return nil
}

// Backoff is the wait after the n-th failed try (n >= 1): base·2^(n-1), at most max.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
