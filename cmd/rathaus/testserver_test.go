package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apitest"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/redistest"
)

// testServer is a whole rathaus started by Run on a free loopback port.
// End-to-end tests of every domain can use it:
//
//	s := startTestServer(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123")
//	s.API.Get("/api/v1/offices").Want(t, 200) // validated against the OpenAPI document
type testServer struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// API is a client that validates all traffic against the OpenAPI document.
	API *apitest.Client
	// Config is the configuration the server runs with.
	Config config.Config
	stop   context.CancelFunc
	done   chan error
}

// e2eStoreEnv names the variable that runs the end-to-end tests on the test
// binary's shared Redis Cluster (three masters) or Sentinel set-up (primary,
// replica, three sentinels): "cluster" or "sentinel"; empty, each test gets
// the store it names (a fresh redis-server, or the embedded store). Tests
// then share one store: run them with -parallel 1.
const e2eStoreEnv = "RATHAUS_TEST_E2E_STORE"

// sharedE2E remembers, per top-level test, the shared store's URL it was
// given, so that a test that starts several servers (in subtests too) gets
// one store, flushed once.
var sharedE2E sync.Map // test name → URL

// e2eRedis returns a real Redis for an end-to-end test (its URL and a
// client): a fresh redis-server, or under RATHAUS_TEST_E2E_STORE the shared
// cluster or Sentinel set-up, flushed before the test's first use.
func e2eRedis(t *testing.T) (string, redis.UniversalClient) {
	t.Helper()
	var url string
	switch kind := os.Getenv(e2eStoreEnv); kind {
	case "":
		srv := redistest.Start(t)
		return srv.URL(), srv.Client(t)
	case "cluster":
		url = redistest.SharedCluster(t).URL()
	case "sentinel":
		url = redistest.SharedSentinel(t).URL()
	default:
		t.Fatalf("%s=%q: want cluster or sentinel", e2eStoreEnv, kind)
	}
	root, _, sub := strings.Cut(t.Name(), "/") // subtests share their test's store
	if _, seen := sharedE2E.LoadOrStore(root, url); seen {
		return url, redistest.OpenURL(t, url).Client
	}
	if !sub {
		t.Cleanup(func() { sharedE2E.Delete(root) })
	}
	return url, redistest.OpenFlushed(t, url).Client
}

// testConfig returns the configuration from env (name/value pairs) with a
// loopback address on a free port and a temporary mail directory. Under
// RATHAUS_TEST_E2E_STORE a test that names no Redis runs on the shared one.
func testConfig(t *testing.T, env ...string) config.Config {
	t.Helper()
	vars := map[string]string{"RATHAUS_ADDR": "127.0.0.1:0", "RATHAUS_MAIL_DIR": t.TempDir(), "RATHAUS_LOG_LEVEL": "warn"}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	if _, named := vars["RATHAUS_REDIS_URL"]; !named && os.Getenv(e2eStoreEnv) != "" {
		vars["RATHAUS_REDIS_URL"], _ = e2eRedis(t)
	}
	cfg, err := config.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startTestServer runs rathaus with testConfig(env) and Options opts (its
// OnListen and LogOutput are set here); the server stops when the test ends,
// and the test fails unless it stops cleanly.
func startTestServer(t *testing.T, env ...string) *testServer {
	t.Helper()
	return startTestServerWith(t, testConfig(t, env...), Options{})
}

// startTestServerWith is startTestServer with a ready configuration and options.
func startTestServerWith(t *testing.T, cfg config.Config, opts Options) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	opts.OnListen = func(a string) { addr <- a }
	if opts.LogOutput == nil {
		opts.LogOutput = t.Output()
	}
	s := &testServer{Config: cfg, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- Run(ctx, cfg, opts) }()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-s.done:
		cancel()
		t.Fatalf("rathaus did not start: %v", err)
	}
	s.API = apitest.New(t, s.URL)
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("rathaus did not stop cleanly: %v", err)
		}
	})
	return s
}

// Stop cancels Run's context and returns what Run returned; it is safe to call twice.
func (s *testServer) Stop() error {
	s.stop()
	select {
	case err, ok := <-s.done:
		if !ok {
			return nil
		}
		close(s.done)
		return err
	case <-time.After(30 * time.Second):
		return errors.New("Run did not return within 30 s of the cancel")
	}
}
