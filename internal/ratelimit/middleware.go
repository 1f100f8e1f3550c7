package ratelimit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/httpx"
)

// Rule limits one scope of a route: the client id comes from ID (false: the
// rule does not apply to this request, e.g. no e-mail address in the body).
type Rule struct {
	Scope string
	Rate  config.Rate
	ID    func(c *gin.Context) (string, bool)
}

// Routes maps "METHOD /full/gin/path" to the rules of that route.
type Routes map[string][]Rule

// Middleware applies the rules of the matched route; routes without rules
// pass untouched. A refused request gets 429 with Retry-After and the error
// envelope (code rate_limited). Rules whose rate is off are dropped here,
// once: a request then neither reads its client id (for the e-mail rule, the
// body) nor asks Redis, and with every rate off the middleware only calls
// the next handler.
func (l *Limiter) Middleware(routes Routes) gin.HandlerFunc {
	active := make(map[httpx.Route][]Rule, len(routes))
	for key, rules := range routes {
		route, ok := httpx.RouteOf(key)
		if !ok {
			continue // matches no request
		}
		for _, r := range rules {
			if r.Rate.N > 0 {
				active[route] = append(active[route], r)
			}
		}
	}
	if len(active) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		for _, r := range active[httpx.MatchedRoute(c)] {
			id, ok := r.ID(c)
			if !ok {
				continue
			}
			wait, err := l.Allow(c.Request.Context(), r.Scope, id, r.Rate)
			if err != nil {
				httpx.Error(c, err)
				return
			}
			if wait > 0 {
				httpx.Error(c, Limited(wait))
				return
			}
		}
		c.Next()
	}
}

// Address is the client's address as gin's ClientIP gives it: the peer, or
// the X-Forwarded-For entry a trusted proxy added. IPv6 clients count by
// their /64, the smallest network a household gets.
func Address(c *gin.Context) (string, bool) {
	ip := c.ClientIP()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip, true
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String(), true
	}
	return a.String(), true
}

// Office is the route's :office.
func Office(c *gin.Context) (string, bool) { return c.Param("office"), c.Param("office") != "" }

// Email is the normalised "email" field of a JSON body (lower case, without a
// +tag), read without consuming the body: the handler reads it again.
func Email(c *gin.Context) (string, bool) {
	body, err := io.ReadAll(c.Request.Body)
	c.Request.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
	if err != nil {
		return "", false
	}
	var v struct {
		Email string `json:"email"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	e := NormalizeEmail(v.Email)
	return e, e != ""
}

// NormalizeEmail folds the spellings of one mailbox together: case, spaces
// and a +tag in the local part ("Anna+1@X.de" is "anna@x.de").
func NormalizeEmail(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" {
		return ""
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local + "@" + domain
}

// errReader replays a read error (nil: EOF) after the peeked bytes, so that
// a body over the limit still fails as too large in the handler.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) {
	if r.err == nil {
		return 0, io.EOF
	}
	return 0, r.err
}
