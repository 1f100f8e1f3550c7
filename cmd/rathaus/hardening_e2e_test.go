package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/pow"
)

const tuesday9 = "2026-12-01T09:00:00+01:00"

func bookBody(name, email, start string) map[string]any {
	return map[string]any{"service": "ummeldung", "start": start, "name": name, "email": email, "phone": "0151 4711"}
}

type bookedJSON struct {
	Appointment struct{ Code, Status, Start string }
	Token       string
}

// TestRateLimitHoldsAgainstForgedForwardedFor: a client not among the
// trusted proxies cannot leave its limit by inventing X-Forwarded-For; the
// refusal is 429 with Retry-After and the envelope, and /metrics counts it.
// Behind a trusted proxy, the forwarded address is the client.
func TestRateLimitHoldsAgainstForgedForwardedFor(t *testing.T) {
	s := startTestServerWith(t, testConfig(t, "RATHAUS_RATE_READ", "3/1m"), Options{Clock: hardenedClock(t)})
	path := s.URL + "/api/v1/offices/geesthacht/availability?service=ummeldung"
	for i := range 3 {
		if r := rawDo(t, "GET", path, nil, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)); r.Status != 200 {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := rawDo(t, "GET", path, nil, "X-Forwarded-For", "203.0.113.99", "X-Real-IP", "203.0.113.98")
	if r.Status != http.StatusTooManyRequests || envelopeCode(r.Body) != "rate_limited" || r.Header.Get("Retry-After") != "20" {
		t.Fatalf("4th request with a forged address: %d %v %s", r.Status, r.Header, r.Body)
	}
	m := rawDo(t, "GET", s.URL+"/metrics", nil)
	if !strings.Contains(string(m.Body), `rathaus_rate_limited_total{scope="read"} 1`) {
		t.Fatalf("/metrics lacks the refusal:\n%s", grepLines(string(m.Body), "rate_limited"))
	}

	proxied := startTestServerWith(t, testConfig(t, "RATHAUS_RATE_READ", "3/1m", "RATHAUS_TRUSTED_PROXIES", "127.0.0.1"), Options{Clock: hardenedClock(t)})
	path = proxied.URL + "/api/v1/offices/geesthacht/availability?service=ummeldung"
	for i := range 6 {
		if r := rawDo(t, "GET", path, nil, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)); r.Status != 200 {
			t.Fatalf("client %d behind the trusted proxy: %d", i, r.Status)
		}
	}
	for range 3 {
		rawDo(t, "GET", path, nil, "X-Forwarded-For", "198.51.100.200")
	}
	// The client puts a forged entry in front; the trusted proxy appends the
	// real one, which is what counts.
	if r := rawDo(t, "GET", path, nil, "X-Forwarded-For", "203.0.113.1, 198.51.100.200"); r.Status != http.StatusTooManyRequests {
		t.Fatalf("4th request of one forwarded client with a forged first entry: %d", r.Status)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// powOffices writes the demo offices file with proof_of_work switched on.
func powOffices(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "offices.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(data), "proof_of_work: false", "proof_of_work: true", 1)
	if y == string(data) {
		t.Fatal("examples/offices.yaml has no proof_of_work: false")
	}
	p := filepath.Join(t.TempDir(), "offices.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func solvedChallenge(t *testing.T, s *testServer) string {
	t.Helper()
	var ch pow.Challenge
	s.API.Get(t, "/api/v1/pow/challenge").Want(t, 200).Decode(t, &ch)
	payload, ok := pow.Solve(ch)
	if !ok {
		t.Fatalf("challenge %+v has no solution", ch)
	}
	return payload
}

// TestProofOfWorkOneSolutionBooksOnce: with proof_of_work on, a booking and
// a ticket need a solution, solved here in Go like the widget does, and one
// solution books once.
func TestProofOfWorkOneSolutionBooksOnce(t *testing.T) {
	clk := hardenedClock(t)
	s := startTestServerWith(t, testConfig(t, "RATHAUS_OFFICES_FILE", powOffices(t)), Options{Clock: clk})
	var office struct {
		ProofOfWork bool `json:"proof_of_work"`
	}
	s.API.Get(t, "/api/v1/offices/geesthacht").Want(t, 200).Decode(t, &office)
	if !office.ProofOfWork {
		t.Fatal("office does not announce proof_of_work")
	}
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Anna Muster", "anna@example.org", tuesday9)).
		WantError(t, 403, "proof_of_work_required")
	sol := solvedChallenge(t, s)
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Anna Muster", "anna@example.org", tuesday9), "X-Altcha", sol).Want(t, 201)
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Bert Muster", "bert@example.org", "2026-12-01T10:00:00+01:00"), "X-Altcha", sol).
		WantError(t, 403, "proof_of_work_used")
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Bert Muster", "bert@example.org", "2026-12-01T10:00:00+01:00"), "X-Altcha", "e30=").
		WantError(t, 403, "proof_of_work_invalid")

	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, clk.Now().Location()))
	s.API.Post(t, "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}).WantError(t, 403, "proof_of_work_required")
	sol = solvedChallenge(t, s)
	s.API.Post(t, "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}, "X-Altcha", sol).Want(t, 201)
	s.API.Post(t, "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}, "X-Altcha", sol).WantError(t, 403, "proof_of_work_used")
}

// TestLoginStormCannotLockOutOthers: a storm of wrong passwords against
// admin from many addresses locks admin's account, not erika's; a storm
// from one address is cut by the address limit.
func TestLoginStormCannotLockOutOthers(t *testing.T) {
	url, rdb := e2eRedis(t)
	cfg := testConfig(t, "RATHAUS_REDIS_URL", url, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123", "RATHAUS_TRUSTED_PROXIES", "127.0.0.1")
	s := startTestServerWith(t, cfg, Options{})
	svc := auth.NewService(rdb, clock.Real{}, testLogger())
	if err := svc.SetUser(context.Background(), "erika", auth.RoleStaff, []string{"geesthacht"}, "erikas-passwort-42"); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw, from string) rawResponse {
		return rawDo(t, "POST", s.URL+"/api/v1/auth/login", jsonBody(t, map[string]string{"username": user, "password": pw}), "X-Forwarded-For", from)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- login("admin", fmt.Sprintf("falsch-%d-passwort", i), fmt.Sprintf("198.51.%d.%d", i/200, i%200)).Status
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[401] != 10 || n[429] != 30 {
		t.Fatalf("storm answers %v; want 10 × 401 and then 429", n)
	}
	if r := login("admin", "admin-passwort-123", "192.0.2.1"); r.Status != 429 || envelopeCode(r.Body) != "too_many_login_attempts" {
		t.Fatalf("admin during the lock: %d %s", r.Status, r.Body)
	}
	if r := login("erika", "erikas-passwort-42", "192.0.2.2"); r.Status != 200 {
		t.Fatalf("erika during admin's lock: %d %s", r.Status, r.Body)
	}
	for i := range 30 {
		login("nobody"+fmt.Sprint(i), "irgendwas-langes", "203.0.113.7")
	}
	if r := login("erika", "erikas-passwort-42", "203.0.113.7"); r.Status != 429 || envelopeCode(r.Body) != "rate_limited" {
		t.Fatalf("31st login from one address: %d %s", r.Status, r.Body)
	}
	if r := login("erika", "erikas-passwort-42", "192.0.2.3"); r.Status != 200 {
		t.Fatalf("erika from her own address: %d %s", r.Status, r.Body)
	}
}

// TestNoPersonalDataInLogs runs a booking, a cancellation, a staff listing
// and logins (good and bad) at debug level and searches the whole log for
// the name, the e-mail address, the phone number and the passwords.
func TestNoPersonalDataInLogs(t *testing.T) {
	var logs syncBuffer
	cfg := testConfig(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123", "RATHAUS_LOG_LEVEL", "debug")
	s := startTestServerWith(t, cfg, Options{Clock: hardenedClock(t), LogOutput: &logs})
	var b bookedJSON
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", map[string]any{"service": "ummeldung", "start": tuesday9,
		"name": "Xaver Protokollfrei", "email": "xaver.protokoll@example.org", "phone": "0171 5550199"}).Want(t, 201).Decode(t, &b)
	s.API.Get(t, "/api/v1/appointments/"+b.Token).Want(t, 200)
	s.API.Get(t, "/api/v1/appointments/"+b.Token+"/data").Want(t, 200)
	s.API.Unchecked().Post(t, "/api/v1/auth/login", map[string]string{"username": "admin", "password": "Falsches-Passwort-4711"}).Want(t, 401)
	s.API.Unchecked().Post(t, "/api/v1/auth/login", map[string]string{"username": "Geheimes-Passwort-im-Namensfeld", "password": "x"}).Want(t, 401)
	tok := loginToken(t, s, "admin", "admin-passwort-123")
	s.API.WithBearer(tok).Get(t, "/api/v1/staff/offices/geesthacht/appointments?date=2026-12-01").Want(t, 200)
	s.API.Delete(t, "/api/v1/appointments/"+b.Token).Want(t, 200)
	waitForMails(t, s.Config.MailDir, 2)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, `"route"`) {
		t.Fatalf("no access log captured:\n%s", out)
	}
	for _, secret := range []string{"Xaver", "Protokollfrei", "xaver.protokoll", "0171 5550199", "admin-passwort-123",
		"Falsches-Passwort-4711", "Geheimes-Passwort", b.Token, b.Appointment.Code} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, grepLines(out, secret))
		}
	}
}

