package queue

import (
	"net/http"
	"testing"

	"github.com/rathaus/rathaus/internal/redistest"
)

// TestStoreDown503: with Redis gone, drawing a ticket, calling next and
// opening a display stream answer 503 with Retry-After, never hang or 500.
func TestStoreDown503(t *testing.T) {
	srv := redistest.Start(t)
	s := newTestServer(t, redistest.OpenURL(t, srv.URL()), at(t, "2026-10-01 09:00"), nil)
	srv.Kill()
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/offices/testamt/tickets"},
		{"GET", "/api/v1/offices/testamt/display"},
		{"GET", "/api/v1/offices/testamt/display/stream"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = map[string]string{"service": "ummeldung"}
			}
			resp, data := s.do(t, tc.method, tc.path, body, false)
			wantEnvelope(t, resp, data, http.StatusServiceUnavailable, "store_unavailable")
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("no Retry-After")
			}
		})
	}
}
