package auth

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// testServer serves the auth routes plus two guarded routes that stand for
// the staff API: GET and POST /api/v1/staff/ping.
func testServer(t *testing.T, st *store.Store, secure bool) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	svc := NewService(st.Client, clock.NewSimulated(start), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := svc.SetUser(t.Context(), "bob", RoleStaff, []string{"geesthacht"}, goodPassword); err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	api := r.Group("/api/v1")
	h := NewHTTP(svc, secure)
	h.Register(api)
	ping := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"user": MustPrincipal(c).User.Username}) }
	api.GET("/staff/ping", h.Require(), ping)
	api.POST("/staff/ping", h.Require(), ping)
	api.POST("/admin/ping", h.Require(), RequireAdmin(), ping)
	api.POST("/staff/offices/:office/ping", h.Require(), RequireOffice(), ping)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

type loginAnswer struct {
	Token     string `json:"token"`
	CSRFToken string `json:"csrf_token"`
	User      User   `json:"user"`
}

func login(t *testing.T, srv *httptest.Server) (loginAnswer, *http.Cookie) {
	t.Helper()
	res, err := http.Post(srv.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"bob","password":"`+goodPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("login: %d %s", res.StatusCode, b)
	}
	var a loginAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	return a, cookies[0]
}

// call sends method path with the given auth and returns status and error code.
func call(t *testing.T, srv *httptest.Server, method, path string, bearer string, ck *http.Cookie, csrf string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if ck != nil {
		req.AddCookie(ck)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body.Error.Code
}

func TestHTTPAuth(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := testServer(t, st, false)
		a, ck := login(t, srv)
		if a.User.Username != "bob" || a.Token == "" || a.CSRFToken == "" {
			t.Fatalf("login answer = %+v", a)
		}
		if ck.Name != "rathaus_session" || ck.Value != a.Token || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
			t.Fatalf("cookie = %+v", ck)
		}
		tests := []struct {
			name     string
			method   string
			path     string
			bearer   string
			cookie   *http.Cookie
			csrf     string
			want     int
			wantCode string
		}{
			{"NoCredentials", "GET", "/api/v1/staff/ping", "", nil, "", 401, "unauthenticated"},
			{"BadBearer", "GET", "/api/v1/staff/ping", "wrong", nil, "", 401, "unauthenticated"},
			{"CookieGetWithoutCSRF", "GET", "/api/v1/staff/ping", "", ck, "", 200, ""},
			{"CookiePostWithoutCSRF", "POST", "/api/v1/staff/ping", "", ck, "", 403, "csrf_token_invalid"},
			{"CookiePostWrongCSRF", "POST", "/api/v1/staff/ping", "", ck, "x" + a.CSRFToken, 403, "csrf_token_invalid"},
			{"CookiePostWithCSRF", "POST", "/api/v1/staff/ping", "", ck, a.CSRFToken, 200, ""},
			{"BearerPostWithoutCSRF", "POST", "/api/v1/staff/ping", a.Token, nil, "", 200, ""},
			{"StaffNotAdmin", "POST", "/api/v1/admin/ping", a.Token, nil, "", 403, "forbidden"},
			{"StaffOwnOffice", "POST", "/api/v1/staff/offices/geesthacht/ping", a.Token, nil, "", 200, ""},
			{"StaffOtherOffice", "POST", "/api/v1/staff/offices/elsewhere/ping", a.Token, nil, "", 403, "forbidden"},
			{"Me", "GET", "/api/v1/auth/me", a.Token, nil, "", 200, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, code := call(t, srv, tt.method, tt.path, tt.bearer, tt.cookie, tt.csrf)
				if status != tt.want || code != tt.wantCode {
					t.Fatalf("got %d %q, want %d %q", status, code, tt.want, tt.wantCode)
				}
			})
		}
		t.Run("LogoutWithCookieNeedsCSRF", func(t *testing.T) {
			if status, code := call(t, srv, "POST", "/api/v1/auth/logout", "", ck, ""); status != 403 || code != "csrf_token_invalid" {
				t.Fatalf("logout without CSRF: %d %s", status, code)
			}
			if status, _ := call(t, srv, "POST", "/api/v1/auth/logout", "", ck, a.CSRFToken); status != 200 {
				t.Fatalf("logout: %d", status)
			}
			if status, _ := call(t, srv, "GET", "/api/v1/auth/me", a.Token, nil, ""); status != 401 {
				t.Fatalf("token still works after logout: %d", status)
			}
		})
	})
}

func TestHTTPLogin(t *testing.T) {
	st := redistest.OpenURL(t, "")
	srv := testServer(t, st, false)
	tests := []struct {
		name     string
		body     string
		want     int
		wantCode string
	}{
		{"ErrWrongPassword", `{"username":"bob","password":"falsch-falsch-falsch"}`, 401, "invalid_credentials"},
		{"ErrUnknownField", `{"username":"bob","password":"x","remember":true}`, 400, "unknown_field"},
		{"ErrMalformed", `{"username":"bob",`, 400, "malformed_json"},
	}
	t.Run("OKNameInCapitals", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"username":" Bob ","password":"`+goodPassword+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status = %d", res.StatusCode)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := http.Post(srv.URL+"/api/v1/auth/login", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != tt.want || body.Error.Code != tt.wantCode {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, body.Error.Code, tt.want, tt.wantCode)
			}
			if len(res.Cookies()) != 0 {
				t.Fatal("a failed login set a cookie")
			}
		})
	}
}

func TestHTTPSecureCookie(t *testing.T) {
	st := redistest.OpenURL(t, "")
	srv := testServer(t, st, true)
	_, ck := login(t, srv)
	if ck.Name != "__Host-rathaus_session" || !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly {
		t.Fatalf("cookie over TLS = %+v, want __Host- prefix, Secure, Path=/, no Domain, HttpOnly", ck)
	}
}
