package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"time"

	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/store"
)

// benchScenarios are the names "rathaus bench" knows, in the order they run.
var benchScenarios = []string{"baseline-get", "baseline-evalsha", "availability", "booking", "booking-paced", "mixed", "rush", "queue", "fanout", "pages"}

const benchUsage = `usage: rathaus bench [flags]
  Runs named load scenarios against a rathaus server and prints a table
  (requests/s, p50/p95/p99, errors, checks, ratios to the baselines measured
  in the same run). Without --url it starts its own server in-process on the
  Redis of --redis-url (or the embedded store), with the bench offices.
`

// bench holds what the scenarios share.
type bench struct {
	url      string // the rathaus server
	st       *store.Store
	redisURL string
	conns    int
	dur      time.Duration
	client   *http.Client
	prog     *progress
	adminPw  string
	loc      *time.Location
	// rushClients and rushSeats size the booking rush.
	rushClients int
	// queueTickets is how many tickets the call-next line calls.
	queueTickets int
	// ticketPages is how many ticket status streams the pages line opens.
	ticketPages int
	memoryN     int
	// memoryDense books the memory scenario's appointments into the one
	// office "bench" (about 1,850 a day: the worst case) instead of the 43
	// "city" offices (about 100 a day each, like Berlin's).
	memoryDense bool
	// bookingRPS is the rate the booking scenario reached (booking-paced
	// runs at half of it).
	bookingRPS float64
}

