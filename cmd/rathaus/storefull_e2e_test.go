package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/redistest"
)

// TestRedisRefusesWrites: a Redis that is up but refuses writes — full
// (maxmemory reached) or unable to persist (a failed snapshot with
// stop-writes-on-bgsave-error) — makes every request that must write answer
// 503 with Retry-After and the error envelope, never 500; and the server heals
// by itself once Redis takes writes again.
func TestRedisRefusesWrites(t *testing.T) {
	faults := []struct {
		name          string
		extra         []string
		provoke, heal func(t *testing.T, c *redis.Client)
	}{
		{"full", nil,
			func(t *testing.T, c *redis.Client) { mustDo(t, c, "CONFIG", "SET", "maxmemory", "1") },
			func(t *testing.T, c *redis.Client) { mustDo(t, c, "CONFIG", "SET", "maxmemory", "0") }},
		// A snapshot into a directory nobody can write to fails; with save
		// points set, Redis then refuses writes ("MISCONF").
		{"cannot persist", []string{"--save", "3600 1", "--dir", "/proc"},
			func(t *testing.T, c *redis.Client) {
				mustDo(t, c, "BGSAVE")
				if !waitFor(10*time.Second, func() bool {
					return strings.Contains(c.Info(context.Background(), "persistence").Val(), "rdb_last_bgsave_status:err")
				}) {
					t.Fatal("the snapshot did not fail")
				}
			},
			func(t *testing.T, c *redis.Client) {
				mustDo(t, c, "CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
			}},
		// A script running past busy-reply-threshold makes Redis answer every
		// other command with BUSY until it ends.
		{"busy", []string{"--busy-reply-threshold", "100"},
			func(t *testing.T, c *redis.Client) {
				busy := redis.NewClient(&redis.Options{Addr: c.Options().Addr, ReadTimeout: 10 * time.Second})
				done := make(chan error, 1)
				go func() {
					done <- busy.Eval(context.Background(), `
local function now() local t = redis.call("TIME") return t[1] * 1000000 + t[2] end
local start = now()
while now() - start < 2000000 do end
return 1`, nil).Err()
				}()
				t.Cleanup(func() { <-done; busy.Close() })
				if !waitFor(5*time.Second, func() bool { return strings.HasPrefix(fmt.Sprint(c.Ping(context.Background()).Err()), "BUSY") }) {
					t.Fatal("Redis did not become busy")
				}
			},
			func(t *testing.T, c *redis.Client) {}}, // the script ends by itself
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			srv := redistest.Start(t, f.extra...)
			c := srv.Client(t)
			berlin, _ := time.LoadLocation("Europe/Berlin")
			clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
			// Rate limits off, so that each request reaches its own writes
			// (a limiter's script would refuse it first, with the same 503).
			s := startTestServerWith(t, testConfig(t, append([]string{"RATHAUS_REDIS_URL", srv.URL(),
				"RATHAUS_ADMIN_PASSWORD", testAdminPassword, "RATHAUS_RATE_CHALLENGE", "off"}, scaleEnv...)...), Options{Clock: clk})
			book := func(i int) (int, http.Header, string) {
				t.Helper()
				return send(t, "POST", s.URL+"/api/v1/offices/geesthacht/appointments",
					bookingBody("ummeldung", "2026-12-01T09:00:00+01:00", i), "")
			}
			if code, _, body := book(1); code != http.StatusCreated {
				t.Fatalf("booking before the fault: %d %s", code, body)
			}
			session := login(t, s.URL)

			f.provoke(t, c)
			const unavailable = http.StatusServiceUnavailable
			for _, r := range []struct {
				method, path string
				body         any
				token        string
				ok           []int // besides 503
			}{
				{"POST", "/api/v1/offices/geesthacht/appointments", bookingBody("ummeldung", "2026-12-01T09:15:00+01:00", 2), "", nil},
				{"POST", "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}, "", nil},
				{"POST", "/api/v1/auth/login", map[string]any{"username": "admin", "password": testAdminPassword}, "", nil},
				{"GET", "/api/v1/pow/challenge", nil, "", nil},
				// Deleting frees memory: a full Redis still allows it.
				{"POST", "/api/v1/auth/logout", nil, session, []int{http.StatusNoContent, http.StatusOK}},
				// Reads work on a full or non-persisting Redis, not on a busy one.
				{"GET", "/api/v1/offices/geesthacht/availability?service=ummeldung&from=2026-12-01&days=7", nil, "", []int{http.StatusOK}},
				{"GET", "/api/v1/offices/geesthacht/display", nil, "", []int{http.StatusOK}},
			} {
				code, hdr, out := send(t, r.method, s.URL+r.path, r.body, r.token)
				if code != unavailable && !slices.Contains(r.ok, code) {
					t.Errorf("%s %s while Redis refuses writes: %d %s, want 503 or %v", r.method, r.path, code, out, r.ok)
				}
				if code == unavailable {
					var env struct{ Error struct{ Code string } }
					if hdr.Get("Retry-After") == "" || json.Unmarshal([]byte(out), &env) != nil || env.Error.Code != "store_unavailable" {
						t.Errorf("%s %s: a 503 without Retry-After or envelope: %v %s", r.method, r.path, hdr, out)
					}
				}
			}

			f.heal(t, c)
			var code int
			var body string
			if !waitFor(10*time.Second, func() bool { code, _, body = book(3); return code == http.StatusCreated }) {
				t.Fatalf("booking after Redis takes writes again: %d %s", code, body)
			}
		})
	}
}

