package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// countHook counts the commands named name that the client sends, alone or
// in a pipeline.
type countHook struct {
	name string
	n    atomic.Int64
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			h.count(c)
		}
		return next(ctx, cmds)
	}
}

func (h *countHook) count(c redis.Cmder) {
	if strings.EqualFold(c.Name(), h.name) {
		h.n.Add(1)
	}
}

// TestTicketStreamsShareOfficeState: when a call moves ten waiting tickets up,
// their ten open pages each get the new position, but the office's estimate
// inputs (the counters and service times hashes) are read about once, not
// once per page.
func TestTicketStreamsShareOfficeState(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), nil)
		s.do(t, "POST", "/api/v1/staff/offices/testamt/counters/1/open", nil, true)
		const pages = 10
		streams := make([]*sseClient, pages)
		status := func(i int) TicketView {
			t.Helper()
			var v struct{ Ticket TicketView }
			if err := json.Unmarshal([]byte(streams[i].nextNamed(t, "status").Data), &v); err != nil {
				t.Fatal(err)
			}
			return v.Ticket
		}
		for i := range streams {
			_, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
			var iss Issued
			if err := json.Unmarshal(body, &iss); err != nil || iss.Token == "" {
				t.Fatalf("ticket: %s", body)
			}
			streams[i] = openSSE(t, s.URL+"/api/v1/tickets/"+iss.Token+"/stream", "")
		}
		// Every page has its first status once the last ticket was drawn:
		// page i is at i+1 — possibly after a few statuses while tickets
		// behind it were drawn, which do not move it.
		for i := range streams {
			if v := status(i); v.Position != i+1 {
				t.Fatalf("page %d starts at %+v", i, v)
			}
		}
		// The pages may still be reading for the tickets drawn after theirs
		// (which do not move them, so they send nothing): count from when no
		// HGETALL has been sent for 300 ms.
		reads := &countHook{name: "hgetall"}
		st.Client.AddHook(reads)
		for prev := int64(-1); reads.n.Load() != prev; {
			prev = reads.n.Load()
			time.Sleep(300 * time.Millisecond)
		}
		reads.n.Store(0)
		callVia(t, s, "1") // A001: page 0 is called, every other page moves up one
		if v := status(0); v.Status != StatusCalled {
			t.Fatalf("page 0 after the call: %+v", v)
		}
		for i := 1; i < pages; i++ {
			if v := status(i); v.Status != StatusWaiting || v.Position != i {
				t.Fatalf("page %d after the call: %+v, want position %d", i, v, i)
			}
		}
		// One read is two HGETALLs. Allow a second read (a page can see an
		// event the others saw earlier, after their read finished); one read
		// per page would be 9 × 2.
		if n := reads.n.Load(); n > 2*2 {
			t.Fatalf("%d HGETALLs for one call seen by %d waiting pages: the office's estimate inputs were not shared", n, pages-1)
		}
	})
}

func TestSharedStates(t *testing.T) {
	const sc = "testamt"
	st1 := &queueState{LastEventID: "1"}
	t.Run("concurrent callers of one event share one read", func(t *testing.T) {
		c := newSharedStates()
		var loads atomic.Int32
		inFlight, release := make(chan struct{}), make(chan struct{})
		load := func(context.Context) (*queueState, error) {
			loads.Add(1)
			close(inFlight)
			<-release
			return st1, nil
		}
		var wg sync.WaitGroup
		got := make([]*queueState, 8)
		wg.Go(func() { got[0], _ = c.get(t.Context(), sc, "100-0", load) })
		<-inFlight // the first caller's read is running; the others arrive during it
		for i := 1; i < len(got); i++ {
			wg.Go(func() { got[i], _ = c.get(t.Context(), sc, "100-0", load) })
		}
		time.Sleep(20 * time.Millisecond) // let them reach the wait (a late one would still share: the read is not over)
		close(release)
		wg.Wait()
		if loads.Load() != 1 {
			t.Fatalf("%d reads, want 1", loads.Load())
		}
		for _, g := range got {
			if g != st1 {
				t.Fatal("a caller did not get the shared state")
			}
		}
	})
	t.Run("a newer event reads again, an older one takes the newer read", func(t *testing.T) {
		c := newSharedStates()
		var loads atomic.Int32
		load := func(context.Context) (*queueState, error) {
			loads.Add(1)
			return &queueState{}, nil
		}
		c.get(t.Context(), sc, "100-0", load)
		c.get(t.Context(), sc, "100-0", load)
		c.get(t.Context(), sc, "99-5", load)
		if loads.Load() != 1 {
			t.Fatalf("%d reads for the same and an older event, want 1", loads.Load())
		}
		c.get(t.Context(), sc, "100-1", load)
		if loads.Load() != 2 {
			t.Fatalf("%d reads after a newer event, want 2", loads.Load())
		}
		c.get(t.Context(), "other", "100-1", load)
		if loads.Load() != 3 {
			t.Fatalf("%d reads after another office's event, want 3", loads.Load())
		}
	})
	t.Run("a failed read is not handed on", func(t *testing.T) {
		c := newSharedStates()
		boom := errors.New("boom")
		if _, err := c.get(t.Context(), sc, "100-0", func(context.Context) (*queueState, error) { return nil, boom }); err != boom {
			t.Fatalf("err %v", err)
		}
		got, err := c.get(t.Context(), sc, "100-0", func(context.Context) (*queueState, error) { return st1, nil })
		if err != nil || got != st1 {
			t.Fatalf("after a failed read: %v %v", got, err)
		}
	})
	t.Run("the read outlives the caller that started it; a waiter can give up", func(t *testing.T) {
		c := newSharedStates()
		inFlight, release := make(chan struct{}), make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := c.get(ctx, sc, "100-0", func(lctx context.Context) (*queueState, error) {
				close(inFlight)
				<-release
				return st1, lctx.Err()
			})
			done <- err
		}()
		<-inFlight
		wctx, wcancel := context.WithCancel(t.Context())
		wcancel()
		if _, err := c.get(wctx, sc, "100-0", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("a waiter that gave up: %v", err)
		}
		cancel() // the starter's request ends; its read goes on for the others
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("the read failed with its caller's context: %v", err)
		}
	})
}

// TestCounterCache: a counter is decoded again when its JSON changed, and
// counters of two offices with the same id are kept apart.
func TestCounterCache(t *testing.T) {
	var cc counterCache
	open := `{"id":"1","open":true,"services":["a"]}`
	closed := `{"id":"1","open":false,"services":["a"]}`
	for _, tc := range []struct {
		office, raw string
		open        bool
	}{{"x", open, true}, {"x", open, true}, {"x", closed, false}, {"y", open, true}, {"x", closed, false}, {"x", open, true}} {
		c, err := cc.decode(tc.office, "1", tc.raw)
		if err != nil || c.Open != tc.open || c.ID != "1" {
			t.Fatalf("decode(%s, %s) = %+v, %v", tc.office, tc.raw, c, err)
		}
	}
	if _, err := cc.decode("x", "1", "{broken"); err == nil {
		t.Fatal("broken JSON decoded")
	}
	if len(cc.m) != 2 {
		t.Fatalf("%d entries for two counters", len(cc.m))
	}
}
