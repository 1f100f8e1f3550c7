package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchResult is one line of the bench table.
type benchResult struct {
	Name     string  `json:"name"`
	Conns    int     `json:"conns"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	// Check is a correctness check ("booked = capacity: 100 = 100") and CheckOK its outcome.
	Check   string `json:"check,omitempty"`
	CheckOK *bool  `json:"check_ok,omitempty"`
	// Ratio compares RPS with the baseline named in RatioTo.
	Ratio   float64 `json:"ratio,omitempty"`
	RatioTo string  `json:"ratio_to,omitempty"`
	Note    string  `json:"note,omitempty"`
	// CPUus and RedisCPUus are the CPU time per request of this process
	// (load generator and, without --url, server and mail worker) and of
	// Redis (INFO cpu, every master; 0 for the embedded store, which runs in
	// this process, or INFO failed) over the line: a cost figure steadier than req/s on a
	// shared machine.
	CPUus      float64 `json:"cpu_us_per_request,omitempty"`
	RedisCPUus float64 `json:"redis_cpu_us_per_request,omitempty"`
}

func (r *benchResult) check(ok bool, format string, args ...any) {
	r.Check, r.CheckOK = fmt.Sprintf(format, args...), &ok
}

// loadSpec describes a closed-loop load: conns workers each send a request,
// wait for its answer, send the next, until dur has passed or max requests
// were sent.
type loadSpec struct {
	name  string
	conns int
	dur   time.Duration
	max   int
	// rate, when above 0, paces the requests (an open loop): request i is
	// due at start + i/rate, a connection waits for it, and its latency counts
	// from when it was due — so time spent waiting for a free connection
	// (the server falling behind) is latency too.
	rate float64
	// do sends request i (0, 1, 2, … across all workers); an error counts
	// as an error and its latency is still recorded.
	do func(ctx context.Context, i int) error
}

// runLoad runs spec, shows progress on prog and returns the measured line.
func runLoad(ctx context.Context, spec loadSpec, prog *progress) benchResult {
	if spec.max <= 0 {
		spec.max = math.MaxInt32
	}
	var next, errs atomic.Int64
	lat := make([][]time.Duration, spec.conns)
	start := time.Now()
	deadline := start.Add(spec.dur)
	stopBar := prog.start(spec.name, func() float64 {
		byTime := float64(time.Since(start)) / float64(spec.dur)
		byCount := float64(next.Load()) / float64(spec.max)
		return min(max(byTime, byCount), 1)
	})
	var wg sync.WaitGroup
	for w := range spec.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= spec.max {
					return
				}
				t0 := time.Now()
				if spec.rate > 0 {
					t0 = start.Add(time.Duration(float64(i) / spec.rate * float64(time.Second)))
					if !t0.Before(deadline) {
						return
					}
					if d := time.Until(t0); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				}
				if err := spec.do(ctx, i); err != nil {
					errs.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	stopBar()
	all := slices.Concat(lat...)
	r := summarize(spec.name, all, time.Since(start))
	r.Conns, r.Errors = spec.conns, int(errs.Load())
	return r
}

// summarize computes the rate and percentiles of latencies over elapsed.
func summarize(name string, lat []time.Duration, elapsed time.Duration) benchResult {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := min(int(math.Ceil(p*float64(len(lat))))-1, len(lat)-1)
		return float64(lat[max(i, 0)]) / float64(time.Millisecond)
	}
	return benchResult{Name: name, Requests: len(lat), Seconds: elapsed.Seconds(),
		RPS: float64(len(lat)) / elapsed.Seconds(), P50: pct(0.50), P95: pct(0.95), P99: pct(0.99)}
}

// progress draws a bar on stderr while a scenario runs.
type progress struct {
	out   io.Writer
	quiet bool
}

func (p *progress) start(name string, frac func() float64) (stop func()) {
	if p.quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			p.draw(name, frac())
			select {
			case <-done:
				p.draw(name, 1)
				fmt.Fprintln(p.out)
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (p *progress) draw(name string, f float64) {
	const width = 30
	n := int(f * width)
	fmt.Fprintf(p.out, "\r%-22s [%s%s] %3.0f%%", name, strings.Repeat("#", n), strings.Repeat(".", width-n), f*100)
}

// benchClient returns an HTTP client for conns parallel loopback connections.
func benchClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns + 16, MaxIdleConnsPerHost: conns + 16, IdleConnTimeout: time.Minute}}
}

// writeTable prints the results as an aligned table.
func writeTable(w io.Writer, rs []benchResult) {
	fmt.Fprintf(w, "%-24s %5s %8s %10s %8s %8s %8s %6s  %s\n", "scenario", "conns", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "check / ratio")
	for _, r := range rs {
		extra := r.Check
		if r.CheckOK != nil {
			extra = map[bool]string{true: "OK   ", false: "FAIL "}[*r.CheckOK] + extra
		}
		if r.RatioTo != "" {
			extra = strings.TrimSpace(fmt.Sprintf("%s  %.0f%% of %s", extra, r.Ratio*100, r.RatioTo))
		}
		switch {
		case r.CPUus > 0 && r.RedisCPUus > 0:
			extra = strings.TrimSpace(fmt.Sprintf("%s  [CPU µs/req: %.0f here, %.0f Redis]", extra, r.CPUus, r.RedisCPUus))
		case r.CPUus > 0: // the embedded store runs in this process
			extra = strings.TrimSpace(fmt.Sprintf("%s  [CPU µs/req: %.0f here]", extra, r.CPUus))
		}
		if r.Note != "" {
			extra = strings.TrimSpace(extra + "  (" + r.Note + ")")
		}
		fmt.Fprintf(w, "%-24s %5d %8d %10.0f %8.2f %8.2f %8.2f %6d  %s\n", r.Name, r.Conns, r.Requests, r.RPS, r.P50, r.P95, r.P99, r.Errors, extra)
	}
}
