package main

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
)

// TestRoles runs a web process and, later, a worker process on one Redis: the
// web process books but sends no mail; the worker, once started, sends the
// waiting confirmation exactly once, and answers nothing but its probes and
// metrics.
func TestRoles(t *testing.T) {
	redisURL, _ := e2eRedis(t)
	catcher := startMailCatcher(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	env := func(role string) []string {
		return append([]string{"RATHAUS_REDIS_URL", redisURL, "RATHAUS_SMTP_URL", catcher.URL(), "RATHAUS_ROLE", role,
			"RATHAUS_BASE_URL", "https://termine.example"}, scaleEnv...)
	}
	web := startTestServerWith(t, testConfig(t, env("web")...), Options{Clock: clk})

	var booked bookedResp
	code, body, err := postJSON(web.URL+"/api/v1/offices/geesthacht/appointments",
		bookingBody("ummeldung", "2026-12-01T09:00:00+01:00", 1), &booked)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("booking on the web process: %d %s %v", code, body, err)
	}
	// The web process's outbox would send at once; give it the time it
	// would need many times over.
	time.Sleep(time.Second)
	if n, _ := catcher.count("-confirmation-"); n != 0 {
		t.Fatalf("the web process sent %d confirmations; it must leave mail to the workers", n)
	}

	worker := startTestServerWith(t, testConfig(t, env("worker")...), Options{Clock: clk})
	if !waitFor(30*time.Second, func() bool { n, _ := catcher.count("-confirmation-"); return n >= 1 }) {
		t.Fatal("the worker did not send the confirmation waiting in the outbox")
	}
	time.Sleep(300 * time.Millisecond) // a second delivery would show now
	if n, dup := catcher.count("-confirmation-"); n != 1 || dup != 1 {
		t.Fatalf("confirmations: %d distinct, %d deliveries of one; want 1 and 1", n, dup)
	}

	for _, tc := range []struct {
		url  string
		want int
	}{
		{worker.URL + "/healthz", 200},
		{worker.URL + "/readyz", 200},
		{worker.URL + "/metrics", 200},
		{worker.URL + "/api/v1/offices", 404},
		{worker.URL + "/api/v1/appointments/" + booked.Token, 404},
		{worker.URL + "/", 404},
		{web.URL + "/api/v1/offices", 200},
		{web.URL + "/api/v1/appointments/" + booked.Token, 200},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", strings.TrimPrefix(tc.url, "http://"), resp.StatusCode, tc.want)
		}
		if tc.want == 404 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: a 404 without the error envelope (%s)", tc.url, resp.Header.Get("Content-Type"))
		}
	}
}

// TestWorkerReadiness: a worker whose mail server takes the connection but
// never answers cannot get on; once it has gone longer than the stall limit
// without progress its /readyz answers 503 with the office named, and once
// the hanging send fails (the server goes away) it is ready again. A web
// process reports no outbox at all.
func TestWorkerReadiness(t *testing.T) {
	redisURL, _ := e2eRedis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() { // a mail server that says nothing
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	hangup := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	defer hangup()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	env := func(role string) []string {
		return append([]string{"RATHAUS_REDIS_URL", redisURL, "RATHAUS_SMTP_URL", "smtp://" + ln.Addr().String(),
			"RATHAUS_ROLE", role, "RATHAUS_BASE_URL", "https://termine.example"}, scaleEnv...)
	}
	web := startTestServerWith(t, testConfig(t, env("web")...), Options{Clock: clk})
	worker := startTestServerWith(t, testConfig(t, env("worker")...), Options{Clock: clk, OutboxStallAfter: 5 * time.Second}) // idle passes get on every 2 s

	readyz := func(url string) (int, map[string]any) {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := readyz(worker.URL); code != 200 || body["outbox"] != "ok" {
		t.Fatalf("idle worker: %d %v, want 200 with outbox ok", code, body)
	}
	if code, body := readyz(web.URL); code != 200 || body["outbox"] != nil {
		t.Fatalf("web process: %d %v, want 200 without outbox", code, body)
	}

	code, body, err := postJSON(web.URL+"/api/v1/offices/geesthacht/appointments",
		bookingBody("ummeldung", "2026-12-01T09:00:00+01:00", 1), nil)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("booking: %d %s %v", code, body, err)
	}
	var last map[string]any
	if !waitFor(20*time.Second, func() bool {
		var c int
		c, last = readyz(worker.URL)
		return c == http.StatusServiceUnavailable
	}) {
		t.Fatalf("the worker hanging in a send stayed ready: %v", last)
	}
	if s, _ := last["outbox"].(string); !strings.HasPrefix(s, "stuck: no progress in geesthacht (") {
		t.Errorf("outbox %q, want the stuck office named", s)
	}

	hangup() // the send fails, the mail waits for its retry, the worker gets on
	if !waitFor(20*time.Second, func() bool {
		var c int
		c, last = readyz(worker.URL)
		return c == http.StatusOK && last["outbox"] == "ok"
	}) {
		t.Fatalf("the worker did not become ready again: %v", last)
	}
}
