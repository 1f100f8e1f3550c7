package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/notify"
)

// aroundTheClock is an offices file whose office is open every day at every
// hour, public holidays included (this year's and next year's), so that tests
// on the real clock find it open whenever they run.
func aroundTheClock() string {
	var days []string
	for _, y := range []int{time.Now().Year(), time.Now().Year() + 1} {
		for _, h := range booking.Holidays("SH", y) {
			days = append(days, strconv.Quote(h.Date.String()))
		}
	}
	return aroundTheClockBase + "    open_on_holidays: [" + strings.Join(days, ", ") + "]\n"
}

const aroundTheClockBase = `offices:
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

// childEnv is the environment of a rathaus process of the real-clock tests:
// the Redis and SMTP server named, the office of aroundTheClock, the test
// admin and scaleEnv.
func childEnv(t *testing.T, redisURL, smtpURL string) []string {
	t.Helper()
	offices := filepath.Join(t.TempDir(), "offices.yaml")
	if err := os.WriteFile(offices, []byte(aroundTheClock()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RATHAUS_REDIS_URL=" + redisURL, "RATHAUS_SMTP_URL=" + smtpURL,
		"RATHAUS_OFFICES_FILE=" + offices, "RATHAUS_ADMIN_PASSWORD=" + testAdminPassword}
	for i := 0; i+1 < len(scaleEnv); i += 2 {
		env = append(env, scaleEnv[i]+"="+scaleEnv[i+1])
	}
	return env
}

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

// clerkCall is a ticket a counter's clerk got: from the answer of call-next,
// or (recovered) from the answer to its retry after the first was lost.
type clerkCall struct {
	Number, Counter string
	Recovered       bool
	// Status and At are the ticket's status and counter in the replayed
	// answer (recovered calls only).
	Status, At string
}

// counterLoop is a clerk at counter: it calls next until it is told to stop or
// nobody waits, finishing each ticket it got, and records every ticket it
// got. Like the staff console, it sends each call with a new Idempotency-Key
// and, when a call gets no answer (the process died), retries it with the
// same key: if the lost call had called a ticket, the server returns that
// ticket (Idempotent-Replayed), which the clerk records as recovered and
// serves, instead of finishing it unseen.
func counterLoop(base, token string, counter int, stop <-chan struct{}, calls chan<- clerkCall) {
	bearer := "Bearer " + token
	ctr := strconv.Itoa(counter)
	staff := base + "/api/v1/staff/offices/geesthacht"
	relogin := func() {
		// RATHAUS_ADMIN_PASSWORD resets the admin at every start, which
		// ends the admin's sessions: log in again, as a person would.
		var out struct{ Token string }
		if c, _, err := postJSON(base+"/api/v1/auth/login", map[string]any{"username": "admin", "password": testAdminPassword}, &out); err == nil && c == 200 {
			bearer = "Bearer " + out.Token
		}
		time.Sleep(20 * time.Millisecond)
	}
	key := "" // the key of the call in progress; "" when the last one was answered
	deadline := time.Now().Add(3 * time.Minute)
	for n := 0; n < 10000 && time.Now().Before(deadline); n++ { // bounded; the queue empties long before
		select {
		case <-stop:
			return
		default:
		}
		if key == "" {
			key = fmt.Sprintf("counter-%s-call-%d", ctr, n)
		}
		code, tk, replayed, err := callNextWithKey(staff+"/counters/"+ctr+"/call-next", key, bearer)
		switch {
		case err != nil || code >= 500:
			time.Sleep(20 * time.Millisecond) // the script may have run: retry with the same key
			continue
		case code == 401:
			relogin()
			continue
		}
		key = ""
		switch {
		case code == 204:
			return
		case code != 200:
			fmt.Fprintf(os.Stderr, "counter %d: call-next answered %d\n", counter, code)
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c := clerkCall{Number: tk.Number, Counter: ctr}
		if replayed {
			c.Recovered, c.Status, c.At = true, tk.Status, tk.Counter
		}
		calls <- c
		// A lost finish leaves the ticket called at this counter; the next
		// call-next finishes it (the clerk knew whom they served).
		_, _, _ = postJSON(staff+"/tickets/"+tk.Number+"/finish", nil, nil, "Authorization", bearer)
	}
}

// callNextWithKey POSTs a call-next with an Idempotency-Key; code is -1
// when there was no answer.
func callNextWithKey(url, key, bearer string) (code int, tk struct{ Number, Status, Counter string }, replayed bool, err error) {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		return -1, tk, false, err
	}
	req.Header.Set("Authorization", bearer)
	req.Header.Set("Idempotency-Key", key)
	resp, err := rawClient.Do(req)
	if err != nil {
		return -1, tk, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		var out struct {
			Ticket struct{ Number, Status, Counter string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return -1, tk, false, err
		}
		tk = out.Ticket
	}
	return resp.StatusCode, tk, resp.Header.Get("Idempotent-Replayed") == "true", nil
}

// getAuthJSON GETs url with a bearer authorization and decodes a 200
// answer into out; it returns the status, -1 when there was no answer.
func getAuthJSON(url, bearer string, out any) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return -1
	}
	req.Header.Set("Authorization", bearer)
	return doJSON(req, out)
}

// doJSON sends req and decodes a 200 answer into out; it returns the
// status, -1 when there was no answer.
func doJSON(req *http.Request, out any) int {
	resp, err := rawClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// mailGate holds mails at the catcher's MAIL FROM: while held, each mail
// waits for a pass (let) or for the gate to open. A mail held there has not
// reached the catcher: if its sender dies meanwhile, it was never delivered.
type mailGate struct {
	mu      sync.Mutex
	changed *sync.Cond
	held    bool
	passes  int
	arrived int // MAIL FROMs seen
}

func newMailGate() *mailGate {
	g := &mailGate{}
	g.changed = sync.NewCond(&g.mu)
	return g
}

func (g *mailGate) pass() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.arrived++
	for g.held && g.passes == 0 {
		g.changed.Wait()
	}
	if g.held {
		g.passes--
	}
}

func (g *mailGate) hold() { g.mu.Lock(); g.held = true; g.mu.Unlock() }

func (g *mailGate) let(n int) { g.mu.Lock(); g.passes += n; g.changed.Broadcast(); g.mu.Unlock() }

func (g *mailGate) open() { g.mu.Lock(); g.held = false; g.changed.Broadcast(); g.mu.Unlock() }

func (g *mailGate) mails() int { g.mu.Lock(); defer g.mu.Unlock(); return g.arrived }

// startGatedMailCatcher is a mailCatcher whose MAIL FROM passes gate.
func startGatedMailCatcher(t *testing.T, gate *mailGate) *mailCatcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mailCatcher{addr: ln.Addr().String(), seen: map[string]int{}}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &gatedSession{catchSession: catchSession{m: m}, gate: gate}, nil
	}))
	m.srv.Domain = "localhost"
	go m.srv.Serve(ln)
	t.Cleanup(func() { m.srv.Close() })
	t.Cleanup(gate.open) // runs first: no session stays held
	return m
}

type gatedSession struct {
	catchSession
	gate *mailGate
}

func (s *gatedSession) Mail(from string, opts *smtp.MailOptions) error {
	s.gate.pass()
	return s.catchSession.Mail(from, opts)
}

// cutCall is the call-next whose answer the callCutter kept from the clerk.
type cutCall struct{ Number, Counter string }

// callCutter is a reverse proxy in front of the rathaus process, as a town's
// proxy is, through which the clerks call. The at-th call-next that the
// process answers with a ticket is cut: the proxy keeps the answer, hands
// the ticket to the test (on cut), waits until the test has killed the
// process (killed) and answers 502, as a proxy does whose upstream died. So
// the kill falls deterministically between "the call-next script ran" and
// "the clerk got the answer".
type callCutter struct {
	URL    string
	at     int64
	n      atomic.Int64
	cut    chan cutCall
	killed chan struct{}
}

func startCallCutter(t *testing.T, upstream func() string, at int64) *callCutter {
	t.Helper()
	c := &callCutter{at: at, cut: make(chan cutCall, 1), killed: make(chan struct{})}
	quit := make(chan struct{})
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, _ := neturl.Parse(upstream())
			r.SetURL(u)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode != 200 || !strings.HasSuffix(resp.Request.URL.Path, "/call-next") || c.n.Add(1) != c.at {
				return nil
			}
			var out struct{ Ticket cutCall }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			c.cut <- out.Ticket
			select {
			case <-c.killed:
			case <-quit:
			}
			return errors.New("the process died before its answer was passed on")
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
		ErrorLog:     log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(quit) }) // runs first: a held answer ends, so Close does not wait for it
	c.URL = srv.URL
	return c
}

// TestProcessCrash kills a rathaus process (kill -9) while three counters
// call tickets and its outbox worker holds confirmations it has read but not
// sent, then starts a new process on the same Redis:
//   - no ticket is lost or called twice, and the ticket of a call-next whose
//     answer the clerk never got (the process died after the script) comes
//     back, still called, to the clerk's retry with the same Idempotency-Key
//     after the restart — not finished behind the clerk's back;
//   - every acknowledged booking's confirmation is delivered after the
//     restart, those the dead worker held taken over by the new one
//     (XAUTOCLAIM). The worker takes an entry over only after it has been
//     idle for its claim time (5 minutes, not configurable outside Go); in
//     the short version the test ages the dead worker's entries past it
//     (XCLAIM … IDLE to the same owner), in the long one (RATHAUS_SOAK=1) it
//     waits the real time.
func TestProcessCrash(t *testing.T) {
	const (
		inFlight = 11 // confirmations the dying worker has read and not sent (≤ its batch of 16)
		bookings = 30
		cutAt    = 40 // the call-next whose answer is cut, mid-way through 150 tickets
	)
	redis := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	rc := redis.Client(t)
	gate := newMailGate()
	catcher := startGatedMailCatcher(t, gate)
	env := childEnv(t, redis.URL(), catcher.URL())
	t0 := time.Now()
	bin := buildBinary(t)
	t.Logf("built in %s", time.Since(t0).Round(time.Second))
	t0 = time.Now()
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

	berlin, _ := time.LoadLocation("Europe/Berlin")
	tomorrow := time.Now().In(berlin).AddDate(0, 0, 1)
	day := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 8, 0, 0, 0, berlin)
	var booked []string // codes of the acknowledged bookings
	book := func(i int) {
		var b bookedResp
		start := day.Add(time.Duration(i*15) * time.Minute).Format(time.RFC3339)
		code, _, err := postJSON(url()+"/api/v1/offices/geesthacht/appointments", bookingBody("ummeldung", start, i), &b)
		if err == nil && code == 201 {
			booked = append(booked, b.Appointment.Code)
		}
	}

	// Mails in flight: the first confirmation is held at MAIL FROM while
	// inFlight more are booked; once it passes, the worker reads all of them
	// in one batch and is held again at the first one's MAIL FROM.
	gate.hold()
	book(0)
	if !waitFor(30*time.Second, func() bool { return gate.mails() == 1 }) {
		t.Fatal("the outbox worker did not start sending the first confirmation")
	}
	for i := 1; i <= inFlight; i++ {
		book(i)
	}
	gate.let(1)
	if !waitFor(30*time.Second, func() bool { return gate.mails() == 2 && len(outboxPending(t, rc)) == inFlight }) {
		t.Fatalf("the worker holds %d entries (want %d) after %d MAIL FROMs", len(outboxPending(t, rc)), inFlight, gate.mails())
	}

	// The clerks call through the cutter, which stops the process at its
	// cutAt-th call: a call-next whose script ran but whose answer is lost.
	cutter := startCallCutter(t, url, cutAt)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	calls := make(chan clerkCall, 1000)
	var wg sync.WaitGroup
	for c := 1; c <= 3; c++ {
		wg.Add(1)
		go func() { defer wg.Done(); counterLoop(cutter.URL, token, c, stop, calls) }()
	}
	var cut cutCall
	select {
	case cut = <-cutter.cut:
	case <-time.After(time.Minute):
		t.Fatalf("no %dth call-next within a minute", cutAt)
	}
	mu.Lock()
	cur.kill() // mid-way through the calls, and with mails read but not sent
	mu.Unlock()
	close(cutter.killed)
	orphans := outboxPending(t, rc)
	gate.open()
	if len(orphans) == 0 {
		t.Fatal("the process died holding no mail: the take-over is not tested")
	}
	t.Logf("killed at %s: call-next of ticket %s at counter %s cut; %d outbox entries held by %s, %d confirmations delivered before",
		time.Since(t0).Round(100*time.Millisecond), cut.Number, cut.Counter, len(orphans), orphans[0].Consumer, delivered(catcher, nil))
	if !soak() {
		ageEntries(t, rc, orphans, 24*time.Hour)
	}
	next := startChild(t, bin, env)
	mu.Lock()
	cur = next
	mu.Unlock()
	for i := inFlight + 1; i < bookings; i++ { // while the counters go on
		book(i)
	}
	t.Logf("bookings done and process restarted at %s", time.Since(t0).Round(100*time.Millisecond))
	wg.Wait()
	t.Logf("queue empty at %s", time.Since(t0).Round(100*time.Millisecond))
	close(calls)

	checkCalls(t, url(), tickets, calls, cut)
	checkConfirmations(t, url(), rc, catcher, booked, day, len(orphans))
	t.Logf("done at %s", time.Since(t0).Round(100*time.Millisecond))
}

// checkCalls: every ticket was got by a clerk exactly once — from the
// answer of call-next or, when the answer was lost, from the answer to its
// retry with the same key after the restart — and is finished; the cut
// call's ticket came back to its clerk by that retry, still called there.
func checkCalls(t *testing.T, url string, tickets map[string]string, calls <-chan clerkCall, cut cutCall) {
	t.Helper()
	got := map[string][]clerkCall{}
	acked := 0
	var recovered []string
	for c := range calls {
		got[c.Number] = append(got[c.Number], c)
		if c.Recovered {
			recovered = append(recovered, c.Number+"@"+c.Counter)
			if c.Status != "called" || c.At != c.Counter {
				t.Errorf("ticket %s, replayed to counter %s after the restart, is %q at counter %q in the answer, want called there",
					c.Number, c.Counter, c.Status, c.At)
			}
		} else {
			acked++
		}
	}
	for n, tok := range tickets {
		var v struct{ Ticket struct{ Status string } }
		code := getJSON(t, url+"/api/v1/tickets/"+tok, &v)
		switch {
		case len(got[n]) > 1:
			t.Errorf("ticket %s was called twice: %+v", n, got[n])
		case len(got[n]) == 0:
			t.Errorf("ticket %s (status %d %q) never reached a clerk: lost, or called and finished without the clerk knowing", n, code, v.Ticket.Status)
		case code != 200 || v.Ticket.Status != "finished":
			t.Errorf("ticket %s: status %d %q after the queue emptied, want finished", n, code, v.Ticket.Status)
		}
	}
	if g := got[cut.Number]; len(g) != 1 || !g[0].Recovered || g[0].Counter != cut.Counter {
		t.Errorf("ticket %s, called at counter %s by the call-next whose answer was lost, did not come back to the clerk by the retry with the same key: %+v",
			cut.Number, cut.Counter, g)
	}
	t.Logf("%d of %d tickets from call-next answers, %d replayed to a retry after a lost answer (%v)",
		acked, len(tickets), len(recovered), recovered)
}

// checkConfirmations: every acknowledged booking's confirmation is
// delivered, and at least the orphans entries the dead worker held were
// taken over by the new process.
func checkConfirmations(t *testing.T, url string, rc *goredis.Client, catcher *mailCatcher, booked []string, day time.Time, orphans int) {
	t.Helper()
	// the Message-ID of a confirmation is <appointment id>-confirmation-<seq>
	var list struct {
		Appointments []struct{ ID, Code string }
	}
	if code := getAuthJSON(url+"/api/v1/staff/offices/geesthacht/appointments?date="+day.Format(time.DateOnly),
		"Bearer "+login(t, url), &list); code != 200 {
		t.Fatalf("staff day list: %d", code)
	}
	ids := map[string]string{}
	for _, a := range list.Appointments {
		ids[a.Code] = a.ID
	}
	var want []string
	for _, code := range booked {
		if id, ok := ids[code]; ok {
			want = append(want, id)
		} else {
			t.Errorf("acknowledged booking %s is not in the office's day list", code)
		}
	}
	wait := time.Minute // generous: the new worker takes the aged entries over at its first pass
	if soak() {
		wait = 7 * time.Minute // the worker's claim time (5 min) and some
	}
	t0 := time.Now()
	ok := waitFor(wait, func() bool { return delivered(catcher, want) == len(want) })
	n := delivered(catcher, want)
	_, dup := catcher.count("-confirmation-")
	reclaimed := metricValue(url, `rathaus_notify_reclaimed_total{office="geesthacht"}`)
	t.Logf("confirmations: %d acknowledged bookings, %d delivered %s after the restart checks began (most deliveries of one: %d); %v entries taken over by the new process, %d pending now",
		len(want), n, time.Since(t0).Round(100*time.Millisecond), dup, reclaimed, len(outboxPending(t, rc)))
	if !ok {
		t.Errorf("only %d of %d confirmations were sent within %s of the restart", n, len(want), wait)
	}
	if reclaimed < float64(orphans) {
		t.Errorf("the new process took over %v outbox entries, want the %d the dead one held", reclaimed, orphans)
	}
}

// delivered counts the appointments among ids (nil: all) whose confirmation
// reached the catcher.
func delivered(catcher *mailCatcher, ids []string) int {
	if ids == nil {
		n, _ := catcher.count("-confirmation-")
		return n
	}
	n := 0
	for _, id := range ids {
		if d, _ := catcher.count(id + "-confirmation-"); d > 0 {
			n++
		}
	}
	return n
}

// outboxPending lists the entries of the outbox group's pending list: read
// by a worker and neither sent nor failed yet.
func outboxPending(t *testing.T, rc *goredis.Client) []goredis.XPendingExt {
	t.Helper()
	pend, err := rc.XPendingExt(context.Background(), &goredis.XPendingExtArgs{Stream: notify.OutboxKey("geesthacht"),
		Group: notify.OutboxGroup, Start: "-", End: "+", Count: 1000}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		t.Logf("XPENDING: %v", err)
	}
	return pend
}

// ageEntries makes the pending entries look idle for idle, without changing
// their owner or delivery count (XCLAIM to the same consumer with IDLE and
// JUSTID): as if the worker's claim time had passed since the owner died.
func ageEntries(t *testing.T, rc *goredis.Client, entries []goredis.XPendingExt, idle time.Duration) {
	t.Helper()
	for _, e := range entries {
		err := rc.Do(context.Background(), "XCLAIM", notify.OutboxKey("geesthacht"), notify.OutboxGroup, e.Consumer, 0, e.ID,
			"IDLE", idle.Milliseconds(), "JUSTID").Err()
		if err != nil {
			t.Fatalf("XCLAIM %s IDLE: %v", e.ID, err)
		}
	}
}

// metricValue reads one sample of url's /metrics; -1 when it is not there.
func metricValue(url, series string) float64 {
	resp, err := rawClient.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// getJSON GETs url and decodes a 200 answer into out.
func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doJSON(req, out)
}
