package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// hostileStrings are field values that have broken parsers elsewhere:
// extreme and malformed dates and offsets, DST gaps and overlaps, huge and
// control-character strings, NUL, right-to-left override, header injection.
var hostileStrings = []string{
	"", " ", strings.Repeat("x", 10_000), strings.Repeat("ü", 5_000), "\x00", "Anna\x00Muster", "\u202eamgI\u202c",
	"\x01\x02\x1b[31m\x7f", "Anna\r\nBcc: x@example.org", "<script>alert(1)</script>", "' OR 1=1 --", "{{.}}", "${jndi:x}",
	"2026-03-29T02:30:00+01:00", "2026-03-29T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-25T02:30:00+02:00",
	"2026-03-29", "2026-10-25", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "-0001-01-01T00:00:00Z",
	"2026-12-02T09:00:00+99:99", "2026-12-02T09:00:00+25:00", "2026-12-02T09:00:00-23:59", "2026-12-02T24:00:00+01:00",
	"2026-12-02T09:00:00.999999999999+01:00", "2026-02-30", "2026-13-01", "2026-12-02T09:00:00", "1764662400",
	"1e309", "-1", "99999999999999999999", "NaN", "../../etc/passwd", "%00", "geesthacht", "ummeldung", "A001",
	"AAA-AAA", strings.Repeat("A-", 3000), "a@b", strings.Repeat("a", 300) + "@example.org", "\ufeffummeldung",
}

// hostileValues are the same as JSON values of other types too.
func hostileValues() []any {
	vals := []any{1e308, -1, 0, 1.5, true, nil, []any{}, map[string]any{}, []any{"x", 1}, map[string]any{"de": "x"}}
	for _, s := range hostileStrings {
		vals = append(vals, s)
	}
	return vals
}

// bodyFields are plausible bodies per route (gin path), so that hostile
// values reach the parsers behind the strict decoder.
var bodyFields = map[string]map[string]any{
	"POST /api/v1/offices/:office/appointments": {"service": "ummeldung", "start": "2026-12-02T10:00:00+01:00",
		"name": "Anna Muster", "email": "anna@example.org", "phone": "0151 1", "locale": "de"},
	"POST /api/v1/offices/:office/holds":                         {"service": "ummeldung", "start": "2026-12-02T10:00:00+01:00"},
	"POST /api/v1/appointments/:token/reschedule":                {"start": "2026-12-02T11:00:00+01:00"},
	"POST /api/v1/offices/:office/tickets":                       {"service": "fundsache"},
	"POST /api/v1/offices/:office/checkins":                      {"code": "AAA-AAA"},
	"POST /api/v1/auth/login":                                    {"username": "admin", "password": "falsch-aber-lang"},
	"POST /api/v1/admin/offices/:office/closures":                {"from": "2026-12-07", "until": "2026-12-07", "title": "Zu", "message": "Zu."},
	"PATCH /api/v1/admin/offices/:office/closures/:id":           {"from": "2026-12-07", "until": "2026-12-07", "title": "Zu", "message": "Zu."},
	"POST /api/v1/staff/offices/:office/tickets/:ticket/:action": {"service": "ummeldung"},
	"POST /api/v1/staff/offices/:office/counters/:counter/open":  {"services": []string{"ummeldung"}},
}

// rawBodies are bodies no JSON field can express.
func rawBodies() [][]byte {
	rng := rand.New(rand.NewPCG(8, 8))
	out := [][]byte{
		[]byte(strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001)),
		[]byte(strings.Repeat(`{"a":`, 10_001) + "1" + strings.Repeat("}", 10_001)),
		[]byte(strings.Repeat("[", 100_000)),
		[]byte(`{"service":"` + "\xff\xfe\xfd" + `"}`), []byte(`{"start":"\ud800"}`), []byte(`{"name":"\u0000"}`),
		[]byte(`{"service":"a","service":"b"}`), []byte(`{"zzz_unknown":1}`), []byte(""), []byte("null"), []byte("[]"),
		[]byte("123"), []byte(`"x"`), []byte("{}{}"), []byte("{} trailing"), []byte("{"), []byte(`{"a":1e999999}`),
		[]byte(`{"service":` + strings.Repeat("9", 100_000) + `}`),
		append(append([]byte(`{"name":"`), bytes.Repeat([]byte("x"), 1<<20)...), []byte(`"}`)...),
	}
	for range 8 {
		b := make([]byte, 1+rng.IntN(4096))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		out = append(out, b)
	}
	return out
}

// hostileCheck fails the test unless an answer is below 500 and, when an
// error, in the contract's envelope.
type hostileCheck struct {
	t      *testing.T
	counts map[int]int
	n      int
}

func (h *hostileCheck) check(what string, r rawResponse) {
	h.t.Helper()
	h.n++
	h.counts[r.Status]++
	if r.Status == 0 {
		return // connection closed during an oversized upload (see chunked)
	}
	if r.Status >= 500 {
		h.t.Errorf("%s: %d %.300s", what, r.Status, r.Body)
		return
	}
	if r.Status >= 400 && envelopeCode(r.Body) == "" {
		h.t.Errorf("%s: %d without the error envelope: %.300q", what, r.Status, r.Body)
	}
}

