package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// TestRoles runs a web process and, later, a worker process on one Redis: the
// web process books but sends no mail; the worker, once started, sends the
// waiting confirmation exactly once, and answers nothing but its probes and
// metrics.
func TestRoles(t *testing.T) {
	redis := redistest.Start(t)
	catcher := startMailCatcher(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	env := func(role string) []string {
		return append([]string{"RATHAUS_REDIS_URL", redis.URL(), "RATHAUS_SMTP_URL", catcher.URL(), "RATHAUS_ROLE", role,
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
