package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/auth"
)

// matrixApp is the app's router on the embedded store with three users:
// admin, erika (staff of geesthacht) and otto (staff of another office).
type matrixApp struct {
	a *app
	r *gin.Engine
}

const matrixPassword = "matrix-passwort-123"

func newMatrixApp(t *testing.T) *matrixApp {
	t.Helper()
	a, err := newApp(testConfig(t, "RATHAUS_RATE_READ", "off", "RATHAUS_RATE_BOOK", "off", "RATHAUS_RATE_TICKET", "off"),
		Options{LogOutput: io.Discard, Clock: hardenedClock(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close(); a.queue.Close() })
	ctx := context.Background()
	for _, u := range []struct {
		name    string
		role    auth.Role
		offices []string
	}{{"admin", auth.RoleAdmin, nil}, {"erika", auth.RoleStaff, []string{"geesthacht"}}, {"otto", auth.RoleStaff, []string{"anderswo"}}} {
		if err := a.auth.SetUser(ctx, u.name, u.role, u.offices, matrixPassword); err != nil {
			t.Fatal(err)
		}
	}
	return &matrixApp{a: a, r: a.router()}
}

// session logs user in and returns the session token and its CSRF token.
func (m *matrixApp) session(t *testing.T, user string) (string, string) {
	t.Helper()
	tok, csrf, _, err := m.a.auth.Login(context.Background(), user, matrixPassword)
	if err != nil {
		t.Fatal(err)
	}
	return tok, csrf
}

func (m *matrixApp) do(t *testing.T, method, path string, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	m.r.ServeHTTP(w, req)
	return w
}

// fill puts example values into a gin path's parameters.
func fill(path string, tokens map[string]string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if !strings.HasPrefix(p, ":") && !strings.HasPrefix(p, "*") {
			continue
		}
		switch name := p[1:]; name {
		case "office":
			parts[i] = "geesthacht"
		case "counter":
			parts[i] = "1"
		case "ticket":
			parts[i] = "D001" // the first walk-in ticket of fundsache
		case "path":
			parts[i] = "css/app.css"
		case "action":
			parts[i] = "finish"
		case "token":
			parts[i] = tokens[parts[i-1]]
		default:
			parts[i] = "x1"
		}
	}
	return strings.Join(parts, "/")
}

// protected reports whether a route needs a login, and whether it needs an admin.
func protected(path string) (login, admin bool) {
	switch {
	case strings.HasPrefix(path, "/api/v1/admin/"):
		return true, true
	case strings.HasPrefix(path, "/api/v1/staff/"), path == "/api/v1/auth/logout", path == "/api/v1/auth/me":
		return true, false
	}
	return false, false
}

func wantRefusal(t *testing.T, who, method, path string, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status || envelopeCode(w.Body.Bytes()) != code {
		t.Errorf("%s %s as %s: %d %s; want %d %s", method, path, who, w.Code, w.Body, status, code)
	}
}

// TestAuthorisationMatrix walks gin's route list: every staff and admin route
// refuses anonymous callers (401), staff of another office and, on admin
// routes, staff of the office (403), and every state-changing one a cookie
// request without the CSRF token (403); with the right credentials each is
// reachable, so the refusals come from the guards.
func TestAuthorisationMatrix(t *testing.T) {
	m := newMatrixApp(t)
	otto, _ := m.session(t, "otto")
	erika, _ := m.session(t, "erika")
	n := 0
	for _, rt := range m.r.Routes() {
		login, admin := protected(rt.Path)
		if !login {
			continue
		}
		n++
		path := fill(rt.Path, nil)
		body := ""
		if rt.Method != http.MethodGet {
			body = "{}"
		}
		wantRefusal(t, "anonymous", rt.Method, rt.Path, m.do(t, rt.Method, path, body), 401, "unauthenticated")
		wantRefusal(t, "a stranger's token", rt.Method, rt.Path, m.do(t, rt.Method, path, body, "Authorization", "Bearer not-a-session"), 401, "unauthenticated")
		if strings.Contains(rt.Path, ":office") {
			wantRefusal(t, "staff of another office", rt.Method, rt.Path, m.do(t, rt.Method, path, body, "Authorization", "Bearer "+otto), 403, "forbidden")
		}
		if admin {
			wantRefusal(t, "staff", rt.Method, rt.Path, m.do(t, rt.Method, path, body, "Authorization", "Bearer "+erika), 403, "forbidden")
		}
		tok, csrf := m.session(t, "admin")
		cookie := "rathaus_session=" + tok
		if rt.Method != http.MethodGet {
			wantRefusal(t, "admin's cookie without CSRF", rt.Method, rt.Path, m.do(t, rt.Method, path, body, "Cookie", cookie), 403, "csrf_token_invalid")
			wantRefusal(t, "admin's cookie with a wrong CSRF", rt.Method, rt.Path, m.do(t, rt.Method, path, body, "Cookie", cookie, "X-CSRF-Token", csrf+"x"), 403, "csrf_token_invalid")
		}
		if w := m.do(t, rt.Method, path, body, "Cookie", cookie, "X-CSRF-Token", csrf); w.Code == 401 || w.Code == 403 {
			t.Errorf("%s %s as admin with cookie and CSRF: %d %s", rt.Method, rt.Path, w.Code, w.Body)
		}
	}
	if n < 15 {
		t.Fatalf("only %d protected routes found", n)
	}
	t.Logf("%d protected routes checked", n)
}

