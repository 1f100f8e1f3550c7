// Package redistest starts real Redis servers for tests: a redis-server
// process on a free loopback port (no persistence), or the embedded store that
// rathaus uses by default. Store tests run against both through ForEach.
package redistest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// InstallHint is printed when redis-server is missing.
const InstallHint = "redis-server not found in PATH: install it (Debian: apt-get install -y redis-server; .ci/run does this)"

// Server is a redis-server process started for one test.
type Server struct {
	Addr string
	Dir  string
	cmd  *exec.Cmd
	port int
	args []string
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts a redis-server on a free port with no persistence and stops it
// when the test ends. extra are further redis-server arguments (e.g.
// "--appendonly", "yes"). A missing redis-server fails the test with the
// install hint; it never skips.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal(InstallHint)
	}
	s := &Server{Dir: t.TempDir(), port: FreePort(t)}
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	s.args = append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.Dir, "--daemonize", "no", "--protected-mode", "no",
		"--logfile", filepath.Join(s.Dir, "redis.log")}, extra...)
	s.start(t)
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	s.cmd.SysProcAttr = procAttr() // dies with the test binary, even when shared
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	if err := waitPing(s.Addr, 10*time.Second); err != nil {
		s.Kill()
		log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
		t.Fatalf("redistest: redis-server on %s did not answer: %v\n%s", s.Addr, err, log)
	}
}

// Kill stops the server at once (SIGKILL), like a crash.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server again on the same port and directory after Kill.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	s.start(t)
}

// URL returns the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Client returns a go-redis client for the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func waitPing(addr string, d time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err = c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Backend is one kind of store a test runs against.
type Backend struct {
	Name string
	// Open returns an opened store, closed when the test ends.
	Open func(t testing.TB) *store.Store
}

// Backends are the stores every store test runs against, chosen by
// RATHAUS_TEST_BACKENDS (comma-separated names of AllBackends; default
// "redis,embedded", so the normal suite stays fast).
var Backends = selectBackends(os.Getenv(BackendsEnv))

// BackendsEnv names the variable that selects Backends.
const BackendsEnv = "RATHAUS_TEST_BACKENDS"

// AllBackends are every backend by name: a fresh redis-server per test, the
// embedded store, and a Redis Cluster (three masters) and a Sentinel set-up
// (primary, replica, three sentinels) that are started once per test binary
// and flushed before each test.
var AllBackends = []Backend{
	{Name: "redis", Open: func(t testing.TB) *store.Store {
		s := Start(t)
		return OpenURL(t, s.URL())
	}},
	{Name: "embedded", Open: func(t testing.TB) *store.Store { return OpenURL(t, "") }},
	{Name: "cluster", Open: func(t testing.TB) *store.Store { return openFlushed(t, SharedCluster(t).URL()) }},
	{Name: "sentinel", Open: func(t testing.TB) *store.Store { return openFlushed(t, SharedSentinel(t).URL()) }},
}

func selectBackends(names string) []Backend {
	if strings.TrimSpace(names) == "" {
		names = "redis,embedded"
	}
	var out []Backend
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, b := range AllBackends {
			if b.Name == strings.TrimSpace(n) {
				out, found = append(out, b), true
			}
		}
		if !found {
			panic(fmt.Sprintf("redistest: %s names unknown backend %q", BackendsEnv, n))
		}
	}
	return out
}

// OpenURL opens a store from a RATHAUS_REDIS_URL value and closes it when the
// test ends. The client carries SlotCheck, so a script whose KEYS span two
// hash tags fails the test on every backend, not only on a cluster.
func OpenURL(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("redistest: open store %q: %v", url, err)
	}
	st.Client.AddHook(SlotCheck(t))
	t.Cleanup(func() { st.Close() })
	return st
}

// ForEach runs f as a subtest once per backend.
func ForEach(t *testing.T, f func(t *testing.T, st *store.Store)) {
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) { f(t, b.Open(t)) })
	}
}

// String describes a server for messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server@%s", s.Addr) }
