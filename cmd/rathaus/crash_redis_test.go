package main

import (
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// soak reports whether the long versions of the fault tests run
// (RATHAUS_SOAK=1); CI runs the short ones.
func soak() bool { return os.Getenv("RATHAUS_SOAK") == "1" }

// demoStarts are 15-minute starts of the demo office from 1 December 2026 to
// 22 January 2027 (weekdays, 08:00–11:45; the few holidays among them answer
// 409): 592 starts of three seats each.
func demoStarts() []string {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var out []string
	for d := 1; d <= 53; d++ {
		day := time.Date(2026, 12, d, 8, 0, 0, 0, berlin) // normalised into January
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for m := 0; m < 240; m += 15 {
			out = append(out, day.Add(time.Duration(m)*time.Minute).Format(time.RFC3339))
		}
	}
	return out
}

// bookingLoad books from workers goroutines, each pausing pace between
// requests, until stop is closed, and keeps the token of every 201 and every
// answer.
type bookingLoad struct {
	mu      sync.Mutex
	tokens  []string
	counts  map[int]int
	answers []answer
	wg      sync.WaitGroup
	stop    chan struct{}
}

// answer is one booking request of a bookingLoad.
type answer struct {
	code       int // -1: the connection broke
	retryAfter string
	start      string
	token      string
	sent, got  time.Time
}

func startBookingLoad(url string, workers int, pace time.Duration) *bookingLoad {
	l := &bookingLoad{counts: map[int]int{}, stop: make(chan struct{})}
	starts := demoStarts()
	var next int64
	var nextMu sync.Mutex
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for range 100000 { // bounded; stop ends it much earlier
				select {
				case <-l.stop:
					return
				default:
				}
				time.Sleep(pace)
				nextMu.Lock()
				i := int(next)
				next++
				nextMu.Unlock()
				var b bookedResp
				a := answer{start: starts[i%len(starts)], sent: time.Now()}
				code, retry, err := postJSON(url+"/api/v1/offices/geesthacht/appointments",
					bookingBody("ummeldung", a.start, i), &b)
				if err != nil {
					code = -1 // the connection broke: the outcome is unknown, not acknowledged
				}
				a.code, a.retryAfter, a.token, a.got = code, retry, b.Token, time.Now()
				l.mu.Lock()
				l.counts[code]++
				if code == 201 {
					l.tokens = append(l.tokens, b.Token)
				}
				l.answers = append(l.answers, a)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *bookingLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// bookedSince reports whether a booking sent after at was answered 201.
func (l *bookingLoad) bookedSince(at time.Time) bool { return !l.firstBookedSince(at).IsZero() }

// firstBookedSince returns when the first booking sent after at was answered
// 201 (zero: none was).
func (l *bookingLoad) firstBookedSince(at time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, a := range l.answers {
		if a.code == http.StatusCreated && a.sent.After(at) && (first.IsZero() || a.got.Before(first)) {
			first = a.got
		}
	}
	return first
}

// TestRedisCrashDuringBookings kills redis-server (kill -9) at random moments
// of a booking load and starts it again from its AOF (appendfsync always):
// while it is down the server answers 503 with Retry-After, it heals by
// itself, and every booking that was answered 201 is there afterwards.
func TestRedisCrashDuringBookings(t *testing.T) {
	redis := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	srv := startReplicas(t, 1, redis.URL(), "", clk)[0]
	rounds := 3
	if soak() {
		rounds = 20
	}
	load := startBookingLoad(srv.URL, 8, 0)
	for r := range rounds {
		time.Sleep(time.Duration(50+rand.IntN(300)) * time.Millisecond) // a random moment of the load
		redis.Kill()
		code, retry, err := postJSON(srv.URL+"/api/v1/offices/geesthacht/appointments",
			bookingBody("ummeldung", demoStarts()[0], 1_000_000+r), nil)
		if err != nil || code != http.StatusServiceUnavailable || retry == "" {
			t.Errorf("round %d, Redis down: booking answered %d, Retry-After %q, %v; want 503 with Retry-After", r, code, retry, err)
		}
		if code := getStatus(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("round %d, Redis down: /readyz %d", r, code)
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		redis.Restart(t)
		if !waitFor(30*time.Second, func() bool { return getStatus(t, srv.URL+"/readyz") == 200 }) {
			t.Fatalf("round %d: the server did not heal after Redis came back", r)
		}
	}
	time.Sleep(200 * time.Millisecond) // some load on the healed server
	load.finish()
	t.Logf("answers by status: %v (-1: connection broken)", load.counts)
	for code := range load.counts {
		if code != 201 && code != 409 && code != 503 {
			t.Errorf("%d answers with status %d; only 201, 409 and 503 are acceptable", load.counts[code], code)
		}
	}
	if load.counts[201] == 0 || load.counts[201] > 3*len(demoStarts()) {
		t.Fatalf("%d bookings succeeded; want some, and at most the %d seats there are", load.counts[201], 3*len(demoStarts()))
	}
	lost := 0
	for _, tok := range load.tokens {
		if code := getStatus(t, srv.URL+"/api/v1/appointments/"+tok); code != 200 {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged bookings are gone after the crashes", lost, len(load.tokens))
	}
}

// getStatus returns the status of a GET of url (-1 when the request failed).
func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := rawClient.Get(url)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}
