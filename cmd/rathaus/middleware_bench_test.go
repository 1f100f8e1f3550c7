package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/httpx"
)

// BenchmarkHTTPPath measures what the shared HTTP path adds to a request:
// a booking-shaped POST (JSON body, office route) to a handler that reads
// the body and answers, once on a bare gin engine ("bare", the yardstick)
// and once behind the global and API middleware of the router ("chain"),
// with the rate limits off as in `rathaus bench` (on, each rule is a script
// call to Redis). Compare ns/op and allocs/op within one run.
func BenchmarkHTTPPath(b *testing.B) {
	off := map[string]string{"RATHAUS_LOG_LEVEL": "error"}
	for _, k := range []string{"READ", "BOOK", "EMAIL", "OFFICE", "TICKET", "LOGIN", "CHALLENGE"} {
		off["RATHAUS_RATE_"+k] = "off"
	}
	handler := func(c *gin.Context) {
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			c.Status(http.StatusRequestEntityTooLarge)
			return
		}
		c.Data(http.StatusCreated, "application/json; charset=utf-8", body[:2])
	}
	b.Run("bare", func(b *testing.B) {
		r := gin.New()
		r.POST("/api/v1/offices/:office/appointments", handler)
		runPath(b, r)
	})
	b.Run("chain", func(b *testing.B) {
		cfg, err := config.FromEnv(func(k string) string { return off[k] })
		if err != nil {
			b.Fatal(err)
		}
		a, err := newApp(cfg, Options{LogOutput: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.store.Close() })
		global, api := a.middleware(httpx.NewMetrics(a.reg))
		r := gin.New()
		r.Use(global...)
		r.Group("/api/v1", api...).POST("/offices/:office/appointments", handler)
		runPath(b, r)
	})
}

func runPath(b *testing.B, h http.Handler) {
	const body = `{"service":"ummeldung","start":"2026-10-05T09:00:00+02:00","name":"Anna Beispiel","email":"anna@example.org","language":"de"}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/offices/geesthacht/appointments", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
