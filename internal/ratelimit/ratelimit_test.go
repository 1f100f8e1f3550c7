package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

var t0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func TestKey(t *testing.T) {
	if got := Key("book", "ab12"); got != "rathaus:{rl:book}:ab12" {
		t.Errorf("Key = %q", got)
	}
}

// TestAllow lets exactly N requests through a fresh limit, refuses the next
// with the wait until one credit is back, and allows again after that wait.
func TestAllow(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := clock.NewSimulated(t0)
		l := New(st.Client, clk, []byte("secret"), nil)
		r := config.Rate{N: 5, Per: time.Minute}
		for i := range 5 {
			if w, err := l.Allow(ctx, "book", "192.0.2.1", r); err != nil || w != 0 {
				t.Fatalf("request %d: wait %v, %v", i+1, w, err)
			}
		}
		w, err := l.Allow(ctx, "book", "192.0.2.1", r)
		if err != nil || w != 12*time.Second {
			t.Fatalf("6th request: wait %v, %v; want 12s", w, err)
		}
		if w, _ := l.Allow(ctx, "book", "192.0.2.2", r); w != 0 {
			t.Fatalf("another client waits %v", w)
		}
		if w, _ := l.Allow(ctx, "read", "192.0.2.1", r); w != 0 {
			t.Fatalf("another scope waits %v", w)
		}
		clk.Advance(12 * time.Second)
		if w, _ := l.Allow(ctx, "book", "192.0.2.1", r); w != 0 {
			t.Fatalf("after the wait: wait %v", w)
		}
		if w, _ := l.Allow(ctx, "book", "192.0.2.1", r); w == 0 {
			t.Fatal("second request after one credit came back was allowed")
		}
	})
}

// TestNoAddressStored checks that the key names a keyed hash, not the
// address, and expires within the limit's period.
func TestNoAddressStored(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := New(st.Client, clock.NewSimulated(t0), []byte("secret"), nil)
		if _, err := l.Allow(ctx, "read", "198.51.100.77", config.Rate{N: 100, Per: time.Hour}); err != nil {
			t.Fatal(err)
		}
		keys, err := redistest.Keys(ctx, st.Client, "*")
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys %v, %v", keys, err)
		}
		v, _ := st.Client.Get(ctx, keys[0]).Result()
		if strings.Contains(keys[0]+v, "198.51.100.77") || strings.Contains(keys[0], New(nil, nil, []byte("other"), nil).Hash("198.51.100.77")) {
			t.Errorf("key %s = %s names the address or an unkeyed hash", keys[0], v)
		}
		ttl, err := st.Client.PTTL(ctx, keys[0]).Result()
		if err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("TTL %v, %v; want within the one-hour period", ttl, err)
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{" Anna.B+ticket7@Example.ORG ": "anna.b@example.org", "a@b": "a@b",
		"kein": "", "@x.de": "", "+x@y.de": "+x@y.de", "": ""} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// testEngine is a gin engine with the limiter in front of one route that
// echoes the body, with trusted the proxies whose X-Forwarded-For counts.
func testEngine(t *testing.T, l *Limiter, trusted []string, routes Routes) *gin.Engine {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	if err := r.SetTrustedProxies(trusted); err != nil {
		t.Fatal(err)
	}
	r.POST("/offices/:office/appointments", l.Middleware(routes), func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			c.String(http.StatusRequestEntityTooLarge, err.Error())
			return
		}
		c.Data(http.StatusCreated, "application/json", b)
	})
	return r
}

func post(r http.Handler, remote, xff, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/offices/geesthacht/appointments", strings.NewReader(body))
	req.RemoteAddr = remote
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

// TestForgedForwardedFor: an untrusted client that invents a new
// X-Forwarded-For for every request stays one client; behind a trusted proxy
// the forwarded addresses count apart.
func TestForgedForwardedFor(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		reg := prometheus.NewRegistry()
		l := New(st.Client, clock.NewSimulated(t0), []byte("secret"), reg)
		routes := Routes{"POST /offices/:office/appointments": {{Scope: "book", Rate: config.Rate{N: 3, Per: time.Hour}, ID: Address}}}
		untrusted := testEngine(t, l, nil, routes)
		codes := []int{}
		for i := range 5 {
			w := post(untrusted, "203.0.113.9:5000", "10.0.0."+string(rune('1'+i)), "{}")
			codes = append(codes, w.Code)
			if w.Code == http.StatusTooManyRequests {
				var env struct {
					Error struct{ Code string } `json:"error"`
				}
				if json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Error.Code != "rate_limited" || w.Header().Get("Retry-After") == "" {
					t.Errorf("429 without envelope or Retry-After: %s %v", w.Body, w.Header())
				}
			}
		}
		if codes[2] != 201 || codes[3] != 429 || codes[4] != 429 {
			t.Fatalf("untrusted client with forged X-Forwarded-For: %v; want the 4th and 5th refused", codes)
		}
		if got := counterValue(t, l, "book"); got != 2 {
			t.Errorf("rathaus_rate_limited_total{scope=book} = %v, want 2", got)
		}
		behindProxy := testEngine(t, l, []string{"192.0.2.0/24"}, routes)
		for i := range 5 {
			if w := post(behindProxy, "192.0.2.10:5000", "198.51.100."+string(rune('1'+i)), "{}"); w.Code != 201 {
				t.Fatalf("client %d behind the trusted proxy: %d", i, w.Code)
			}
		}
	})
}

