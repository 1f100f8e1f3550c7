package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/store"
)

// baselineServer serves GET /get: a plain gin handler doing one Redis GET,
// the yardstick of the HTTP scenarios. It returns its URL and a stop func.
func baselineServer(st *store.Store) (string, func(), error) {
	r := gin.New()
	r.GET("/get", func(c *gin.Context) {
		v, err := st.Client.Get(c.Request.Context(), "rathaus:bench:baseline").Result()
		if err != nil {
			c.Status(http.StatusServiceUnavailable)
			return
		}
		c.String(http.StatusOK, v)
	})
	if err := st.Client.Set(context.Background(), "rathaus:bench:baseline", "v", 0).Err(); err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// benchBaselineGET measures the plain gin + one GET handler.
func (b *bench) benchBaselineGET(ctx context.Context) benchResult {
	url, stop, err := baselineServer(b.st)
	if err != nil {
		return benchResult{Name: "baseline-gin-get", Note: err.Error()}
	}
	defer stop()
	return runLoad(ctx, loadSpec{name: "baseline-gin-get", conns: b.conns, dur: b.dur, do: func(ctx context.Context, _ int) error {
		return b.get(ctx, url+"/get", 200)
	}}, b.prog)
}

// benchBaselineEvalsha measures the booking script alone, sent as EVALSHA
// through go-redis (no HTTP, no read before it).
func (b *bench) benchBaselineEvalsha(ctx context.Context) benchResult {
	base := int(time.Now().Unix()%100) * 200_000 // fresh appointments on (almost) every run
	return runLoad(ctx, loadSpec{name: "baseline-evalsha-book", conns: b.conns, dur: b.dur, do: func(ctx context.Context, i int) error {
		err := booking.BenchBookScript(ctx, b.st.Client, base+i)
		if err != nil && errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}}, b.prog)
}