// waitForMails waits until dir holds n .eml files (the mail worker ran).
func waitForMails(t *testing.T, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails in %s after 20 s, want %d", len(files), dir, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSecurityHeadersAndCookie: over https, every answer has HSTS and the
// CSP; the session cookie is __Host- with Secure, HttpOnly, SameSite=Strict
// and Path=/; personal answers and pages are no-store.
func TestSecurityHeadersAndCookie(t *testing.T) {
	clk := hardenedClock(t)
	s := startTestServerWith(t, testConfig(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123", "RATHAUS_BASE_URL", "https://termine.example"), Options{Clock: clk})
	r := rawDo(t, "POST", s.URL+"/api/v1/auth/login", jsonBody(t, map[string]string{"username": "admin", "password": "admin-passwort-123"}))
	ck := r.Header.Get("Set-Cookie")
	for _, part := range []string{"__Host-rathaus_session=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(ck, part) {
			t.Errorf("session cookie %q lacks %s", ck, part)
		}
	}
	if strings.Contains(strings.ToLower(ck), "domain=") {
		t.Errorf("a __Host- cookie must not name a domain: %q", ck)
	}
	var b bookedJSON
	booked := rawDo(t, "POST", s.URL+"/api/v1/offices/geesthacht/appointments", jsonBody(t, bookBody("Anna Muster", "anna@example.org", tuesday9)))
	if err := jsonUnmarshal(booked.Body, &b); err != nil || booked.Status != 201 {
		t.Fatalf("booking: %d %s", booked.Status, booked.Body)
	}
	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, clk.Now().Location()))
	ticket := rawDo(t, "POST", s.URL+"/api/v1/offices/geesthacht/tickets", jsonBody(t, map[string]string{"service": "fundsache"}))
	personal := map[string]rawResponse{"login": r, "booking": booked, "ticket": ticket}
	for _, p := range []string{"/api/v1/appointments/" + b.Token, "/api/v1/appointments/" + b.Token + "/data", "/a/" + b.Token, "/staff", "/admin"} {
		personal[p] = rawDo(t, "GET", s.URL+p, nil)
	}
	for name, res := range personal {
		if res.Status >= 300 || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d, Cache-Control %q; want no-store", name, res.Status, res.Header.Get("Cache-Control"))
		}
	}
	for _, p := range []string{"/", "/api/v1/offices", "/healthz", "/nowhere", "/api/v1/appointments/" + b.Token} {
		h := rawDo(t, "GET", s.URL+p, nil).Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "object-src 'none'") || !strings.Contains(csp, "base-uri 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.HasPrefix(h.Get("Strict-Transport-Security"), "max-age=") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
	plain := startTestServerWith(t, testConfig(t), Options{})
	if h := rawDo(t, "GET", plain.URL+"/", nil).Header; h.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS over plain http: %v", h)
	}
}