// volatile keys may change on a read: sessions (idle timeout), rate-limit
// and proof-of-work counters, the audit log (reads of personal data are
// audited).
func volatile(k string) bool {
	return strings.HasPrefix(k, "rathaus:{auth}:session:") || strings.HasPrefix(k, "rathaus:{rl:") ||
		strings.HasPrefix(k, "rathaus:{audit}:") || strings.HasPrefix(k, "rathaus:{pow}:")
}

func stableDump(t *testing.T, m *matrixApp) map[string]string {
	t.Helper()
	d := dumpAll(t, m.a.store.Client)
	maps.DeleteFunc(d, func(k, _ string) bool { return volatile(k) })
	return d
}

// TestNoGetChangesState calls every GET route (public, staff, admin, pages)
// with data in the store and compares a dump of every key before and after.
func TestNoGetChangesState(t *testing.T) {
	m := newMatrixApp(t)
	tok, _ := m.session(t, "admin")
	bearer := []string{"Authorization", "Bearer " + tok}
	w := m.do(t, "POST", "/api/v1/offices/geesthacht/appointments", `{"service":"ummeldung","start":"2026-12-02T09:00:00+01:00","name":"Anna Muster","email":"anna@example.org"}`)
	if w.Code != 201 {
		t.Fatalf("booking: %d %s", w.Code, w.Body)
	}
	var booked bookedJSON
	_ = jsonUnmarshal(w.Body.Bytes(), &booked)
	if w := m.do(t, "POST", "/api/v1/admin/offices/geesthacht/closures", `{"from":"2026-12-04","until":"2026-12-04","title":"Ausflug","message":"Bis Montag."}`, bearer...); w.Code != 201 {
		t.Fatalf("closure: %d %s", w.Code, w.Body)
	}
	m.a.clock.(interface{ Set(time.Time) }).Set(time.Date(2026, 12, 1, 9, 30, 0, 0, m.a.offices.Offices[0].Location))
	w = m.do(t, "POST", "/api/v1/offices/geesthacht/tickets", `{"service":"fundsache"}`)
	if w.Code != 201 {
		t.Fatalf("ticket: %d %s", w.Code, w.Body)
	}
	var ticket struct{ Token string }
	_ = jsonUnmarshal(w.Body.Bytes(), &ticket)
	tok, _ = m.session(t, "admin") // the first session idled out while the clock moved
	bearer = []string{"Authorization", "Bearer " + tok}
	tokens := map[string]string{"appointments": booked.Token, "tickets": ticket.Token, "a": booked.Token, "t": ticket.Token}
	query := "?service=ummeldung&date=2026-12-02&from=2026-12-01&to=2026-12-10&limit=10"

	before := stableDump(t, m)
	if len(before) < 8 {
		t.Fatalf("only %d keys before: the comparison would prove little", len(before))
	}
	var called []string
	for _, rt := range m.r.Routes() {
		if rt.Method != http.MethodGet {
			continue
		}
		path := fill(rt.Path, tokens)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		req := httptest.NewRequest("GET", path+query, nil).WithContext(ctx)
		req.Header.Set(bearer[0], bearer[1])
		rec := httptest.NewRecorder()
		m.r.ServeHTTP(rec, req)
		cancel()
		if rec.Code >= 500 {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		called = append(called, fmt.Sprintf("%s=%d", rt.Path, rec.Code))
	}
	after := stableDump(t, m)
	for k := range after {
		if before[k] != after[k] {
			t.Errorf("key %s changed during the GETs:\nbefore: %q\nafter:  %q", k, before[k], after[k])
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("key %s vanished during the GETs", k)
		}
	}
	slices.Sort(called)
	t.Logf("%d GET routes: %v", len(called), called)
}
