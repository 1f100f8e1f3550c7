package queue

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/httpx"
	"github.com/rathaus/rathaus/internal/store"
)

// testServer is one rathaus instance's queue routes (with auth) on a real store.
type testServer struct {
	*fixture
	URL   string
	staff string // bearer token of the staff user anna
}

func newTestServer(t testing.TB, st *store.Store, now time.Time, mod func(*Config)) *testServer {
	t.Helper()
	f := newFixture(t, st, now, mod)
	ctx := context.Background()
	authSvc := auth.NewService(st.Client, f.clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := authSvc.SetUser(ctx, "anna", auth.RoleStaff, []string{"testamt"}, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	token, _, _, err := authSvc.Login(ctx, "anna", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.ContextWithFallback = true
	api := r.Group("/api/v1", httpx.LimitBody())
	NewHTTP(f.svc).Register(api, auth.NewHTTP(authSvc, false))
	ts := httptest.NewServer(r)
	t.Cleanup(func() {
		f.svc.Close() // ends the live streams
		ts.CloseClientConnections()
		ts.Close()
	})
	return &testServer{fixture: f, URL: ts.URL, staff: token}
}

// do sends a request; body is JSON-encoded when not nil; staff adds the bearer token.
func (s *testServer) do(t testing.TB, method, path string, body any, staff bool) (*http.Response, []byte) {
	t.Helper()
	return s.doWith(t, method, path, "", staff, body)
}

// doWith is do with an Idempotency-Key header (none when key is "").
func (s *testServer) doWith(t testing.TB, method, path, key string, staff bool, body ...any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if len(body) > 0 && body[0] != nil {
		b, _ := json.Marshal(body[0])
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if staff {
		req.Header.Set("Authorization", "Bearer "+s.staff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// wantEnvelope checks an error response: status, the envelope and its code.
func wantEnvelope(t testing.TB, resp *http.Response, body []byte, status int, code string) map[string]any {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		t.Fatalf("not an error envelope: %s", body)
	}
	if env.Error["code"] != code || env.Error["message"] == "" {
		t.Fatalf("error %v, want code %s with a message", env.Error, code)
	}
	return env.Error
}

// sseEvent is one event read from a stream.
type sseEvent struct{ ID, Name, Data string }

// sseClient reads an event stream.
type sseClient struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// openSSE connects to url with an optional Last-Event-ID. The context's
// deadline only keeps a broken test from hanging; no test asserts on time.
func openSSE(t testing.TB, url, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(c.Close)
	return c
}

// Close ends the connection.
func (c *sseClient) Close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next event (comments and retry lines are skipped).
func (c *sseClient) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.Name != "" || ev.Data != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.Data = line[6:]
		}
	}
}

// nextNamed returns the next event called name, skipping others.
func (c *sseClient) nextNamed(t testing.TB, name string) sseEvent {
	t.Helper()
	for {
		ev, err := c.next()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if ev.Name == name {
			return ev
		}
	}
}

// newHTTPServer serves h until the test ends and returns its URL.
func newHTTPServer(t testing.TB, h http.Handler) string {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// post sends an empty POST and expects 200.
func post(url string) error {
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// openSSEWith connects a stream through the transport tr (no Last-Event-ID).
func openSSEWith(t testing.TB, tr *http.Transport, url string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("stream: %v", err)
	}
	c := &sseClient{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(c.Close)
	return c
}
