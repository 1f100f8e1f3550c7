package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rathaus/rathaus/internal/apperr"
)

type person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
	Home struct {
		City string `json:"city"`
	} `json:"home"`
}

// newEngine builds the middleware chain of rathaus around a few test routes.
func newEngine(t *testing.T, reg prometheus.Registerer) *gin.Engine {
	t.Helper()
	gin.SetMode(gin.TestMode)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := gin.New()
	r.Use(RequestIDs(), Recover(log), AccessLog(log), NewMetrics(reg).Middleware(), SecurityHeaders(false))
	r.NoRoute(func(c *gin.Context) { Error(c, ErrNotFoundRoute) })
	api := r.Group("/api", LimitBody())
	api.POST("/people", func(c *gin.Context) {
		var p person
		if err := DecodeJSON(c, &p); err != nil {
			Error(c, err)
			return
		}
		c.JSON(http.StatusCreated, p)
	})
	api.GET("/panic", func(c *gin.Context) { panic("boom") })
	api.GET("/fail", func(c *gin.Context) { Error(c, errors.New("secret cause")) })
	api.GET("/people/:id", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"id": c.Param("id")}) })
	return r
}

func do(r http.Handler, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func decodeErr(t *testing.T, w *httptest.ResponseRecorder) ErrorObject {
	t.Helper()
	var b ErrorBody
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("body is not the error envelope: %v", err)
	}
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("envelope without code or message: %+v", b)
	}
	return b.Error
}

func TestDecodeJSON(t *testing.T) {
	r := newEngine(t, prometheus.NewRegistry())
	big := `{"name":"` + strings.Repeat("x", MaxBody) + `"}`
	tests := []struct {
		name        string
		contentType string
		body        io.Reader
		chunked     bool
		want        int
		wantCode    string
		wantField   string
	}{
		{"OK", "application/json", strings.NewReader(`{"name":"Anna","age":3,"home":{"city":"Geesthacht"}}`), false, 201, "", ""},
		{"OKCharset", "application/json; charset=utf-8", strings.NewReader(`{"name":"Anna"}`), false, 201, "", ""},
		{"OKChunked", "application/json", strings.NewReader(`{"name":"Anna"}`), true, 201, "", ""},
		{"ErrTooLarge", "application/json", strings.NewReader(big), false, 413, "body_too_large", ""},
		{"ErrTooLargeChunked", "application/json", strings.NewReader(big), true, 413, "body_too_large", ""},
		{"ErrContentTypeText", "text/plain", strings.NewReader(`{"name":"Anna"}`), false, 415, "unsupported_media_type", ""},
		{"ErrContentTypeForm", "application/x-www-form-urlencoded", strings.NewReader(`name=Anna`), false, 415, "unsupported_media_type", ""},
		{"ErrContentTypeMissing", "", strings.NewReader(`{"name":"Anna"}`), false, 415, "unsupported_media_type", ""},
		{"ErrMalformed", "application/json", strings.NewReader(`{"name":`), false, 400, "malformed_json", ""},
		{"ErrSyntax", "application/json", strings.NewReader(`{"name" "Anna"}`), false, 400, "malformed_json", ""},
		{"ErrTrailing", "application/json", strings.NewReader(`{"name":"Anna"} {}`), false, 400, "malformed_json", ""},
		{"ErrEmpty", "application/json", strings.NewReader(` `), false, 400, "empty_body", ""},
		{"ErrUnknownField", "application/json", strings.NewReader(`{"name":"Anna","nickname":"A"}`), false, 400, "unknown_field", "nickname"},
		{"ErrWrongType", "application/json", strings.NewReader(`{"name":"Anna","age":"drei"}`), false, 400, "wrong_type", "age"},
		{"ErrWrongTypeNested", "application/json", strings.NewReader(`{"home":{"city":7}}`), false, 400, "wrong_type", "home.city"},
		{"ErrNotAnObject", "application/json", strings.NewReader(`[1,2]`), false, 400, "wrong_type", "(body)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if tt.chunked {
				body = io.MultiReader(body) // hides the length: the request goes out chunked
			}
			req := httptest.NewRequest(http.MethodPost, "/api/people", body)
			if tt.chunked {
				req.ContentLength = -1
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			w := do(r, req)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.want, w.Body.String())
			}
			if tt.wantCode == "" {
				return
			}
			e := decodeErr(t, w)
			if e.Code != tt.wantCode || e.Field != tt.wantField {
				t.Fatalf("error = %+v, want code %s field %q", e, tt.wantCode, tt.wantField)
			}
			if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Fatalf("Content-Type = %q", got)
			}
		})
	}
}