// TestHostileInput sends malformed, extreme and random input to every route
// that takes a body and every query parameter of every API read, against the
// running server: no answer may be a 5xx, every error must be the envelope,
// and the log must show no panic.
func TestHostileInput(t *testing.T) {
	var logs syncBuffer
	clk := hardenedClock(t)
	cfg := testConfig(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123", "RATHAUS_RATE_READ", "off", "RATHAUS_RATE_BOOK", "off",
		"RATHAUS_RATE_EMAIL", "off", "RATHAUS_RATE_OFFICE", "off", "RATHAUS_RATE_TICKET", "off", "RATHAUS_RATE_LOGIN", "off")
	s := startTestServerWith(t, cfg, Options{Clock: clk, LogOutput: &logs})
	var b bookedJSON
	s.API.Post(t, "/api/v1/offices/geesthacht/appointments", bookBody("Anna Muster", "anna@example.org", "2026-12-02T09:00:00+01:00")).Want(t, 201).Decode(t, &b)
	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, clk.Now().Location()))
	var tk struct{ Token string }
	s.API.Post(t, "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}).Want(t, 201).Decode(t, &tk)
	admin := loginToken(t, s, "admin", "admin-passwort-123")
	tokens := map[string]string{"appointments": b.Token, "tickets": tk.Token}
	h := &hostileCheck{t: t, counts: map[int]int{}}

	routes := testRouter(t).Routes()
	// Deletions last, so that the appointment and the ticket live while the
	// other routes get their hostile input.
	order := func(r gin.RouteInfo) string { return fmt.Sprint(r.Method == http.MethodDelete) + r.Method + r.Path }
	slices.SortFunc(routes, func(x, y gin.RouteInfo) int { return strings.Compare(order(x), order(y)) })
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/api/v1/") || rt.Path == "/api/v1/auth/logout" {
			continue
		}
		if rt.Method == http.MethodGet {
			hostileQueries(t, h, s.URL, fill(rt.Path, tokens), admin)
			continue
		}
		key := rt.Method + " " + rt.Path
		for _, path := range hostilePaths(rt.Path, tokens) {
			send := func(what string, body []byte, hdr ...string) {
				h.check(key+" "+what+" "+shorten(path), rawDo(t, rt.Method, s.URL+path, body, append([]string{"Authorization", "Bearer " + admin}, hdr...)...))
			}
			base := bodyFields[key]
			if base == nil {
				base = map[string]any{}
			}
			send("plausible", jsonBody(t, base))
			if path != fill(rt.Path, tokens) {
				continue // hostile paths get the plausible body only
			}
			for field := range base {
				for _, v := range hostileValues() {
					body := map[string]any{}
					for k, x := range base {
						body[k] = x
					}
					body[field] = v
					send(fmt.Sprintf("%s=%.40q", field, fmt.Sprint(v)), jsonBody(t, body))
				}
			}
			for i, raw := range rawBodies() {
				send(fmt.Sprintf("raw body %d", i), raw)
			}
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "application/json;;;", "", "application/jsonx"} {
				send("content type "+ct, jsonBody(t, base), "Content-Type", ct)
			}
			send("hostile headers", jsonBody(t, base), "Accept-Language", strings.Repeat("de;q=2,", 1000), "Idempotency-Key", strings.Repeat("k", 10_000),
				"X-Altcha", strings.Repeat("%", 3000), "X-Request-ID", "\u202e", "X-CSRF-Token", strings.Repeat("x", 5000))
			h.check(key+" chunked body over the limit", chunked(t, rt.Method, s.URL+path, admin))
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), `"panic"`) || strings.Contains(logs.String(), "goroutine ") {
		t.Errorf("the server panicked:\n%s", grepLines(logs.String(), "panic"))
	}
	if h.n < 3000 {
		t.Fatalf("only %d requests sent", h.n)
	}
	t.Logf("%d hostile requests, answers by status: %v", h.n, h.counts)
}

// hostilePaths are the route with real ids, and with hostile ids in place of
// its token, office and ticket parameters.
func hostilePaths(path string, tokens map[string]string) []string {
	out := []string{fill(path, tokens)}
	for _, bad := range []string{"%00", strings.Repeat("a", 5000), "%E2%80%AE", "..%2F..%2Fetc", "geesthacht.%FF", "%20"} {
		p := strings.NewReplacer(":token", bad, ":office", bad, ":ticket", bad, ":id", bad, ":counter", bad).Replace(path)
		if p != path {
			out = append(out, fill(p, tokens))
		}
	}
	return out
}

// hostileQueries sends every hostile value in every query parameter the API reads.
func hostileQueries(t *testing.T, h *hostileCheck, base, path, admin string) {
	t.Helper()
	if strings.HasSuffix(path, "/stream") {
		return // long-lived; their inputs are the path and Last-Event-ID, covered by the queue's tests
	}
	for _, param := range []string{"service", "date", "from", "to", "limit", "lang"} {
		for _, v := range append(hostileStrings[:len(hostileStrings):len(hostileStrings)], "2026-12-01", "2020-01-01", "2100-01-01") {
			q := url.Values{param: {v}, "service": {"ummeldung"}}
			if param == "service" {
				q.Set("service", v)
			}
			if len(q.Encode()) > 8000 {
				q.Set(param, v[:2000]) // keep within the header size a proxy passes
			}
			h.check(fmt.Sprintf("GET %s?%s=%.40q", path, param, v), rawDo(t, "GET", base+path+"?"+q.Encode(), nil, "Authorization", "Bearer "+admin))
		}
	}
}

// chunked sends a body over the limit without a Content-Length.
func chunked(t *testing.T, method, u, admin string) rawResponse {
	t.Helper()
	body := io.MultiReader(strings.NewReader(`{"name":"`), io.LimitReader(zeroReader{}, 2<<20), strings.NewReader(`"}`))
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	res, err := hardClient.Do(req)
	if err != nil {
		// The server may answer 413 and close before the client has sent
		// everything; the client then sees only the closed connection.
		// A panic would show in the log, which the test checks.
		return rawResponse{Status: 0}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return rawResponse{Status: res.StatusCode, Header: res.Header, Body: b}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
