package apitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records Fatalf instead of ending the test, so
// that the client's own failures can be checked.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	panic(r) // leaves the client call; caught by run
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Helper()           {}

// run calls f with a recorder and returns what it failed with ("" if nothing).
func run(t *testing.T, f func(tb testing.TB)) (failed string) {
	rec := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != rec {
			panic(p)
		}
		failed = rec.failed
	}()
	f(rec)
	return ""
}

// fakeServer answers the platform paths; bad selects wrong answers.
func fakeServer(bad string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/healthz" && bad == "healthz-type":
			fmt.Fprint(w, `{"status": 1}`)
		case r.URL.Path == "/healthz" && bad == "healthz-status":
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, `{"status": "ok"}`)
		case r.URL.Path == "/healthz":
			fmt.Fprint(w, `{"status": "ok"}`)
		case r.URL.Path == "/api/v1/auth/login" && bad == "login-no-token":
			fmt.Fprint(w, `{"csrf_token": "c", "user": {"username": "a", "role": "admin", "offices": []}}`)
		case r.URL.Path == "/api/v1/auth/login":
			fmt.Fprint(w, `{"token": "t", "csrf_token": "c", "user": {"username": "a", "role": "admin", "offices": []}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error": {"code": "not_found", "message": "Nicht da."}}`)
		}
	}))
}

func TestDocumentValid(t *testing.T) {
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paths.Find("/api/v1/auth/login") == nil {
		t.Fatal("login is not in the document")
	}
}

func TestClient(t *testing.T) {
	login := map[string]string{"username": "admin", "password": "lang-genug-1234"}
	tests := []struct {
		name    string
		bad     string
		call    func(t testing.TB, c *Client)
		wantErr string // part of the failure; "" means the call passes
	}{
		{"OK", "", func(t testing.TB, c *Client) { c.Get(t, "/healthz").Want(t, 200) }, ""},
		{"OKLogin", "", func(t testing.TB, c *Client) { c.Post(t, "/api/v1/auth/login", login).Want(t, 200) }, ""},
		{"ErrResponseType", "healthz-type", func(t testing.TB, c *Client) { c.Get(t, "/healthz") }, "does not match the OpenAPI document"},
		{"ErrUndocumentedStatus", "healthz-status", func(t testing.TB, c *Client) { c.Get(t, "/healthz") }, "status is not supported"},
		{"ErrMissingField", "login-no-token", func(t testing.TB, c *Client) { c.Post(t, "/api/v1/auth/login", login) }, `"token"`},
		{"ErrUndocumentedPath", "", func(t testing.TB, c *Client) { c.Get(t, "/api/v1/nowhere") }, "is not in the OpenAPI document"},
		{"ErrRequestUnknownField", "", func(t testing.TB, c *Client) {
			c.Post(t, "/api/v1/auth/login", map[string]any{"username": "a", "password": "b", "extra": 1})
		}, "request POST /api/v1/auth/login does not match"},
		{"ErrRequestWrongContentType", "", func(t testing.TB, c *Client) {
			c.Post(t, "/api/v1/auth/login", "username=a", "Content-Type", "text/plain")
		}, "does not match"},
		{"OKUncheckedRequest", "", func(t testing.TB, c *Client) {
			c.Unchecked().Post(t, "/api/v1/auth/login", `{"username":`).Want(t, 200)
		}, ""},
		{"OKUncheckedUnknownPath", "", func(t testing.TB, c *Client) { c.Unchecked().Get(t, "/nowhere").Want(t, 404) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeServer(tt.bad)
			defer srv.Close()
			failed := run(t, func(tb testing.TB) { tt.call(tb, New(tb, srv.URL)) })
			switch {
			case tt.wantErr == "" && failed != "":
				t.Fatalf("client failed: %s", failed)
			case tt.wantErr != "" && !strings.Contains(failed, tt.wantErr):
				t.Fatalf("failure = %q, want one containing %q", failed, tt.wantErr)
			}
		})
	}
}

func TestWithBearer(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status": "ok"}`)
	}))
	defer srv.Close()
	c := New(t, srv.URL)
	c.WithBearer("abc").Get(t, "/healthz").Want(t, 200)
	if got != "Bearer abc" {
		t.Fatalf("Authorization = %q", got)
	}
	c.Get(t, "/healthz")
	if got != "" {
		t.Fatalf("WithBearer changed the original client: %q", got)
	}
}