func mustDo(t *testing.T, c *redis.Client, args ...any) {
	t.Helper()
	if err := c.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// send sends a request with body as JSON (nil: none) and, when token is not
// empty, a bearer token; it returns the status, the header and the body.
func send(t *testing.T, method, url string, body any, token string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("%s %s: %w", method, url, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRefusesEvictingRedis: rathaus does not start on a Redis that deletes
// keys when it is full (every key is data), and says which variable to look
// at; main turns that into exit code 2 like any configuration error.
func TestRefusesEvictingRedis(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory-policy", "allkeys-lru")
	cfg := testConfig(t, "RATHAUS_REDIS_URL", srv.URL())
	err := runRefused(t, cfg)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "RATHAUS_REDIS_URL" || !strings.Contains(ce.Msg, "noeviction") {
		t.Fatalf("Run = %v, want a configuration error of RATHAUS_REDIS_URL asking for noeviction", err)
	}
}

// runRefused runs a server that must refuse to start; should it start
// after all, it is stopped after 10 s so that the test fails rather than hangs.
func runRefused(t *testing.T, cfg config.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Run(ctx, cfg, Options{LogOutput: io.Discard, OnListen: func(string) { t.Error("it listened") }})
}

// TestRefusesClusterNodeAsSingle: a node of a Redis Cluster named by a
// redis:// URL would serve only its own slots and redirect the rest, so that
// every office kept elsewhere answered 503 for good; rathaus does not start.
func TestRefusesClusterNodeAsSingle(t *testing.T) {
	node := redistest.SharedCluster(t).Nodes[0]
	cfg := testConfig(t, "RATHAUS_REDIS_URL", node.URL())
	err := runRefused(t, cfg)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "RATHAUS_REDIS_URL" || !strings.Contains(ce.Msg, "redis+cluster://") {
		t.Fatalf("Run = %v, want a configuration error of RATHAUS_REDIS_URL naming redis+cluster://", err)
	}
}

// TestRefusesNotCluster: a plain Redis named by redis+cluster:// would fail
// every command; rathaus does not start, and says how to name it.
func TestRefusesNotCluster(t *testing.T) {
	srv := redistest.Start(t)
	err := runRefused(t, testConfig(t, "RATHAUS_REDIS_URL", "redis+cluster://"+srv.Addr))
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Var != "RATHAUS_REDIS_URL" || !strings.Contains(ce.Msg, "cluster support disabled") {
		t.Fatalf("Run = %v, want a configuration error of RATHAUS_REDIS_URL saying the Redis is no cluster", err)
	}
}

// TestReplicaNotReady: a replica named by a redis:// URL answers PING and
// reads but refuses every write. An address that follows the primary (a
// service's endpoint, a virtual IP) can name the old one for a moment during
// a failover, so rathaus starts, but /readyz answers 503 (store "replica")
// until the Redis is a primary; "rathaus check" fails.
func TestReplicaNotReady(t *testing.T) {
	old := storeRecheckEvery
	storeRecheckEvery = 100 * time.Millisecond
	t.Cleanup(func() { storeRecheckEvery = old })
	primary := redistest.Start(t)
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := redistest.Start(t, "--replicaof", host, port)

	var out bytes.Buffer
	env := map[string]string{"RATHAUS_REDIS_URL": replica.URL(), "RATHAUS_MAIL_DIR": t.TempDir()}
	if code := run([]string{"check"}, func(k string) string { return env[k] }, nil, &out, &out); code != exitFail ||
		!strings.Contains(out.String(), "FAIL  redis    the Redis is a replica") {
		t.Fatalf("rathaus check: exit %d\n%s", code, out.String())
	}

	s := startTestServer(t, "RATHAUS_REDIS_URL", replica.URL())
	if code, _, body := send(t, "GET", s.URL+"/readyz", nil, ""); code != http.StatusServiceUnavailable || !strings.Contains(body, `"replica"`) {
		t.Fatalf("readyz on a replica: %d %s, want 503 replica", code, body)
	}
	mustDo(t, replica.Client(t), "REPLICAOF", "NO", "ONE")
	if !waitFor(10*time.Second, func() bool { code, _, _ := send(t, "GET", s.URL+"/readyz", nil, ""); return code == http.StatusOK }) {
		t.Fatal("readyz stayed 503 after the replica became a primary")
	}
}

// TestEvictingRedisFoundLater: a Redis that did not answer at the start is
// checked once it does; if it may evict keys, /readyz answers 503 (store
// "evicting") until its policy is noeviction again.
func TestEvictingRedisFoundLater(t *testing.T) {
	old := storeRecheckEvery
	storeRecheckEvery = 100 * time.Millisecond
	t.Cleanup(func() { storeRecheckEvery = old })
	srv := redistest.Start(t, "--maxmemory-policy", "allkeys-lru")
	srv.Kill()
	s := startTestServer(t, "RATHAUS_REDIS_URL", srv.URL())
	ready := func() (int, string) {
		code, _, body := send(t, "GET", s.URL+"/readyz", nil, "")
		return code, body
	}
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "unreachable") {
		t.Fatalf("readyz with Redis down: %d %s", code, body)
	}
	srv.Restart(t)
	var code int
	var body string
	if !waitFor(10*time.Second, func() bool { code, body = ready(); return strings.Contains(body, "evicting") }) {
		t.Fatalf("readyz once the evicting Redis answers: %d %s, want 503 evicting", code, body)
	}
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readyz: %d %s", code, body)
	}
	mustDo(t, srv.Client(t), "CONFIG", "SET", "maxmemory-policy", "noeviction")
	if !waitFor(10*time.Second, func() bool { code, body = ready(); return code == http.StatusOK }) {
		t.Fatalf("readyz after the policy was fixed: %d %s", code, body)
	}
}