// TestEmailRule limits by the body's e-mail address and leaves the body for
// the handler, also when it is too large.
func TestEmailRule(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		l := New(st.Client, clock.NewSimulated(t0), []byte("secret"), nil)
		r := testEngine(t, l, nil, Routes{"POST /offices/:office/appointments": {{Scope: "email", Rate: config.Rate{N: 2, Per: time.Hour}, ID: Email}}})
		for i, email := range []string{"anna@example.org", "Anna+2@EXAMPLE.org", "anna+3@example.org"} {
			body := `{"name":"A","email":"` + email + `"}`
			w := post(r, "203.0.113."+string(rune('1'+i))+":1", "", body)
			want := 201
			if i == 2 {
				want = 429
			}
			if w.Code != want || (want == 201 && w.Body.String() != body) {
				t.Fatalf("booking %d: %d %s", i+1, w.Code, w.Body)
			}
		}
		if w := post(r, "203.0.113.1:1", "", `{"email":"bert@example.org"}`); w.Code != 201 {
			t.Fatalf("another address: %d", w.Code)
		}
		if w := post(r, "203.0.113.1:1", "", `not json`); w.Code != 201 || w.Body.String() != "not json" {
			t.Fatalf("a body without e-mail must reach the handler intact: %d %s", w.Code, w.Body)
		}
		req := httptest.NewRequest(http.MethodPost, "/offices/geesthacht/appointments", nil)
		w := httptest.NewRecorder()
		req.Body = http.MaxBytesReader(w, io.NopCloser(bytes.NewReader(make([]byte, 100))), 10)
		r.ServeHTTP(w, req)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("too large body: %d", w.Code)
		}
	})
}

func counterValue(t *testing.T, l *Limiter, scope string) float64 {
	t.Helper()
	var m dto.Metric
	if err := l.limited.WithLabelValues(scope).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestRuleOff: a rule whose rate is off neither reads its client id nor
// asks Redis; the other rules of the route still apply.
func TestRuleOff(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		l := New(st.Client, clock.NewSimulated(t0), []byte("secret"), nil)
		read := map[string]int{}
		id := func(scope string) func(c *gin.Context) (string, bool) {
			return func(c *gin.Context) (string, bool) { read[scope]++; return "x", true }
		}
		routes := Routes{"POST /offices/:office/appointments": {
			{Scope: "off", Rate: config.Rate{}, ID: id("off")},
			{Scope: "book", Rate: config.Rate{N: 1, Per: time.Hour}, ID: id("book")},
		}}
		r := testEngine(t, l, nil, routes)
		if w := post(r, "203.0.113.9:5000", "", `{"email":"a@b.de"}`); w.Code != http.StatusCreated || w.Body.String() != `{"email":"a@b.de"}` {
			t.Fatalf("first: %d %s", w.Code, w.Body)
		}
		if w := post(r, "203.0.113.9:5000", "", "{}"); w.Code != http.StatusTooManyRequests {
			t.Fatalf("second: %d, want 429 from the rule that is on", w.Code)
		}
		if read["off"] != 0 || read["book"] != 2 {
			t.Fatalf("client ids read: %v", read)
		}
		none := testEngine(t, l, nil, Routes{"POST /offices/:office/appointments": {{Scope: "off", ID: id("off")}}})
		if w := post(none, "203.0.113.9:5000", "", "{}"); w.Code != http.StatusCreated || read["off"] != 0 {
			t.Fatalf("all off: %d, ids read %v", w.Code, read)
		}
	})
}
