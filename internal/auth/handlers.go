package auth

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/httpx"
)

// HTTP serves the login routes and guards the staff routes.
type HTTP struct {
	svc    *Service
	secure bool // public URL is https: __Host- cookie with Secure
	// Audit, when set, is told of logins, failed logins and logouts: the
	// username (as typed, for failures), the action and the status.
	Audit func(c *gin.Context, actor, action string, status int)
	// KnownOffice, when set, checks the offices of accounts created over the API.
	KnownOffice func(office string) bool
}

func (h *HTTP) audit(c *gin.Context, actor, action string, status int) {
	if h.Audit != nil {
		h.Audit(c, actor, action, status)
	}
}

// NewHTTP returns the HTTP side of svc; secure says whether the public URL is https.
func NewHTTP(svc *Service, secure bool) *HTTP { return &HTTP{svc: svc, secure: secure} }

// CookieName is the session cookie's name.
func (h *HTTP) CookieName() string {
	if h.secure {
		return "__Host-rathaus_session"
	}
	return "rathaus_session"
}

// Register adds the auth routes to api (the /api/v1 group).
func (h *HTTP) Register(api *gin.RouterGroup) {
	api.POST("/auth/login", h.handleLogin)
	api.POST("/auth/logout", h.Require(), h.handleLogout)
	api.GET("/auth/me", h.Require(), h.handleMe)
	h.registerUsers(api)
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleLogin handles POST /api/v1/auth/login.
func (h *HTTP) handleLogin(c *gin.Context) {
	var req loginRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	// Usernames are lower case; people type them as they like.
	username := strings.ToLower(strings.TrimSpace(req.Username))
	token, csrf, u, err := h.svc.Login(c.Request.Context(), username, req.Password)
	if err != nil {
		httpx.Error(c, err)
		h.audit(c, h.knownOrNot(c, username), "login_failed", c.Writer.Status())
		return
	}
	h.audit(c, u.Username, "login", http.StatusOK)
	http.SetCookie(c.Writer, &http.Cookie{Name: h.CookieName(), Value: token, Path: "/", HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteStrictMode, MaxAge: int(absoluteTimeout.Seconds())})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"token": token, "csrf_token": csrf, "user": u})
}

// knownOrNot returns username if such a user exists, else "(unknown)": a
// password typed into the username field must not reach the audit log.
func (h *HTTP) knownOrNot(c *gin.Context, username string) string {
	if !usernameRE.MatchString(username) || h.Audit == nil {
		return "(unknown)"
	}
	if _, err := h.svc.st.getUser(c.Request.Context(), username); err != nil {
		return "(unknown)"
	}
	return username
}

// handleLogout handles POST /api/v1/auth/logout.
func (h *HTTP) handleLogout(c *gin.Context) {
	p := MustPrincipal(c)
	if err := h.svc.Logout(c.Request.Context(), p); err != nil {
		httpx.Error(c, err)
		return
	}
	h.audit(c, p.User.Username, "logout", http.StatusOK)
	http.SetCookie(c.Writer, &http.Cookie{Name: h.CookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	c.JSON(http.StatusOK, gin.H{"logged_out": true})
}

// handleMe handles GET /api/v1/auth/me.
func (h *HTTP) handleMe(c *gin.Context) {
	p := MustPrincipal(c)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"user": p.User, "csrf_token": p.CSRF})
}

const principalKey = "rathaus.principal"

// Require authenticates the caller by bearer token or by session cookie; a
// cookie request that changes state must carry the session's X-CSRF-Token.
func (h *HTTP) Require() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, viaCookie := bearer(c), false
		if token == "" {
			if ck, err := c.Request.Cookie(h.CookieName()); err == nil {
				token, viaCookie = ck.Value, true
			}
		}
		if token == "" {
			httpx.Error(c, ErrUnauthenticated)
			return
		}
		p, err := h.svc.Authenticate(c.Request.Context(), token)
		if err != nil {
			httpx.Error(c, err)
			return
		}
		if viaCookie && !safeMethod(c.Request.Method) &&
			subtle.ConstantTimeCompare([]byte(c.GetHeader("X-CSRF-Token")), []byte(p.CSRF)) != 1 {
			httpx.Error(c, ErrCSRF)
			return
		}
		c.Set(principalKey, p)
		c.Header("Cache-Control", "no-store")
		c.Next()
	}
}

// RequireAdmin lets only admins through; it runs after Require.
func RequireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if MustPrincipal(c).User.Role != RoleAdmin {
			httpx.Error(c, ErrForbidden)
			return
		}
		c.Next()
	}
}

// RequireOffice lets through admins and staff bound to the route's :office; it runs after Require.
func RequireOffice() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !MustPrincipal(c).User.CanUseOffice(c.Param("office")) {
			httpx.Error(c, ErrForbidden)
			return
		}
		c.Next()
	}
}

// PrincipalOf returns the caller that Require authenticated, if it did.
func PrincipalOf(c *gin.Context) (Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return Principal{}, false
	}
	p, ok := v.(Principal)
	return p, ok
}

// MustPrincipal returns the caller that Require authenticated.
func MustPrincipal(c *gin.Context) Principal {
	return c.MustGet(principalKey).(Principal)
}

func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