// TestLimitBodyChunkedOverHTTP sends a chunked body through a real server, so
// the limit is proven on the wire and not only on a recorder.
func TestLimitBodyChunkedOverHTTP(t *testing.T) {
	srv := httptest.NewServer(newEngine(t, prometheus.NewRegistry()))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"name":"`))
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 20; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_, _ = pw.Write([]byte(`"}`))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/people", pr) // unknown length: sent chunked
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	pr.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", res.StatusCode)
	}
}

func TestParseLang(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "de"},
		{"en", "en"},
		{"de", "de"},
		{"en-US,en;q=0.9", "en"},
		{"de-DE,de;q=0.9,en;q=0.8", "de"},
		{"fr-FR,fr;q=0.9,en;q=0.8,de;q=0.7", "en"},
		{"de;q=0.5, en;q=0.9", "en"},
		{"en;q=0, de;q=0.1", "de"},
		{"en;q=0", "de"},
		{"fr, es", "de"},
		{"*", "de"},
		{"EN-gb", "en"},
		{"en;q=abc, de;q=0.2", "de"},
		{"en; q=0.8", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if got := ParseLang(tt.header); got != tt.want {
				t.Fatalf("ParseLang(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestErrorStatusTable(t *testing.T) {
	tests := []struct {
		kind apperr.Kind
		want int
	}{
		{apperr.KindMalformed, 400}, {apperr.KindUnauthorized, 401}, {apperr.KindForbidden, 403},
		{apperr.KindNotFound, 404}, {apperr.KindMethodNotAllowed, 405}, {apperr.KindConflict, 409},
		{apperr.KindTooLarge, 413}, {apperr.KindUnsupportedMedia, 415}, {apperr.KindInvalid, 422},
		{apperr.KindRateLimited, 429}, {apperr.KindInternal, 500}, {apperr.KindUnavailable, 503},
		{apperr.Kind(99), 500},
	}
	gin.SetMode(gin.TestMode)
	for _, tt := range tests {
		err := apperr.New(tt.kind, "some_code", "Eine Meldung.", "A message.")
		if got := StatusOf(err); got != tt.want {
			t.Errorf("StatusOf(kind %d) = %d, want %d", tt.kind, got, tt.want)
		}
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
		c.Request.Header.Set("Accept-Language", "en")
		Error(c, err)
		if w.Code != tt.want {
			t.Errorf("Error(kind %d) wrote %d, want %d", tt.kind, w.Code, tt.want)
		}
		e := decodeErr(t, w)
		if tt.kind == apperr.Kind(99) {
			if e.Code != "internal" {
				t.Errorf("kind %d: code %q, want internal", tt.kind, e.Code)
			}
			continue
		}
		if e.Code != "some_code" || e.Message != "A message." {
			t.Errorf("kind %d: error %+v", tt.kind, e)
		}
	}
}

func TestErrorEnvelope(t *testing.T) {
	r := newEngine(t, prometheus.NewRegistry())
	t.Run("InvalidNamesField", func(t *testing.T) {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
		Error(c, apperr.Invalid("email", "invalid_email", "Die E-Mail-Adresse ist ungültig.", "The e-mail address is invalid."))
		e := decodeErr(t, w)
		if w.Code != 422 || e.Field != "email" || e.Message != "Die E-Mail-Adresse ist ungültig." {
			t.Fatalf("%d %+v", w.Code, e)
		}
	})
	t.Run("InternalHidesCause", func(t *testing.T) {
		w := do(r, httptest.NewRequest(http.MethodGet, "/api/fail", nil))
		if w.Code != 500 || strings.Contains(w.Body.String(), "secret") {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if e := decodeErr(t, w); e.Code != "internal" {
			t.Fatalf("code %q", e.Code)
		}
	})
	t.Run("PanicBecomesInternal", func(t *testing.T) {
		w := do(r, httptest.NewRequest(http.MethodGet, "/api/panic", nil))
		if w.Code != 500 || strings.Contains(w.Body.String(), "boom") {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		decodeErr(t, w)
	})
	t.Run("NotFoundInEnglish", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/nowhere", nil)
		req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
		w := do(r, req)
		e := decodeErr(t, w)
		if w.Code != 404 || e.Code != "not_found" || e.Message != "There is no such address." {
			t.Fatalf("%d %+v", w.Code, e)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	gin.SetMode(gin.TestMode)
	tests := []struct {
		name string
		err  error
		want int
		hdr  string
	}{
		{"Unavailable", apperr.Unavailable(errors.New("dial tcp: connection refused")), 503, "5"},
		{"RateLimitedRoundsUp", apperr.RateLimited("slow_down", "Langsam.", "Slow down.", 1500*time.Millisecond), 429, "2"},
		{"NoneOnConflict", apperr.Conflict("slot_taken", "Vergeben.", "Taken."), 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
			Error(c, tt.err)
			if w.Code != tt.want || w.Header().Get("Retry-After") != tt.hdr {
				t.Fatalf("status %d Retry-After %q, want %d %q", w.Code, w.Header().Get("Retry-After"), tt.want, tt.hdr)
			}
			if tt.want == 503 {
				if e := decodeErr(t, w); e.Code != "store_unavailable" || strings.Contains(e.Message, "refused") {
					t.Fatalf("%+v", e)
				}
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	for _, path := range []string{"/api/people/1", "/nowhere", "/api/panic"} {
		t.Run(path, func(t *testing.T) {
			w := do(newEngine(t, prometheus.NewRegistry()), httptest.NewRequest(http.MethodGet, path, nil))
			csp := w.Header().Get("Content-Security-Policy")
			if csp == "" || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
				!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
				if got := w.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if w.Header().Get("Strict-Transport-Security") != "" {
				t.Error("HSTS over plain http")
			}
		})
	}
	t.Run("HSTSWhenHTTPS", func(t *testing.T) {
		r := gin.New()
		r.Use(SecurityHeaders(true))
		r.GET("/", func(c *gin.Context) { c.Status(204) })
		w := do(r, httptest.NewRequest(http.MethodGet, "/", nil))
		if !strings.HasPrefix(w.Header().Get("Strict-Transport-Security"), "max-age=") {
			t.Fatalf("HSTS = %q", w.Header().Get("Strict-Transport-Security"))
		}
	})
}

// TestSecurityHeadersShared: the header values are shared between responses;
// a handler that adds to or replaces one changes no other response.
func TestSecurityHeadersShared(t *testing.T) {
	r := gin.New()
	r.Use(SecurityHeaders(false))
	r.GET("/add", func(c *gin.Context) {
		c.Writer.Header().Add("X-Frame-Options", "SAMEORIGIN")
		c.Writer.Header().Set("Referrer-Policy", "origin")
		c.Status(204)
	})
	r.GET("/", func(c *gin.Context) { c.Status(204) })
	if got := do(r, httptest.NewRequest(http.MethodGet, "/add", nil)).Header().Values("X-Frame-Options"); len(got) != 2 {
		t.Fatalf("added header: %q", got)
	}
	w := do(r, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := w.Header().Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
		t.Fatalf("X-Frame-Options after another response added one: %q", got)
	}
	if got := w.Header().Get("Referrer-Policy"); got != "no-referrer" {
		t.Fatalf("Referrer-Policy after another response set it: %q", got)
	}
}

func TestRequestIDs(t *testing.T) {
	r := newEngine(t, prometheus.NewRegistry())
	req := httptest.NewRequest(http.MethodGet, "/api/people/1", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	if got := do(r, req).Header().Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("plain id not echoed: %q", got)
	}
	req.Header.Set("X-Request-ID", "<script>")
	if got := do(r, req).Header().Get("X-Request-ID"); got == "<script>" || len(got) != 16 {
		t.Fatalf("unsafe id kept: %q", got)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newEngine(t, reg)
	for range 3 {
		do(r, httptest.NewRequest(http.MethodGet, "/api/people/7", nil))
	}
	do(r, httptest.NewRequest(http.MethodGet, "/nowhere", nil))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	latency := 0
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + " "
			}
			switch f.GetName() {
			case "rathaus_http_requests_total":
				counts[strings.TrimSpace(labels)] = m.GetCounter().GetValue()
			case "rathaus_http_request_duration_seconds":
				latency++
			}
		}
	}
	want := map[string]float64{
		"method=GET route=/api/people/:id status=200": 3,
		"method=GET route=(unmatched) status=404":     1,
	}
	if d := cmp.Diff(want, counts); d != "" {
		t.Fatalf("request counters (-want +got):\n%s", d)
	}
	if latency != 2 {
		t.Fatalf("latency series = %d, want 2", latency)
	}
}
