package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/audit"
	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/load"
	"github.com/rathaus/rathaus/internal/pow"
	"github.com/rathaus/rathaus/internal/ratelimit"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/queue"
)

// Options are what tests may change beyond the configuration.
type Options struct {
	// Clock replaces the wall clock (tests use a simulated one).
	Clock clock.Clock
	// OnListen is called with the bound address once the server listens.
	OnListen func(addr string)
	// LogOutput receives the logs (default stderr).
	LogOutput io.Writer
	// OutboxStallAfter is how long an outbox worker may go without progress
	// before /readyz reports it stuck (default 5 minutes, the time after which
	// other workers take its mails over).
	OutboxStallAfter time.Duration
}

// app is everything Run wires together.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	clock    clock.Clock
	store    *store.Store
	offices  *booking.Directory
	bookings *booking.Bookings
	auth     *auth.Service
	reg      *prometheus.Registry
	queue    *queue.Service
	limiter  *ratelimit.Limiter
	pow      *pow.Service
	audit    *audit.Log
	// meter counts requests; pacer lets the outbox workers yield to them.
	meter *load.Meter
	pacer *load.Pacer
	// storeRefused says why a Redis checked after the start must not be
	// trusted ("evicting", "cluster_node", "not_cluster", "old_cluster",
	// "replica"); empty
	// while it may.
	storeRefused atomic.Value
	// outbox is this process's mail sending, for /readyz (nil: none, role web).
	outbox atomic.Pointer[outboxState]
	// outboxStall is how long a worker may go without progress before
	// /readyz calls it stuck (Options.OutboxStallAfter).
	outboxStall time.Duration
}

