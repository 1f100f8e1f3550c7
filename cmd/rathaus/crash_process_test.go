package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/notify"
)

// aroundTheClock is an offices file whose office is open every day at every
// hour, so that tests on the real clock find it open.
const aroundTheClock = `offices:
  - id: geesthacht
    name: Bürgerbüro Geesthacht
    timezone: Europe/Berlin
    counters: ["1", "2", "3"]
    slot_minutes: 5
    lead_minutes: 0
    horizon_days: 14
    max_active_per_email: 100
    services:
      - id: ummeldung
        letter: U
        name: {de: Ummeldung, en: Change of address}
        duration_minutes: 15
      - id: fundsache
        letter: F
        name: {de: Fundsache, en: Lost property}
        duration_minutes: 10
    opening_hours:
      mon: ["00:00-24:00"]
      tue: ["00:00-24:00"]
      wed: ["00:00-24:00"]
      thu: ["00:00-24:00"]
      fri: ["00:00-24:00"]
      sat: ["00:00-24:00"]
      sun: ["00:00-24:00"]
`

// child is a rathaus server running as its own process.
type child struct {
	URL string
	cmd *exec.Cmd
}

// buildBinary builds cmd/rathaus into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rathaus")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startChild starts bin with env (name=value) on a free loopback port and
// waits until it answers /healthz; it is killed when the test ends.
func startChild(t *testing.T, bin string, env []string) *child {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
	c := &child{URL: "http://" + addr, cmd: exec.Command(bin, "serve")}
	c.cmd.Env = append(append(os.Environ(), env...), "RATHAUS_ADDR="+addr, "RATHAUS_LOG_LEVEL=error")
	c.cmd.Stdout, c.cmd.Stderr = os.Stderr, os.Stderr
	c.cmd.SysProcAttr = redistest.DieWithParent()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	if !waitFor(30*time.Second, func() bool { return getStatus(t, c.URL+"/readyz") == 200 }) {
		t.Fatal("the rathaus process did not get ready")
	}
	return c
}

// kill ends the process with SIGKILL, like a crash.
func (c *child) kill() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// counterLoop calls next at counter until it is told to stop or nobody
// waits, finishing each ticket it got; it records every acknowledged call.
func counterLoop(url func() string, token string, counter int, stop <-chan struct{}, called chan<- string) {
	auth := []string{"Authorization", "Bearer " + token}
	deadline := time.Now().Add(3 * time.Minute)
	for n := 0; n < 10000 && time.Now().Before(deadline); n++ { // bounded; the queue empties long before
		select {
		case <-stop:
			return
		default:
		}
		var out struct{ Ticket struct{ Number string } }
		code, _, err := postJSON(fmt.Sprintf("%s/api/v1/staff/offices/geesthacht/counters/%d/call-next", url(), counter), nil, &out, auth...)
		switch {
		case err != nil || code >= 500:
			time.Sleep(20 * time.Millisecond) // the server is gone: the test restarts it
			continue
		case code == 204:
			return
		case code == 401:
			// RATHAUS_ADMIN_PASSWORD resets the admin at every start, which
			// ends the admin's sessions: log in again, as a person would.
			var out struct{ Token string }
			if c, _, err := postJSON(url()+"/api/v1/auth/login", map[string]any{"username": "admin", "password": testAdminPassword}, &out); err == nil && c == 200 {
				auth[1] = "Bearer " + out.Token
			}
			time.Sleep(20 * time.Millisecond)
			continue
		case code != 200:
			fmt.Fprintf(os.Stderr, "counter %d: call-next answered %d\n", counter, code)
			time.Sleep(20 * time.Millisecond)
			continue
		}
		called <- out.Ticket.Number
		_, _, _ = postJSON(fmt.Sprintf("%s/api/v1/staff/offices/geesthacht/tickets/%s/finish", url(), out.Ticket.Number), nil, nil, auth...)
	}
}

