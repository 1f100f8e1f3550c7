package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

type callData struct {
	Number  string `json:"number"`
	Counter string `json:"counter"`
}

// callVia calls the next ticket on server s and returns the call.
func callVia(t *testing.T, s *testServer, counter string) callData {
	t.Helper()
	resp, body := s.do(t, "POST", "/api/v1/staff/offices/testamt/counters/"+counter+"/call-next", nil, true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("call-next: %d %s", resp.StatusCode, body)
	}
	var r struct{ Ticket callData }
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r.Ticket
}

func displayID(t *testing.T, s *testServer) string {
	t.Helper()
	resp, body := s.do(t, "GET", "/api/v1/offices/testamt/display", nil, false)
	var d Display
	if resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
		t.Fatalf("display: %d %s", resp.StatusCode, body)
	}
	return d.LastEventID
}

// TestTwoInstancesDisplayStream: a display connected to instance A sees, in
// order and complete, the calls made on instance B (one real Redis); after a
// reconnect with Last-Event-ID it misses nothing and gets nothing twice.
func TestTwoInstancesDisplayStream(t *testing.T) {
	srv := redistest.Start(t)
	now := at(t, "2026-10-01 09:00")
	a := newTestServer(t, redistest.OpenURL(t, srv.URL()), now, nil)
	b := newTestServer(t, redistest.OpenURL(t, srv.URL()), now, nil)
	for i := range 40 {
		b.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": []string{"ummeldung", "pass"}[i%2]}, false)
	}
	for _, c := range []string{"1", "2", "3"} {
		b.do(t, "POST", "/api/v1/staff/offices/testamt/counters/"+c+"/open", nil, true)
	}
	display := openSSE(t, a.URL+"/api/v1/offices/testamt/display/stream?last_event_id="+displayID(t, a), "")

	var made []callData
	for i := range 20 {
		made = append(made, callVia(t, b, fmt.Sprint(1+i%3)))
	}
	var lastID string
	for i := range 10 {
		ev := display.nextNamed(t, "called")
		var got callData
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
			t.Fatal(err)
		}
		if got != made[i] {
			t.Fatalf("event %d: %+v, want %+v", i, got, made[i])
		}
		if lastID != "" && !eventAfter(ev.ID, lastID) {
			t.Fatalf("event ids out of order: %s after %s", ev.ID, lastID)
		}
		lastID = ev.ID
	}
	display.Close()

	// while the display is away, more calls happen on B
	for i := 20; i < 30; i++ {
		made = append(made, callVia(t, b, fmt.Sprint(1+i%3)))
	}
	display = openSSE(t, a.URL+"/api/v1/offices/testamt/display/stream", lastID)
	for i := 10; i < 30; i++ {
		ev := display.nextNamed(t, "called")
		var got callData
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
			t.Fatal(err)
		}
		if got != made[i] {
			t.Fatalf("after reconnect, event %d: %+v, want %+v", i, got, made[i])
		}
		if !eventAfter(ev.ID, lastID) {
			t.Fatalf("event ids out of order: %s after %s", ev.ID, lastID)
		}
		lastID = ev.ID
	}
	// and live again, including recalls, which a display also shows as "called"
	made = append(made, callVia(t, b, "1"))
	b.do(t, "POST", "/api/v1/staff/offices/testamt/tickets/"+made[30].Number+"/recall", nil, true)
	for i := range 2 {
		ev := display.nextNamed(t, "called")
		var got callData
		_ = json.Unmarshal([]byte(ev.Data), &got)
		if got != made[30] {
			t.Fatalf("live event %d: %+v, want %+v", i, got, made[30])
		}
	}
}

// countingSource counts how often the hub asks the store to start a reader.
type countingSource struct {
	eventSource
	mu     sync.Mutex
	starts map[string]int
}

func (c *countingSource) lastEventID(ctx context.Context, office string) (string, error) {
	c.mu.Lock()
	c.starts[office]++
	c.mu.Unlock()
	return c.eventSource.lastEventID(ctx, office)
}

// TestHubOneReaderPerOffice: 1,000 subscribers of one office share one
// reader, and each of them receives every event in order.
func TestHubOneReaderPerOffice(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, at(t, "2026-10-01 09:00"), nil)
		src := &countingSource{eventSource: f.svc.st, starts: map[string]int{}}
		hub := newHub(src, f.svc.log)
		defer hub.Close()
		subs := make([]*Subscription, 1000)
		for i := range subs {
			subs[i] = must[*Subscription](t)(hub.Subscribe(ctx, "testamt"))
		}
		var want []string
		for range 5 {
			iss := must[*Issued](t)(f.svc.Draw(ctx, "testamt", "pass"))
			want = append(want, iss.Ticket.Number)
		}
		for i, s := range subs {
			for _, num := range want {
				ev := <-s.C
				var d callData
				_ = json.Unmarshal([]byte(ev.Data), &d)
				if ev.Type != "issued" || d.Number != num {
					t.Fatalf("subscriber %d got %s %s, want issued %s", i, ev.Type, ev.Data, num)
				}
			}
		}
		if src.starts["testamt"] != 1 || hub.Subscribers("testamt") != 1000 {
			t.Fatalf("%d readers started for %d subscribers, want 1", src.starts["testamt"], hub.Subscribers("testamt"))
		}
	})
}

