package audit

import (
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/httpx"
)

// Middleware records every request of an authenticated user to a route under
// one of prefixes (the staff and admin groups) after it ran: actor, method
// and route, target (the route's parameters), status and request id. Reads
// that only list counters or statistics are not recorded; reads of personal
// data (appointments) are. Requests without a valid session are not: anyone
// could send them, and a flood of them must not push real entries out of the
// capped stream.
func (l *Log) Middleware(log *slog.Logger, prefixes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		route := c.FullPath()
		if !hasPrefix(route, prefixes) || (c.Request.Method == http.MethodGet && !strings.Contains(route, "/appointments") && c.Writer.Status() < 400) {
			return
		}
		p, ok := auth.PrincipalOf(c)
		if !ok {
			return
		}
		e := Entry{Actor: p.User.Username, Action: c.Request.Method + " " + route, Target: target(c), Status: c.Writer.Status(),
			RequestID: httpx.RequestID(c)}
		if err := l.Record(c.Request.Context(), e); err != nil {
			log.Warn("audit: could not record", "request_id", e.RequestID, "action", e.Action, "err", err)
		}
	}
}

func hasPrefix(route string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(route, p) {
			return true
		}
	}
	return false
}

// targetKey is the gin context key under which a handler names what its
// request acted on beyond the route parameters (see SetTarget).
const targetKey = "audit.target"

// SetTarget adds key=value to the audit entry of c's request, for what the
// route's parameters do not name: the appointment a staff booking created,
// the code a search looked for.
func SetTarget(c *gin.Context, key, value string) {
	extra, _ := c.Get(targetKey)
	m, _ := extra.(map[string]string)
	if m == nil {
		m = map[string]string{}
		c.Set(targetKey, m)
	}
	m[key] = value
}

// target lists the route parameters (office, counter, ticket, closure id …)
// and what the handler added with SetTarget, in a stable order; values are
// capped so that a hostile path stays short.
func target(c *gin.Context) string {
	parts := make([]string, 0, len(c.Params))
	add := func(k, v string) {
		if len(v) > 64 {
			v = v[:64]
		}
		parts = append(parts, k+"="+v)
	}
	for _, p := range c.Params {
		add(p.Key, p.Value)
	}
	if extra, ok := c.Get(targetKey); ok {
		for k, v := range extra.(map[string]string) {
			add(k, v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// Auth records login, failed login and logout, as auth.HTTP reports them.
// Failed logins for no existing account ("(unknown)") are left out: the
// per-account lock bounds the failures of real accounts, nothing bounds
// invented names, and they must not flush the capped stream.
func (l *Log) Auth(log *slog.Logger) func(c *gin.Context, actor, action string, status int) {
	return func(c *gin.Context, actor, action string, status int) {
		if actor == "(unknown)" {
			return
		}
		if len(actor) > 64 {
			actor = actor[:64]
		}
		e := Entry{Actor: actor, Action: action, Status: status, RequestID: httpx.RequestID(c)}
		if err := l.Record(c.Request.Context(), e); err != nil {
			log.Warn("audit: could not record", "request_id", e.RequestID, "action", action, "err", err)
		}
	}
}

var errLimit = apperr.Invalid("limit", "invalid_limit", "limit ist eine Zahl von 1 bis 1000.", "limit is a number from 1 to 1000.")

// HandleIndex handles GET /api/v1/admin/audit?limit=n (admins): the newest
// entries first, 100 unless limit says otherwise (at most 1000).
func (l *Log) HandleIndex(c *gin.Context) {
	limit := int64(100)
	if v := c.Query("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1000 {
			httpx.Error(c, errLimit)
			return
		}
		limit = n
	}
	if err := l.Flush(c.Request.Context()); err != nil {
		httpx.Error(c, err)
		return
	}
	entries, err := l.Recent(c.Request.Context(), limit)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"entries": entries})
}