// TestProcessCrash kills a rathaus process (kill -9) while three counters
// call tickets and its outbox worker sends confirmations, then starts a new
// process on the same Redis: no ticket is lost or called twice, and every
// acknowledged booking's confirmation is sent, or — in the short version —
// still pending in the outbox for the new worker to take over (after the
// worker's 5-minute claim time; RATHAUS_SOAK=1 waits for the delivery).
func TestProcessCrash(t *testing.T) {
	redis := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	catcher := startMailCatcher(t)
	offices := filepath.Join(t.TempDir(), "offices.yaml")
	if err := os.WriteFile(offices, []byte(aroundTheClock), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RATHAUS_REDIS_URL=" + redis.URL(), "RATHAUS_SMTP_URL=" + catcher.URL(),
		"RATHAUS_OFFICES_FILE=" + offices, "RATHAUS_ADMIN_PASSWORD=" + testAdminPassword}
	for i := 0; i+1 < len(scaleEnv); i += 2 {
		env = append(env, scaleEnv[i]+"="+scaleEnv[i+1])
	}
	t0 := time.Now()
	bin := buildBinary(t)
	t.Logf("built in %s", time.Since(t0).Round(time.Second))
	var mu sync.Mutex
	cur := startChild(t, bin, env)
	url := func() string { mu.Lock(); defer mu.Unlock(); return cur.URL }

	token := login(t, cur.URL)
	for c := 1; c <= 3; c++ {
		if code, _, err := postJSON(fmt.Sprintf("%s/api/v1/staff/offices/geesthacht/counters/%d/open", cur.URL, c), nil, nil,
			"Authorization", "Bearer "+token); err != nil || code != 200 {
			t.Fatalf("open counter: %d %v", code, err)
		}
	}
	tickets := map[string]string{} // number → token
	for range 150 {
		var tk struct {
			Ticket struct{ Number string }
			Token  string
		}
		if code, _, err := postJSON(cur.URL+"/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}, &tk); err != nil || code != 201 {
			t.Fatalf("ticket: %d %v", code, err)
		}
		tickets[tk.Ticket.Number] = tk.Token
	}

	stop := make(chan struct{})
	called := make(chan string, 1000)
	var wg sync.WaitGroup
	for c := 1; c <= 3; c++ {
		wg.Add(1)
		go func() { defer wg.Done(); counterLoop(url, token, c, stop, called) }()
	}
	// bookings, so that the outbox worker is sending while the process dies
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tomorrow := time.Now().In(berlin).AddDate(0, 0, 1)
	day := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 8, 0, 0, 0, berlin)
	var booked []string
	for i := range 30 {
		var b bookedResp
		start := day.Add(time.Duration(i*15) * time.Minute).Format(time.RFC3339)
		code, _, err := postJSON(url()+"/api/v1/offices/geesthacht/appointments", bookingBody("ummeldung", start, i), &b)
		if err == nil && code == 201 {
			booked = append(booked, b.Appointment.Code)
		}
		if i == 5 {
			// kill while the counters are mid-way through the queue
			waitFor(30*time.Second, func() bool { return len(called) >= 40 })
			time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
			mu.Lock()
			cur.kill() // mid-way through the calls and the mails
			mu.Unlock()
			next := startChild(t, bin, env)
			mu.Lock()
			cur = next
			mu.Unlock()
		}
	}
	t.Logf("bookings done and process restarted at %s", time.Since(t0).Round(time.Second))
	wg.Wait()
	t.Logf("queue empty at %s", time.Since(t0).Round(time.Second))
	close(stop)
	close(called)

	seen := map[string]int{}
	for n := range called {
		seen[n]++
		if seen[n] > 1 {
			t.Errorf("ticket %s was called twice", n)
		}
	}
	for n, tok := range tickets {
		var v struct{ Ticket struct{ Status string } }
		if code := getJSON(t, url()+"/api/v1/tickets/"+tok, &v); code != 200 || v.Ticket.Status == "waiting" {
			t.Errorf("ticket %s: status %d %q after the queue emptied; it was lost", n, code, v.Ticket.Status)
		}
	}
	t.Logf("%d of %d calls acknowledged (the rest were in flight when the process died); %d bookings", len(seen), len(tickets), len(booked))
	checkConfirmations(t, redis, catcher, len(booked))
}

// checkConfirmations: every booking's confirmation is delivered or still in
// the outbox group's pending list (owned by the dead worker).
func checkConfirmations(t *testing.T, redis *redistest.Server, catcher *mailCatcher, booked int) {
	t.Helper()
	wait := 10 * time.Second
	if soak() {
		wait = 7 * time.Minute // the worker's claim time (5 min) and some
	}
	var delivered, pending int
	waitFor(wait, func() bool {
		delivered, _ = catcher.count("-confirmation-")
		if delivered >= booked {
			return true
		}
		pending = pendingConfirmations(t, redis)
		return !soak() && delivered+pending >= booked
	})
	t.Logf("confirmations: %d bookings, %d delivered, %d pending for the next worker", booked, delivered, pending)
	if soak() && delivered < booked {
		t.Fatalf("only %d of %d confirmations were sent after the restart", delivered, booked)
	}
	if delivered+pending < booked {
		t.Fatalf("%d of %d confirmations are neither sent nor pending: lost", booked-delivered-pending, booked)
	}
}

// pendingConfirmations counts the confirmations in the outbox group's
// pending list that have not been delivered.
func pendingConfirmations(t *testing.T, redis *redistest.Server) int {
	ctx := context.Background()
	c := redis.Client(t)
	key := notify.OutboxKey("geesthacht")
	pend, err := c.Do(ctx, "XPENDING", key, notify.OutboxGroup, "-", "+", 1000).Slice()
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range pend {
		entry, ok := p.([]any)
		if !ok || len(entry) == 0 {
			continue
		}
		id := fmt.Sprint(entry[0])
		msgs, err := c.XRange(ctx, key, id, id).Result()
		if err == nil && len(msgs) == 1 && strings.Contains(fmt.Sprint(msgs[0].Values["msg"]), notify.KindConfirmation) {
			n++
		}
	}
	return n
}

// getJSON GETs url and decodes a 200 answer into out.
func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := rawClient.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