// TestTicketStream: the citizen's live status follows the queue until served.
func TestTicketStream(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), nil)
		s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		_, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		var iss Issued
		_ = json.Unmarshal(body, &iss)
		stream := openSSE(t, s.URL+"/api/v1/tickets/"+iss.Token+"/stream", "")
		status := func() TicketView {
			t.Helper()
			var v struct{ Ticket TicketView }
			ev := stream.nextNamed(t, "status")
			if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
				t.Fatal(err)
			}
			return v.Ticket
		}
		if v := status(); v.Position != 2 || v.Status != StatusWaiting {
			t.Fatalf("first status %+v", v)
		}
		s.do(t, "POST", "/api/v1/staff/offices/testamt/counters/1/open", nil, true)
		callVia(t, s, "1") // A001
		if v := status(); v.Position != 1 {
			t.Fatalf("after the first call: %+v", v)
		}
		callVia(t, s, "1") // A002: ours
		if v := status(); v.Status != StatusCalled || v.Counter != "1" {
			t.Fatalf("after our call: %+v", v)
		}
		s.do(t, "POST", "/api/v1/staff/offices/testamt/tickets/A002/finish", nil, true)
		if v := status(); v.Status != StatusFinished {
			t.Fatalf("after finish: %+v", v)
		}
		if _, err := stream.next(); err == nil {
			t.Fatal("stream goes on after the ticket was finished")
		}
	})
}

// TestDisplayStreamHeartbeatAndReset: heartbeats arrive as comment lines, and
// a Last-Event-ID older than the trimmed stream gets a "reset" first.
func TestDisplayStreamHeartbeatAndReset(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), func(c *Config) { c.Options.Heartbeat = 20 * time.Millisecond })
		s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "pass"}, false)
		c := openSSE(t, s.URL+"/api/v1/offices/testamt/display/stream", "1-0")
		ev, err := c.next()
		if err != nil || ev.Name != "reset" {
			t.Fatalf("first event %+v %v, want reset", ev, err)
		}
		if ev := c.nextNamed(t, "issued"); ev.ID == "" {
			t.Fatal("replayed event without id")
		}
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == ": heartbeat\n" {
				break
			}
		}
		// resuming from the snapshot's id (still in the stream) needs no reset
		c2 := openSSE(t, s.URL+"/api/v1/offices/testamt/display/stream", displayID(t, s))
		s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "pass"}, false)
		if ev, err := c2.next(); err != nil || ev.Name != "issued" {
			t.Fatalf("got %+v %v, want the new issued event and no reset", ev, err)
		}
	})
}

// TestDisplayFrame: the frame the hub encodes once per event is the SSE
// event a display receives; a recall is shown as a call.
func TestDisplayFrame(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		{Event{ID: "1-2", Type: "called", Data: `{"number":"A001","counter":"3"}`},
			"id: 1-2\nevent: called\ndata: {\"number\":\"A001\",\"counter\":\"3\"}\n\n"},
		{Event{ID: "5-0", Type: "recalled", Data: `{"number":"A001","counter":"3"}`},
			"id: 5-0\nevent: called\ndata: {\"number\":\"A001\",\"counter\":\"3\"}\n\n"},
		{Event{ID: "7-1", Type: "issued", Data: `{}`}, "id: 7-1\nevent: issued\ndata: {}\n\n"},
	} {
		if got := string(displayFrame(&tc.ev)); got != tc.want {
			t.Errorf("displayFrame(%+v) = %q, want %q", tc.ev, got, tc.want)
		}
	}
}

// TestDisplayStreamEndsWithClient: a display that goes away ends its
// stream and leaves the hub, although nothing is written to it.
func TestDisplayStreamEndsWithClient(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), nil)
		c := openSSE(t, s.URL+"/api/v1/offices/testamt/display/stream", "")
		for s.svc.Hub().Subscribers("testamt") != 1 {
			time.Sleep(5 * time.Millisecond) // waiting for the subscription, not an assertion
		}
		c.Close()
		for s.svc.Hub().Subscribers("testamt") != 0 {
			time.Sleep(5 * time.Millisecond) // ends when the server notices; the test's timeout bounds it
		}
	})
}