// benchCommand runs "rathaus bench".
func benchCommand(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	url := fs.String("url", "", "base URL of a running server started with the bench offices (see --offices-file); empty: start one in-process")
	redisURL := fs.String("redis-url", cfg.RedisURL, "Redis of the server (RATHAUS_REDIS_URL); needed with --url for the baselines and memory figures")
	scen := fs.String("scenarios", strings.Join(benchScenarios, ","), "comma-separated scenarios: "+strings.Join(benchScenarios, ", ")+", memory")
	conns := fs.Int("conns", 64, "parallel connections of the throughput scenarios")
	dur := fs.Duration("duration", 5*time.Second, "length of each throughput scenario")
	rush := fs.Int("rush-clients", 10000, "clients of the booking rush on 100 seats")
	queueTickets := fs.Int("queue-tickets", 3000, "tickets drawn and then called by 10 counters (call-next line)")
	pages := fs.Int("ticket-pages", 500, "ticket status streams (pages in a waiting room) the pages line opens")
	memN := fs.Int("memory-appointments", 10000, "appointments booked by the memory scenario")
	memDense := fs.Bool("memory-dense", false, "memory scenario: book into one office (≈1,850 a day) instead of 43 city offices (≈100 a day each)")
	adminPw := fs.String("admin-password", "", "admin password of the server at --url (queue and fanout scenarios)")
	jsonOut := fs.Bool("json", false, "print JSON instead of the table")
	jsonFile := fs.String("json-out", "", "also write the JSON to this file (for comparing runs), while the table is printed")
	officesOut := fs.String("offices-file", "", "write the bench offices YAML to this file and exit (for a server of your own)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (load generator and, without --url, the server) for each line: PREFIX-NN-line.pprof (waits for outboxes to empty are not in them)")
	traceOut := fs.String("trace", "", "write an execution trace of this process for each line: PREFIX-NN-line.trace (go tool trace; -pprof=sched gives where goroutines waited for a CPU)")
	memProfile := fs.String("memprofile", "", "write allocation profiles of this process for each line: PREFIX-NN-line.before.pprof and PREFIX-NN-line.pprof (go tool pprof -sample_index=alloc_space -base BEFORE AFTER)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return &usageError{msg: err.Error()}
	}
	if *officesOut != "" {
		return os.WriteFile(*officesOut, []byte(allBenchOffices()), 0o644)
	}
	b := &bench{url: *url, redisURL: *redisURL, conns: *conns, dur: *dur, client: benchClient(max(*conns, 512)),
		prog: &progress{out: stderr, quiet: *quiet}, adminPw: *adminPw, rushClients: *rush, queueTickets: max(*queueTickets, 1), ticketPages: max(*pages, 2*ticketPageCalls), memoryN: *memN,
		memoryDense: *memDense}
	b.loc, _ = time.LoadLocation("Europe/Berlin")
	stop, err := b.setup(ctx, stderr)
	if err != nil {
		return err
	}
	defer stop()
	var results []benchResult
	for i, name := range pairWithBaselines(strings.Split(*scen, ",")) {
		if name != "booking-paced" { // it measures right after booking, at half its rate
			b.quiesce(ctx)
		}
		stopProfile, err := startLineProfile(*cpuProfile, i, name)
		if err != nil {
			return err
		}
		if err := writeAllocs(*memProfile, i, name, ".before"); err != nil {
			return err
		}
		stopTrace, err := startLineTrace(*traceOut, i, name)
		if err != nil {
			return err
		}
		cpu0 := processCPU()
		rcpu0, ok0 := b.redisCPU(ctx)
		rs, err := b.run(ctx, name)
		cpu := processCPU() - cpu0
		rcpu1, ok1 := b.redisCPU(ctx)
		stopProfile()
		stopTrace()
		if err := writeAllocs(*memProfile, i, name, ""); err != nil {
			return err
		}
		if len(rs) == 1 && rs[0].Requests > 0 && cpu > 0 {
			n := float64(rs[0].Requests)
			rs[0].CPUus = float64(cpu.Microseconds()) / n
			if ok0 && ok1 && rcpu1 > rcpu0 { // both readings of one Redis, or the difference is meaningless
				rs[0].RedisCPUus = float64((rcpu1 - rcpu0).Microseconds()) / n
			}
		}
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	addRatios(results)
	doc := map[string]any{"machine": machineInfo(ctx, b.st), "results": results}
	if *jsonFile != "" {
		raw, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonFile, append(raw, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	fmt.Fprintln(stdout, doc["machine"])
	writeTable(stdout, results)
	return nil
}

// setup starts the in-process server when no --url is given and opens the
// store for the baselines. stop undoes it.
func (b *bench) setup(ctx context.Context, stderr io.Writer) (stop func(), err error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.st, err = store.Open(b.redisURL, quiet)
	if err != nil {
		return nil, err
	}
	if b.url != "" {
		return func() { b.st.Close() }, nil
	}
	dir, err := os.MkdirTemp("", "rathaus-bench-")
	if err != nil {
		return nil, err
	}
	offices := filepath.Join(dir, "offices.yaml")
	if err := os.WriteFile(offices, []byte(allBenchOffices()), 0o600); err != nil {
		return nil, err
	}
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	b.adminPw = hex.EncodeToString(pw)
	env := map[string]string{"RATHAUS_ADDR": "127.0.0.1:0", "RATHAUS_REDIS_URL": b.redisURL, "RATHAUS_OFFICES_FILE": offices,
		"RATHAUS_MAIL_DIR": filepath.Join(dir, "mail"), "RATHAUS_ADMIN_PASSWORD": b.adminPw, "RATHAUS_LOG_LEVEL": "error",
		"RATHAUS_POW_SECRET": b.adminPw + b.adminPw + "-bench"}
	for _, k := range []string{"READ", "BOOK", "EMAIL", "OFFICE", "TICKET", "LOGIN", "CHALLENGE"} {
		env["RATHAUS_RATE_"+k] = "off"
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, cfg, Options{LogOutput: io.Discard, OnListen: func(a string) { addr <- a }})
	}()
	select {
	case a := <-addr:
		b.url = "http://" + a
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("bench: the server did not start: %w", err)
	}
	fmt.Fprintf(stderr, "bench: in-process server at %s, store %s\n", b.url, orEmbedded(b.redisURL))
	return func() {
		cancel()
		<-done
		b.st.Close()
		os.RemoveAll(dir)
	}, nil
}

func orEmbedded(u string) string {
	if u == "" {
		return "embedded"
	}
	return u
}

// run runs one scenario by name.
func (b *bench) run(ctx context.Context, name string) ([]benchResult, error) {
	switch name {
	case "baseline-get":
		return []benchResult{b.benchBaselineGET(ctx)}, nil
	case "baseline-evalsha":
		return []benchResult{b.benchBaselineEvalsha(ctx)}, nil
	case "booking":
		return []benchResult{b.benchBooking(ctx)}, nil
	case "booking-paced":
		return []benchResult{b.benchBookingPaced(ctx)}, nil
	case "availability":
		return []benchResult{b.benchAvailability(ctx)}, nil
	case "mixed":
		return []benchResult{b.benchMixed(ctx)}, nil
	case "rush":
		return []benchResult{b.benchRush(ctx)}, nil
	case "queue":
		return b.benchQueue(ctx)
	case "fanout":
		return []benchResult{b.benchFanout(ctx)}, nil
	case "pages":
		return []benchResult{b.benchTicketPages(ctx)}, nil
	case "memory":
		return b.benchMemory(ctx)
	}
	return nil, &usageError{msg: fmt.Sprintf("bench: unknown scenario %q (known: %s, memory)", name, strings.Join(benchScenarios, ", "))}
}

// rated are the scenarios compared with the gin + GET baseline.
var rated = map[string]bool{"baseline-evalsha": true, "booking": true, "availability": true, "mixed": true}

// pairWithBaselines puts a baseline-get run right before and after every
// rated scenario (when the list has baseline-get at all): on a shared,
// noisy machine a baseline measured minutes apart is no yardstick.
func pairWithBaselines(names []string) []string {
	if !slices.Contains(names, "baseline-get") {
		return names
	}
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "baseline-get" {
			continue
		}
		if rated[n] && (len(out) == 0 || out[len(out)-1] != "baseline-get") {
			out = append(out, "baseline-get")
		}
		out = append(out, n)
		if rated[n] {
			out = append(out, "baseline-get")
		}
	}
	if len(out) == 0 {
		out = []string{"baseline-get"}
	}
	return out
}

// addRatios relates every rated line to the mean of the baseline lines
// measured right before and right after it.
func addRatios(rs []benchResult) {
	for i := range rs {
		if !strings.HasPrefix(rs[i].Name, "booking") && !strings.HasPrefix(rs[i].Name, "availability-8w") &&
			rs[i].Name != "mixed-citizens" && rs[i].Name != "baseline-evalsha-book" || rs[i].Name == "booking-rush" ||
			rs[i].Name == "booking-paced" {
			continue
		}
		var sum float64
		var n int
		for j := i - 1; j >= 0; j-- {
			if rs[j].Name == "baseline-gin-get" {
				sum, n = sum+rs[j].RPS, n+1
				break
			}
		}
		for j := i + 1; j < len(rs); j++ {
			if rs[j].Name == "baseline-gin-get" {
				sum, n = sum+rs[j].RPS, n+1
				break
			}
		}
		if n > 0 && sum > 0 {
			rs[i].Ratio, rs[i].RatioTo = rs[i].RPS/(sum/float64(n)), "adjacent baseline-gin-get"
		}
	}
}

// machineInfo describes the machine and the Redis the run used.
func machineInfo(ctx context.Context, st *store.Store) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ": ")
				break
			}
		}
	}
	redis := "embedded store"
	if !st.Embedded {
		if info, err := st.Client.Info(ctx, "server").Result(); err == nil {
			for _, l := range strings.Split(info, "\n") {
				if strings.HasPrefix(l, "redis_version:") {
					redis = "Redis " + strings.TrimSpace(strings.TrimPrefix(l, "redis_version:"))
				}
			}
		}
	}
	return fmt.Sprintf("machine: %d CPUs (%s), %s", numCPU(), strings.TrimSpace(cpu), redis)
}

// startLineProfile starts a CPU profile of one line into prefix-NN-name.pprof
// (nothing when prefix is empty), so that a line's profile holds neither the
// other lines nor the waits for the outboxes to empty between them.
// writeAllocs writes the allocation profile of this process so far to
// PREFIX-NN-line<suffix>.pprof, when prefix is set.
func writeAllocs(prefix string, i int, name, suffix string) error {
	if prefix == "" {
		return nil
	}
	f, err := os.Create(fmt.Sprintf("%s-%02d-%s%s.pprof", prefix, i, name, suffix))
	if err != nil {
		return err
	}
	runtime.GC() // the profile is as of the last GC
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startLineTrace starts an execution trace into PREFIX-NN-line.trace, when
// prefix is set.
func startLineTrace(prefix string, i int, name string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s-%02d-%s.trace", prefix, i, name))
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { trace.Stop(); f.Close() }, nil
}

func startLineProfile(prefix string, i int, name string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s-%02d-%s.pprof", prefix, i, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
