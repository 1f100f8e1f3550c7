package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

const requestIDKey = "rathaus.request_id"

// RequestID returns the id of the request (set by the RequestIDs middleware).
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// RequestIDs gives each request an id, echoes it as X-Request-ID and puts it in
// the logs. An incoming X-Request-ID is kept when it is short and plain.
func RequestIDs() gin.HandlerFunc {
	return func(c *gin.Context) {
		// The header key in canonical form: Get and Set would otherwise
		// canonicalise "X-Request-ID" into a new string on every request.
		const header = "X-Request-Id"
		var id string
		if v := c.Request.Header[header]; len(v) > 0 {
			id = v[0]
		}
		if !plainID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(requestIDKey, id)
		c.Writer.Header()[header] = []string{id}
		c.Next()
	}
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// AccessLog logs one line per request: no query string, no body, no header
// values, so that no personal data reaches the logs. A level the logger
// leaves out costs no more than the check.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		lvl := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			lvl = slog.LevelError
		}
		ctx := c.Request.Context()
		if !log.Enabled(ctx, lvl) {
			return
		}
		route := c.FullPath()
		if route == "" {
			route = "(unmatched)"
		}
		log.LogAttrs(ctx, lvl, "http", slog.String("request_id", RequestID(c)), slog.String("method", c.Request.Method),
			slog.String("route", route), slog.Int("status", c.Writer.Status()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	}
}

// Recover turns a panic into the internal error envelope and logs the stack.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				log.Error("panic", "request_id", RequestID(c), "route", c.FullPath(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					Error(c, fmt.Errorf("panic: %v", r))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// SecurityHeaders sets the headers every response carries. hsts is set when
// the public URL is https.
func SecurityHeaders(hsts bool) gin.HandlerFunc {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action 'self'; frame-ancestors 'none'"
	type header struct {
		key   string
		value []string
	}
	fixed := []header{
		{"Content-Security-Policy", []string{csp}},
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"Referrer-Policy", []string{"no-referrer"}},
		{"X-Frame-Options", []string{"DENY"}},
		{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
		{"Cross-Origin-Resource-Policy", []string{"same-origin"}},
		{"Permissions-Policy", []string{"camera=(), microphone=(), geolocation=(), payment=()"}},
	}
	if hsts {
		fixed = append(fixed, header{"Strict-Transport-Security", []string{"max-age=31536000; includeSubDomains"}})
	}
	for _, f := range fixed {
		if f.key != http.CanonicalHeaderKey(f.key) {
			panic("httpx: header " + f.key + " is not in canonical form")
		}
	}
	return func(c *gin.Context) {
		// The value slices are shared by all responses (Set would allocate
		// one per header and request). That is safe as long as nobody writes
		// into one: Set and Del replace a slice, and Add appends to a full
		// one (length = capacity = 1), which copies it.
		h := c.Writer.Header()
		for _, f := range fixed {
			h[f.key] = f.value
		}
		c.Next()
	}
}

// Route is a route as gin matched it: the method and the full path of the
// route pattern ("/api/v1/offices/:office/appointments"). Middleware that
// applies to some routes keys its table by Route: looking a request up then
// builds no string.
type Route struct{ Method, Path string }

// RouteOf returns the Route of key "METHOD /full/path", and false when the key
// has no space (it then matches no request).
func RouteOf(key string) (Route, bool) {
	m, p, ok := strings.Cut(key, " ")
	return Route{m, p}, ok
}

// MatchedRoute returns the request's Route (an empty path when none matched).
func MatchedRoute(c *gin.Context) Route { return Route{c.Request.Method, c.FullPath()} }

// RouteSet returns the set of the routes named "METHOD /full/path" in keys
// whose value is true.
func RouteSet(keys map[string]bool) map[Route]bool {
	out := make(map[Route]bool, len(keys))
	for k, on := range keys {
		if r, ok := RouteOf(k); ok && on {
			out[r] = true
		}
	}
	return out
}

// NoStore marks a response as personal: no cache may keep it.
func NoStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		SetNoStore(c)
		c.Next()
	}
}

// noStore is the one value slice of Cache-Control: no-store, shared by all
// responses as the security headers are (see SecurityHeaders).
var noStore = []string{"no-store"}

// SetNoStore sets Cache-Control: no-store on the response.
func SetNoStore(c *gin.Context) { c.Writer.Header()["Cache-Control"] = noStore[:1:1] }

// LimitBody caps request bodies at MaxBody (413 beyond) and, for requests with
// a body, requires a JSON content type (415 otherwise).
func LimitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.ContentLength > MaxBody {
			Error(c, ErrTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(c.Writer, r.Body, MaxBody)
		if hasBody(r) && !isJSON(r.Header.Get("Content-Type")) {
			Error(c, ErrMediaType)
			return
		}
		c.Next()
	}
}

func hasBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return r.ContentLength != 0
	}
	return r.ContentLength > 0
}

func isJSON(ct string) bool {
	switch ct {
	case "application/json", "application/json; charset=utf-8":
		return true // what clients send; no need to parse
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// Metrics counts requests and their latency by route, method and status.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rathaus_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rathaus_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// Middleware observes each request.
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "(unmatched)"
		}
		if strings.HasSuffix(route, "/stream") {
			return // long-lived streams would distort the latency histogram
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.latency.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
	}
}