// Run starts rathaus and blocks until ctx is cancelled, then shuts down in
// order: drain HTTP, stop background loops, close the store.
func Run(ctx context.Context, cfg config.Config, opts Options) error {
	a, err := newApp(cfg, opts)
	if err != nil {
		return err
	}
	defer a.store.Close()
	defer a.queue.Close()
	defer a.audit.Start(a.log)() // after the HTTP server has drained: writes the entries still queued
	recheck, err := a.checkStore()
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &config.Error{Var: "RATHAUS_ADDR", Msg: err.Error()}
	}
	srv := &http.Server{Handler: a.router(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(a.queue.Close) // ends the live SSE streams so that Shutdown can drain

	bgCtx, stopBackground := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	a.startBackground(bgCtx, &bg)
	if recheck {
		bg.Add(1)
		go func() {
			defer bg.Done()
			a.recheckStore(bgCtx)
		}()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	a.log.Info("rathaus: listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "offices", len(a.offices.Offices),
		"role", cfg.Role)
	if opts.OnListen != nil {
		opts.OnListen(ln.Addr().String())
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopBackground()
		bg.Wait()
		return fmt.Errorf("rathaus: serve: %w", err)
	}
	a.log.Info("rathaus: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopBackground()
	bg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("rathaus: shutdown: %w", err)
	}
	a.log.Info("rathaus: stopped")
	return nil
}

// checkStore refuses a Redis that may evict keys, is a node of a Redis
// Cluster named as a single Redis or a plain Redis named as a cluster, and
// warns about one without AOF. A Redis
// that does not answer yet cannot be checked: the start goes on (as always
// when Redis is down) and recheck asks to check it once it answers. So does
// a replica: an address that follows the primary (a service's endpoint, a
// virtual IP) may name the old one for a moment during a failover; /readyz
// answers 503 meanwhile.
func (a *app) checkStore() (recheck bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	set, err := a.store.Check(ctx)
	switch {
	case errors.Is(err, store.ErrEvicting), errors.Is(err, store.ErrClusterNode), errors.Is(err, store.ErrNotCluster),
		errors.Is(err, store.ErrOldCluster):
		return false, &config.Error{Var: "RATHAUS_REDIS_URL", Msg: err.Error()}
	case errors.Is(err, store.ErrReplica):
		a.refuseStore(err)
		return true, nil
	case err != nil:
		a.log.Warn("store: could not read the Redis settings (maxmemory-policy, AOF, role) yet; checking again until it answers", "err", err)
		return true, nil
	}
	a.warnNoAOF(set)
	return false, nil
}

func (a *app) warnNoAOF(set store.Settings) {
	if len(set.NoAOF) > 0 {
		a.log.Warn("store: Redis writes no append-only file, so a crash loses what was written since its last snapshot; "+
			"in production turn on appendonly yes (appendfsync always or everysec)", "masters", set.NoAOF)
	}
}

// storeRecheckEvery is how often recheckStore reads the Redis settings.
var storeRecheckEvery = 5 * time.Second

// recheckStore reads the Redis settings until they could be read and may be
// trusted. While they may not, /readyz answers 503 (store "evicting" for a
// Redis that may evict keys, "cluster_node" for a node of a Redis Cluster
// named as a single Redis, "not_cluster" for a plain Redis named as a
// cluster, "old_cluster" for a cluster with a node older than Redis 7,
// "replica" for a replica) and an error is logged at
// each check: the process cannot refuse to start any more, but it must not
// look healthy.
func (a *app) recheckStore(ctx context.Context) {
	t := time.NewTicker(storeRecheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		set, err := a.store.Check(cctx)
		cancel()
		if err == nil {
			a.storeRefused.Store("")
			a.warnNoAOF(set)
			return
		}
		a.refuseStore(err)
	}
}

// storeRefusals are the Redis set-ups a process must not trust: the error of
// store.Check, the store /readyz names, and what the log says.
var storeRefusals = []struct {
	err      error
	why, msg string
}{
	{store.ErrEvicting, "evicting", "Redis may evict keys"},
	{store.ErrClusterNode, "cluster_node", "RATHAUS_REDIS_URL names a node of a Redis Cluster"},
	{store.ErrNotCluster, "not_cluster", "RATHAUS_REDIS_URL names a cluster, but the Redis is none"},
	{store.ErrOldCluster, "old_cluster", "the Redis Cluster has a node older than Redis 7"},
	{store.ErrReplica, "replica", "RATHAUS_REDIS_URL names a replica, whose writes are refused"},
}

// refuseStore makes /readyz answer 503 for err, if it is one of
// storeRefusals, and logs it; other errors (Redis not answering) change
// nothing.
func (a *app) refuseStore(err error) {
	for _, r := range storeRefusals {
		if errors.Is(err, r.err) {
			a.storeRefused.Store(r.why)
			a.log.Error("store: "+r.msg+"; this process answers /readyz with 503 until that changes", "err", err)
			return
		}
	}
}

func newApp(cfg config.Config, opts Options) (*app, error) {
	log := newLogger(cfg, opts.LogOutput)
	slog.SetDefault(log)
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	offices, err := loadOffices(cfg)
	if err != nil {
		return nil, err
	}
	// Per office an outbox worker and a display stream reader block on
	// their own connection.
	st, err := store.Open(cfg.RedisURL, log, 2*len(offices)+2)
	if err != nil {
		return nil, &config.Error{Var: "RATHAUS_REDIS_URL", Msg: err.Error()}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dir := booking.NewDirectory(offices)
	bookings := booking.NewBookings(dir, st.Client, clk, cfg.BaseURL, log)
	bookings.SetReleaseDelay(cfg.ReleaseDelay, cfg.ReleaseWindow)
	secret := serverSecret(cfg, log)
	meter := &load.Meter{}
	paused := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "rathaus", Subsystem: "notify",
		Name: "yielded_seconds_total", Help: "Seconds the outbox workers paused between mails because requests arrived at a rush's rate."})
	reg.MustRegister(paused)
	q := queue.New(queue.Config{Offices: dir, Store: st, Clock: clk, Log: log, BaseURL: cfg.BaseURL,
		Closures: bookingForQueue{bookings}, Appointments: bookingForQueue{bookings}})
	if err := q.RegisterMetrics(reg); err != nil { // only a name registered twice
		q.Close()
		st.Close()
		return nil, err
	}
	return &app{cfg: cfg, log: log, clock: clk, store: st, offices: dir, bookings: bookings,
		meter: meter, pacer: &load.Pacer{Meter: meter, Paused: paused},
		auth: auth.NewService(st.Client, clk, log), reg: reg, limiter: ratelimit.New(st.Client, clk, secret, reg),
		pow: pow.New(secret, st.Client, clk), audit: audit.New(st.Client, clk), queue: q,
		outboxStall: cmp.Or(opts.OutboxStallAfter, defaultOutboxStall)}, nil
}

func loadOffices(cfg config.Config) ([]*booking.Office, error) {
	if cfg.OfficesFile == "" {
		return booking.DemoOffices(), nil
	}
	offices, err := booking.LoadOfficesFile(cfg.OfficesFile)
	if err != nil {
		return nil, &config.Error{Var: "RATHAUS_OFFICES_FILE", Msg: err.Error()}
	}
	return offices, nil
}

func newLogger(cfg config.Config, out io.Writer) *slog.Logger {
	if out == nil {
		out = os.Stderr
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := out.(*os.File); ok && isTerminal(f) {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startBackground starts the background loops; they stop when ctx ends.
func (a *app) startBackground(ctx context.Context, wg *sync.WaitGroup) {
	if a.cfg.Role != config.RoleWeb { // a web process leaves mail and jobs to the workers
		a.startNotify(ctx, wg)
	}
	// The admin is set before the server listens, so that a login right after
	// the start works; only a store that is down defers it to the background.
	if a.cfg.AdminPassword != "" && !a.setAdmin(ctx) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.bootstrapAdmin(ctx)
		}()
	}
}

// setAdmin creates or resets the user admin and reports whether it worked.
func (a *app) setAdmin(ctx context.Context) bool {
	err := a.auth.EnsureUser(ctx, "admin", auth.RoleAdmin, []string{}, a.cfg.AdminPassword)
	if err != nil {
		a.log.Warn("auth: could not set user admin yet; retrying", "err", err)
		return false
	}
	a.log.Info("auth: user admin is set from RATHAUS_ADMIN_PASSWORD")
	return true
}

// bootstrapAdmin keeps trying to set the user admin while the store is down,
// so a server started before its Redis still gets its admin.
func (a *app) bootstrapAdmin(ctx context.Context) {
	for delay := 200 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if a.setAdmin(ctx) {
			return
		}
	}
}