// TestAuditLogOfStaffActions: logins (good and bad), a closure, a staff
// read of appointments and a logout show in the admin's audit view with
// actor, action, target, status and request id; a failed login of no such
// user and anonymous staff calls do not (anyone could flood them), and no
// entry names a citizen.
func TestAuditLogOfStaffActions(t *testing.T) {
	clk := hardenedClock(t)
	s := startTestServerWith(t, testConfig(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123"), Options{Clock: clk})
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Zenzi Auditfrei", "zenzi@example.org", tuesday9)).Want(t, 201)
	s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": "admin", "password": "falsches-passwort"}).Want(t, 401)
	s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": "niemand", "password": "falsches-passwort"}).Want(t, 401)
	tok := loginToken(t, s, "admin", "admin-passwort-123")
	admin := s.API.WithBearer(tok)
	admin.Get(t, "/api/v1/staff/offices/geesthacht/appointments?date=2026-12-01").Want(t, 200)
	admin.Post(t, "/api/v1/admin/offices/geesthacht/closures", map[string]any{"from": "2026-12-03", "until": "2026-12-03",
		"title": "Betriebsausflug", "message": "Morgen wieder da."}, "X-Request-ID", "req-closure-1").Want(t, 201)
	s.API.Post(t, "/api/v1/staff/offices/geesthacht/counters/1/call-next", nil).Want(t, 401)
	admin.Post(t, "/api/v1/auth/logout", nil).Want(t, 200)
	admin = s.API.WithBearer(loginToken(t, s, "admin", "admin-passwort-123"))
	var got struct {
		Entries []struct {
			Actor, Action, Target string
			RequestID             string `json:"request_id"`
			Status                int
			Time                  time.Time
		}
	}
	res := admin.Get(t, "/api/v1/admin/audit?limit=50").Want(t, 200)
	res.Decode(t, &got)
	if strings.Contains(string(res.Body), "Zenzi") || strings.Contains(string(res.Body), "zenzi@") {
		t.Fatalf("the audit log names the citizen: %s", res.Body)
	}
	want := []string{"login|admin|200", "logout|admin|200", "POST /api/v1/admin/offices/:office/closures|admin|201",
		"GET /api/v1/staff/offices/:office/appointments|admin|200", "login|admin|200", "login_failed|admin|401"}
	var have []string
	for _, e := range got.Entries {
		have = append(have, e.Action+"|"+e.Actor+"|"+fmt.Sprint(e.Status))
		if e.Action == "POST /api/v1/admin/offices/:office/closures" && (e.Target != "office=geesthacht" || e.RequestID != "req-closure-1" || e.Time.IsZero()) {
			t.Errorf("closure entry %+v", e)
		}
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit entries (newest first):\n%s\nwant:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
	s.API.Get(t, "/api/v1/admin/audit").Want(t, 401)
	admin.Unchecked().Get(t, "/api/v1/admin/audit?limit=0").WantError(t, 422, "invalid_limit")
}

// TestNameCannotBeChanged: no PATCH or PUT exists on an appointment or its
// data, a reschedule refuses a name field, and after a move the stored name
// is the booked one.
func TestNameCannotBeChanged(t *testing.T) {
	s := startTestServerWith(t, testConfig(t), Options{Clock: hardenedClock(t)})
	var b bookedJSON
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Anna Muster", "anna@example.org", tuesday9)).Want(t, 201).Decode(t, &b)
	for _, m := range []string{"PATCH", "PUT"} {
		for _, p := range []string{"", "/data", "/reschedule"} {
			r := rawDo(t, m, s.URL+"/api/v1/appointments/"+b.Token+p, jsonBody(t, map[string]string{"name": "Zwischenhändler"}))
			if r.Status != http.StatusMethodNotAllowed || envelopeCode(r.Body) != "method_not_allowed" {
				t.Errorf("%s /api/v1/appointments/{token}%s: %d %s", m, p, r.Status, r.Body)
			}
		}
	}
	s.API.Unchecked().Post(t, "/api/v1/appointments/"+b.Token+"/reschedule", map[string]string{"start": "2026-12-01T10:00:00+01:00", "name": "Zwischenhändler"}).
		WantError(t, 400, "unknown_field")
	s.API.Post(t, "/api/v1/appointments/"+b.Token+"/reschedule", map[string]string{"start": "2026-12-01T10:00:00+01:00"}).Want(t, 200)
	var d struct{ Appointment map[string]string }
	s.API.Get(t, "/api/v1/appointments/"+b.Token+"/data").Want(t, 200).Decode(t, &d)
	if d.Appointment["name"] != "Anna Muster" || !strings.HasPrefix(d.Appointment["start"], "2026-12-01T10:00") {
		t.Fatalf("after the move: %v", d.Appointment)
	}
}

// TestAuditLogOfStaffBooking: a clerk's booking for a caller and a search by
// the code a caller reads out show in the audit view with the appointment
// created and the code looked for — and still without the citizen's name.
func TestAuditLogOfStaffBooking(t *testing.T) {
	clk := hardenedClock(t)
	s := startTestServerWith(t, testConfig(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123"), Options{Clock: clk})
	admin := s.API.WithBearer(loginToken(t, s, "admin", "admin-passwort-123"))
	var booked struct {
		Appointment struct{ ID, Code string }
	}
	admin.Post(t, "/api/v1/staff/offices/geesthacht/appointments", map[string]any{"service": "ummeldung", "start": tuesday9,
		"name": "Zenzi Anruferin", "phone": "04152 130 77"}, "X-Request-ID", "req-staff-book").Want(t, 201).Decode(t, &booked)
	spoken := strings.ToLower(strings.Replace(booked.Appointment.Code, "-", " ", 1))
	admin.Get(t, "/api/v1/staff/offices/geesthacht/appointments?code="+url.QueryEscape(spoken), "X-Request-ID", "req-staff-find").Want(t, 200)
	var got struct {
		Entries []struct {
			Action, Target string
			RequestID      string `json:"request_id"`
		}
	}
	res := admin.Get(t, "/api/v1/admin/audit?limit=50").Want(t, 200)
	res.Decode(t, &got)
	if strings.Contains(string(res.Body), "Zenzi") || strings.Contains(string(res.Body), "130 77") {
		t.Fatalf("the audit log names the citizen: %s", res.Body)
	}
	want := map[string]string{
		"req-staff-book": "appointment=" + booked.Appointment.ID + " office=geesthacht",
		"req-staff-find": "code=" + booked.Appointment.Code + " office=geesthacht",
	}
	for _, e := range got.Entries {
		if w, ok := want[e.RequestID]; ok {
			if e.Target != w {
				t.Errorf("%s (%s): target %q, want %q", e.RequestID, e.Action, e.Target, w)
			}
			delete(want, e.RequestID)
		}
	}
	if len(want) != 0 {
		t.Errorf("no audit entry for %v", want)
	}
}
