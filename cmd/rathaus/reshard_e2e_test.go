package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// answer is one booking request of the reshard test.
type answer struct {
	code       int
	retryAfter string
	start      string
	token      string
	sent, got  time.Time
}

// TestClusterReshardDuringBookings grows a 3-master cluster by a fourth
// master and moves the demo office's slot (every key of an office carries its
// hash tag, so an office is one slot) to it while citizens book and read
// availability, key by key as redis-cli --cluster reshard does. While the
// slot moves, a script cannot run (its keys are on two nodes, or it names
// keys that exist on neither) — bookings, and availability, which is read by
// a script for one consistent view: the server must answer 503 with
// Retry-After, never 500, and heal by itself once the new owner serves the
// slot. Every booking answered 201
// must be there afterwards, no start may hold more bookings than seats, every
// confirmation must go out, and a display connected before the move must
// show a call made after it.
func TestClusterReshardDuringBookings(t *testing.T) {
	c := redistest.StartCluster(t) // its own: the test changes the layout
	target := c.AddMaster(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	catcher := startMailCatcher(t)
	srv := startReplicas(t, 1, c.URL(), catcher.URL(), clk)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slot, err := c.KeySlot(ctx, "{geesthacht}")
	if err != nil {
		t.Fatal(err)
	}

	token := login(t, srv.URL)
	auth := []string{"Authorization", "Bearer " + token}
	if code, _, err := postJSON(srv.URL+"/api/v1/staff/offices/geesthacht/counters/2/open", nil, nil, auth...); err != nil || code != http.StatusOK {
		t.Fatalf("open counter: %d %v", code, err)
	}
	display := openStream(t, srv.URL)

	var mu sync.Mutex
	var answers []answer
	reads := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a citizen looking for a time meanwhile
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			code := -1
			resp, err := rawClient.Get(srv.URL + "/api/v1/offices/geesthacht/availability?service=ummeldung&from=2026-12-01&to=2026-12-31")
			if err == nil {
				code = resp.StatusCode
				if code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					code = 0 // counted as an unacceptable answer below
				}
				resp.Body.Close()
			}
			mu.Lock()
			reads[code]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	starts := demoStarts()
	var next int
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				a := answer{start: starts[i%len(starts)], sent: time.Now()}
				var b bookedResp
				code, retry, err := postJSON(srv.URL+"/api/v1/offices/geesthacht/appointments",
					bookingBody("ummeldung", a.start, i), &b)
				if err != nil {
					code = -1
				}
				a.code, a.retryAfter, a.token, a.got = code, retry, b.Token, time.Now()
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}

	time.Sleep(500 * time.Millisecond) // bookings before the move, so that the slot has keys to move
	moveStart := time.Now()
	moved, err := c.MoveSlot(ctx, slot, target, 1, 5*time.Millisecond)
	moveEnd := time.Now()
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("moving slot %d: %v", slot, err)
	}
	// The server must heal by itself: keep booking until a booking sent after
	// the move succeeds (go-redis learns the new owner from a MOVED reply).
	healed := waitFor(30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range answers {
			if a.code == http.StatusCreated && a.sent.After(moveEnd) {
				return true
			}
		}
		return false
	})
	close(stop)
	wg.Wait()

	counts := map[int]int{}
	during := map[int]int{}
	perStart := map[string]int{}
	var tokens []string
	for _, a := range answers {
		counts[a.code]++
		if a.got.After(moveStart) && a.sent.Before(moveEnd) {
			during[a.code]++
		}
		switch a.code {
		case http.StatusCreated:
			perStart[a.start]++
			tokens = append(tokens, a.token)
		case http.StatusConflict:
		case http.StatusServiceUnavailable:
			if a.retryAfter == "" {
				t.Errorf("a 503 without Retry-After (sent %s after the move began)", a.sent.Sub(moveStart))
			}
		default:
			t.Errorf("a booking answered %d (sent %s after the move began); only 201, 409 and 503 are acceptable",
				a.code, a.sent.Sub(moveStart).Round(time.Millisecond))
		}
	}
	t.Logf("slot %d: %d keys moved in %s; booking answers %v, of them while the slot moved %v; availability answers %v",
		slot, moved, moveEnd.Sub(moveStart).Round(time.Millisecond), counts, during, reads)
	for code, n := range reads {
		if code != http.StatusOK && code != http.StatusServiceUnavailable {
			t.Errorf("%d availability reads answered %d (0: 503 without Retry-After); only 200 and 503 are acceptable", n, code)
		}
	}
	if reads[http.StatusOK] == 0 {
		t.Error("no availability read succeeded")
	}
	if moved == 0 || len(during) == 0 {
		t.Fatalf("the move (%d keys) met no booking: the test proves nothing", moved)
	}
	if !healed {
		t.Fatal("no booking succeeded within 30 s after the slot had moved: the server did not heal")
	}
	if owner, err := c.SlotOwner(ctx, slot); err != nil || owner != target {
		t.Fatalf("slot %d is served by %v (%v), want the new master %s", slot, owner, err, target.Addr)
	}
	for start, n := range perStart {
		if n > 3 {
			t.Errorf("%s: %d bookings answered 201 for 3 seats", start, n)
		}
	}
	lost := 0
	for _, tok := range tokens {
		var got struct{ Appointment struct{ Status string } }
		if getJSON(t, srv.URL+"/api/v1/appointments/"+tok, &got) != http.StatusOK || got.Appointment.Status != "confirmed" {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged bookings are gone after the move", lost, len(tokens))
	}
	if !waitFor(60*time.Second, func() bool { n, _ := catcher.count("-confirmation-"); return n >= len(tokens) }) {
		n, _ := catcher.count("-confirmation-")
		t.Fatalf("%d confirmations sent for %d bookings", n, len(tokens))
	}

	// The queue on the new owner, and the display that was connected before.
	if code, _, err := postJSON(srv.URL+"/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}, nil); err != nil || code != http.StatusCreated {
		t.Fatalf("ticket after the move: %d %v", code, err)
	}
	var called struct{ Ticket struct{ Number string } }
	if code, _, err := postJSON(srv.URL+"/api/v1/staff/offices/geesthacht/counters/2/call-next", nil, &called, auth...); err != nil || code != http.StatusOK {
		t.Fatalf("call-next after the move: %d %v", code, err)
	}
	n, err := display.nextCalled()
	if err != nil || n != called.Ticket.Number {
		t.Fatalf("the display connected before the move showed %q (%v), want the call of %s", n, err, called.Ticket.Number)
	}
}
