package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

var t0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func TestRecordAndRecent(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := clock.NewSimulated(t0)
		l := New(st.Client, clk)
		for i, a := range []string{"login", "POST /api/v1/admin/offices/:office/closures", "logout"} {
			clk.Advance(time.Second)
			if err := l.Record(ctx, Entry{Actor: "erika", Action: a, Target: "office=geesthacht", Status: 200 + i, RequestID: "r1"}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.Recent(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Action != "logout" || got[1].Status != 201 || got[0].Actor != "erika" ||
			!got[0].Time.Equal(t0.Add(3*time.Second)) || got[1].Target != "office=geesthacht" || got[0].RequestID != "r1" || got[0].ID == "" {
			t.Fatalf("Recent = %+v", got)
		}
	})
}

// TestMiddleware records staff routes of authenticated users after they
// ran, and skips anonymous calls, public routes and plain staff reads.
func TestMiddleware(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		gin.SetMode(gin.TestMode)
		l := New(st.Client, clock.NewSimulated(t0))
		r := gin.New()
		api := r.Group("/api/v1", l.Middleware(slog.New(slog.NewTextHandler(io.Discard, nil)), "/api/v1/staff/"))
		erika := func(c *gin.Context) { c.Set("rathaus.principal", auth.Principal{User: auth.User{Username: "erika"}}) }
		ok := func(c *gin.Context) { erika(c); c.Status(http.StatusOK) }
		api.POST("/staff/offices/:office/counters/:counter/call-next", func(c *gin.Context) { erika(c); c.Status(http.StatusConflict) })
		api.POST("/staff/offices/:office/counters/:counter/close", func(c *gin.Context) { c.Status(http.StatusUnauthorized) })
		api.GET("/staff/offices/:office/counters", ok)
		api.GET("/staff/offices/:office/appointments", func(c *gin.Context) { SetTarget(c, "code", c.Query("code")); ok(c) })
		api.POST("/offices/:office/tickets", ok)
		for _, rq := range []struct{ method, path string }{
			{"POST", "/api/v1/staff/offices/geesthacht/counters/2/call-next"},
			{"POST", "/api/v1/staff/offices/geesthacht/counters/2/close"},
			{"GET", "/api/v1/staff/offices/geesthacht/counters"},
			{"GET", "/api/v1/staff/offices/geesthacht/appointments?code=WCA-TEQ"},
			{"POST", "/api/v1/offices/geesthacht/tickets"},
		} {
			r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(rq.method, rq.path, nil))
		}
		got, err := l.Recent(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[1].Action != "POST /api/v1/staff/offices/:office/counters/:counter/call-next" ||
			got[1].Actor != "erika" || got[1].Status != 409 || got[1].Target != "counter=2 office=geesthacht" ||
			got[0].Action != "GET /api/v1/staff/offices/:office/appointments" || got[0].Target != "code=WCA-TEQ office=geesthacht" {
			t.Fatalf("entries = %+v", got)
		}
	})
}

// TestWriter: after Start, entries recorded from many goroutines all reach
// the stream, in batches; Flush waits for them; stop writes what is still
// queued; after stop, Record writes at once again.
func TestWriter(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := New(st.Client, clock.NewSimulated(t0))
		stop := l.Start(slog.New(slog.NewTextHandler(io.Discard, nil)))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 250 {
					if err := l.Record(ctx, Entry{Actor: fmt.Sprintf("u%d", g), Action: "call-next", Status: i}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := st.Client.XLen(ctx, Key()).Val(); n != 2000 {
			t.Fatalf("after Flush: %d entries, want 2000", n)
		}
		// per actor, the entries are in the order they were recorded
		got, err := l.Recent(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		last := map[string]int{}
		for _, e := range got { // newest first
			if prev, ok := last[e.Actor]; ok && e.Status != prev-1 {
				t.Fatalf("%s: entry %d after %d", e.Actor, e.Status, prev)
			}
			last[e.Actor] = e.Status
		}
		for i := range 100 {
			if err := l.Record(ctx, Entry{Actor: "late", Action: "logout", Status: i}); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		if n := st.Client.XLen(ctx, Key()).Val(); n != 2100 {
			t.Fatalf("after stop: %d entries, want 2100 (stop writes what is queued)", n)
		}
		if err := l.Record(ctx, Entry{Actor: "after", Action: "login"}); err != nil {
			t.Fatal(err)
		}
		if n := st.Client.XLen(ctx, Key()).Val(); n != 2101 {
			t.Fatalf("a Record after stop: %d entries, want 2101 (written at once)", n)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		stop() // twice is harmless
	})
}

// TestWriterUnreplicated: under ?wait=1 without a replica every batch and
// every direct Record fails the WAIT, but its entries are on the primary: the
// writer must not write them again (once each, not three times), and Record
// reports the failure as unavailable.
func TestWriterUnreplicated(t *testing.T) {
	srv := redistest.Start(t)
	st := redistest.OpenURL(t, srv.URL()+"?wait=1&wait_timeout=100ms")
	ctx := context.Background()
	l := New(st.Client, clock.NewSimulated(t0))
	stop := l.Start(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 5 {
		if err := l.Record(ctx, Entry{Actor: "erika", Action: "call-next", Status: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if n := srv.Client(t).XLen(ctx, Key()).Val(); n != 5 {
		t.Fatalf("%d entries, want 5 (each once: an unconfirmed batch is not written again)", n)
	}
	err := l.Record(ctx, Entry{Actor: "erika", Action: "logout"})
	if !store.IsUnreplicated(err) || !store.IsUnavailable(err) {
		t.Fatalf("Record without the replica ?wait= asks for: %v, want unreplicated and unavailable", err)
	}
}
