package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// failoverCase is one Redis configuration under a Sentinel failover.
type failoverCase struct {
	name string
	// replicas is the number of replicas (0: one); aof turns on the AOF with
	// appendfsync always on every data node (redistest.AOFArgs).
	replicas int
	aof      bool
	// redisArgs go to every data node.
	redisArgs []string
	// query is appended to the RATHAUS_REDIS_URL.
	query string
	// mustKeepAll: the configuration promises that nothing acknowledged is lost.
	mustKeepAll bool
}

var failoverCases = []failoverCase{
	{name: "async"},
	{name: "min-replicas-to-write", redisArgs: []string{"--min-replicas-to-write", "1", "--min-replicas-max-lag", "1"}},
	// The README's configuration for "nothing acknowledged lost on failover".
	{name: "wait", replicas: 2, aof: true, query: "?wait=1&wait_timeout=500ms", mustKeepAll: true},
}

// TestSentinelFailover runs a booking load against a Sentinel-managed
// primary whose replicas replicate through proxies. The proxies cut the
// replicas off one after another (with two: the first at once, the second a
// second later), 2 s after the first the primary is killed (kill -9) and the
// sentinels promote a replica. With one replica (async,
// min-replicas-to-write) the bookings acknowledged during those 2 s exist
// only on the dead primary; the test reports what each configuration lost.
//
// The "wait" case is the configuration the README promises loses nothing
// acknowledged: ?wait=1 (WAIT for one replica after every script and every
// writing pipeline), two replicas and an AOF with appendfsync always on every
// Redis. While only the first replica is cut off the second confirms, so
// bookings must still be acknowledged; once both are, WAIT fails and
// bookings answer 503 (the count acknowledged then is logged: a WAIT
// confirmed just before the cut may be answered just after it); the
// sentinels promote the replica furthest along (logged: the second in every
// run looked at) — what the test demands is that no booking answered 201 is
// missing afterwards; and bookings must be acknowledged again after the
// failover, the first replica now confirming them to the new primary. CI runs the "wait" case; RATHAUS_SOAK=1 runs all
// three (PERFORMANCE.md has the figures).
func TestSentinelFailover(t *testing.T) {
	for _, fc := range failoverCases {
		if !soak() && !fc.mustKeepAll {
			continue // the measurement without a promise runs in the soak only
		}
		t.Run(fc.name, func(t *testing.T) {
			acked, lost := runFailover(t, fc)
			t.Logf("%s: %d bookings acknowledged, %d of them lost by the failover", fc.name, acked, lost)
			if fc.mustKeepAll && lost > 0 {
				t.Fatalf("%d acknowledged bookings lost although the configuration promises none", lost)
			}
		})
	}
}

func runFailover(t *testing.T, fc failoverCase) (acked, lost int) {
	n := max(fc.replicas, 1)
	sent := redistest.StartSentinelWith(t, redistest.SentinelOptions{Replicas: n, AOF: fc.aof, Proxied: n, Args: fc.redisArgs})

	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	srv := startReplicas(t, 1, sent.URL()+fc.query, "", clk)[0]
	if !waitFor(30*time.Second, func() bool { return getStatus(t, srv.URL+"/readyz") == 200 }) {
		t.Fatal("the server never got ready")
	}
	load := startBookingLoad(srv.URL, 4, 10*time.Millisecond) // about 300 requests/s: the seats last
	time.Sleep(300 * time.Millisecond)
	const partition = 2 * time.Second
	cut := make([]time.Time, n) // when each replica was cut off
	for i, p := range sent.Proxies {
		p.Partition()
		cut[i] = time.Now()
		time.Sleep(partition / time.Duration(n))
	}
	sent.Primary.Kill()
	killed := time.Now()
	for _, p := range sent.Proxies {
		p.Close()
	}
	some, all := load.bookedBetween(cut[0], cut[n-1]), load.bookedBetween(cut[n-1], killed)
	if n > 1 {
		t.Logf("bookings acknowledged while some replicas were cut off: %d; while all were: %d", some, all)
	} else {
		t.Logf("bookings acknowledged while the replica was cut off: %d", all)
	}
	if fc.mustKeepAll && n > 1 && some == 0 {
		t.Fatal("no booking acknowledged while one of two replicas was cut off: the other should have confirmed them")
	}
	ctx := context.Background()
	var promoted string
	if !waitFor(60*time.Second, func() bool {
		a, err := sent.MasterAddr(ctx)
		promoted = a
		return err == nil && a != sent.Primary.Addr
	}) {
		t.Fatal("the sentinels did not promote a replica")
	}
	for i, r := range sent.Replicas {
		if r.Addr == promoted {
			t.Logf("the sentinels promoted replica %d of %d (cut off %s before the kill)", i+1, n, killed.Sub(cut[i]).Round(time.Millisecond))
		}
	}
	// Reads work again on the new primary (writes may not with one replica:
	// the new primary has none).
	if !waitFor(30*time.Second, func() bool {
		return getStatus(t, srv.URL+"/api/v1/offices/geesthacht") == 200
	}) {
		t.Fatal("the server did not find the new primary")
	}
	if n > 1 {
		found := time.Now()
		if !waitFor(30*time.Second, func() bool { return load.bookedSince(found) }) {
			t.Fatal("no booking acknowledged after the failover: the new primary should have the other replica to confirm it")
		}
		t.Logf("bookings acknowledged again %s after the new primary was found", time.Since(found).Round(time.Millisecond))
	}
	load.finish()
	t.Logf("answers by status: %v", load.counts)
	for _, tok := range load.tokens {
		var code int
		// a 503 while the client finds its way to the new primary is retried
		waitFor(30*time.Second, func() bool {
			code = getStatus(t, srv.URL+"/api/v1/appointments/"+tok)
			return code == 200 || code == 404
		})
		switch code {
		case 200:
		case 404:
			lost++
		default:
			t.Fatalf("reading an appointment after the failover: status %d", code)
		}
	}
	return len(load.tokens), lost
}

// bookedBetween counts the bookings sent after from and answered 201 before to.
func (l *bookingLoad) bookedBetween(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.answers {
		if a.code == http.StatusCreated && a.sent.After(from) && a.got.Before(to) {
			n++
		}
	}
	return n
}
