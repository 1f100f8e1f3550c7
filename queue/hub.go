package queue

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
)

// Hub fans the office event streams out to this process's subscribers (SSE
// clients). Each office has at most one reader per process: one blocking
// XREAD loop, started on the first subscription, however many displays
// listen. A subscriber that cannot keep up is dropped (its channel closed);
// it reconnects with Last-Event-ID and misses nothing.
type Hub struct {
	src   eventSource
	log   *slog.Logger
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex
	feeds map[string]*feed
	// block is how long one XREAD waits: go-redis does not interrupt a blocking
	// read when its context ends, so it bounds how long Close takes.
	block time.Duration
}

// feed is one office's reader and its subscribers.
type feed struct {
	mu    sync.Mutex
	subs  map[*Subscription]struct{}
	ready chan struct{} // closed once the reader knows where it starts
}

// Subscription receives an office's events from the moment it was made.
type Subscription struct {
	// C delivers the events in stream order; it is closed when the
	// subscriber fell behind or the hub stopped. Every subscriber receives
	// the same *Event: it must not be changed.
	C    chan *Event
	feed *feed
	once sync.Once
}

// subscriberBuffer is how many events a slow subscriber may lag behind before it is dropped.
const subscriberBuffer = 256

// newHub returns a hub reading through src; Close stops its readers.
func newHub(src eventSource, log *slog.Logger) *Hub {
	ctx, stop := context.WithCancel(context.Background())
	return &Hub{src: src, log: log, ctx: ctx, stop: stop, feeds: map[string]*feed{}, block: time.Second}
}

// Close stops every reader and closes every subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	h.stop()
	h.mu.Unlock()
	h.wg.Wait()
}

// errHubClosed is returned by Subscribe after Close (the server is stopping).
var errHubClosed = apperr.Unavailable(errors.New("queue: event hub closed"))

// Subscribe returns a subscription to office's events. It returns once the
// office's reader has fixed its starting point, so that every event appended
// after Subscribe returns is delivered.
func (h *Hub) Subscribe(ctx context.Context, office string) (*Subscription, error) {
	h.mu.Lock()
	if h.ctx.Err() != nil {
		h.mu.Unlock()
		return nil, errHubClosed
	}
	f, ok := h.feeds[office]
	if !ok {
		f = &feed{subs: map[*Subscription]struct{}{}, ready: make(chan struct{})}
		h.feeds[office] = f
		h.wg.Add(1)
		go h.read(office, f)
	}
	h.mu.Unlock()
	sub := &Subscription{C: make(chan *Event, subscriberBuffer), feed: f}
	f.mu.Lock()
	f.subs[sub] = struct{}{}
	f.mu.Unlock()
	select {
	case <-f.ready:
		return sub, nil
	case <-ctx.Done():
		sub.Close()
		return nil, ctx.Err()
	case <-h.ctx.Done():
		sub.Close()
		return nil, h.ctx.Err()
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.feed.subs, s)
		close(s.C)
	})
}

// Subscribers returns how many subscribers office has in this process.
func (h *Hub) Subscribers(office string) int {
	h.mu.Lock()
	f := h.feeds[office]
	h.mu.Unlock()
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// read is the office's one reader: it starts after the newest event and
// follows the stream, retrying with backoff while the store is away; it
// always continues from the last id it delivered, so nothing is skipped.
func (h *Hub) read(office string, f *feed) {
	defer h.wg.Done()
	defer h.closeAll(f)
	var last string
	for delay := 100 * time.Millisecond; last == ""; delay = min(2*delay, 5*time.Second) {
		id, err := h.src.lastEventID(h.ctx, office)
		if err == nil {
			last = id
			break
		}
		if !h.sleep(delay) {
			return
		}
	}
	close(f.ready)
	delay := 100 * time.Millisecond
	for h.ctx.Err() == nil {
		evs, err := h.src.readEvents(h.ctx, office, last, h.block)
		if err != nil {
			if h.ctx.Err() != nil {
				return
			}
			h.log.Warn("queue: reading the event stream failed; retrying", "office", office, "err", err)
			if !h.sleep(delay) {
				return
			}
			delay = min(2*delay, 5*time.Second)
			continue
		}
		delay = 100 * time.Millisecond
		for i := range evs {
			ev := &evs[i]
			last = ev.ID
			ev.frame = displayFrame(ev) // encoded once here, written as is to every display
			f.broadcast(ev)
		}
	}
}

func (f *feed) broadcast(ev *Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.C <- ev:
		default:
			s.closeLocked() // fell behind: it resumes with Last-Event-ID
		}
	}
}

func (h *Hub) closeAll(f *feed) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.closeLocked()
	}
}

func (h *Hub) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// parseEventID parses a stream id "ms-seq"; ok is false for anything else.
func parseEventID(id string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

// eventAfter reports whether stream id a comes after b.
func eventAfter(a, b string) bool {
	am, as, _ := parseEventID(a)
	bm, bs, _ := parseEventID(b)
	return am > bm || am == bm && as > bs
}
