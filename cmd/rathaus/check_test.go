package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// TestCheckCommand: "rathaus check" against real parts — a redis-server with
// AOF and a mail server that answers pass; an evicting Redis, a mail server
// nobody runs and a missing offices file each fail, with exit code 1.
func TestCheckCommand(t *testing.T) {
	check := func(env map[string]string) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run([]string{"check"}, func(k string) string { return env[k] }, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	t.Run("ready", func(t *testing.T) {
		srv := redistest.Start(t, "--appendonly", "yes")
		catcher := startMailCatcher(t)
		code, out := check(map[string]string{"RATHAUS_REDIS_URL": srv.URL(), "RATHAUS_SMTP_URL": catcher.URL(),
			"RATHAUS_BASE_URL": "https://termine.example", "RATHAUS_TRUSTED_PROXIES": "10.0.0.1",
			"RATHAUS_POW_SECRET": strings.Repeat("k", 40), "RATHAUS_OFFICES_FILE": filepath.Join(repoRoot, "examples", "offices.yaml")})
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, want := range []string{"ok    offices  1 from ", "ok    redis    keeps its keys (noeviction) and writes an append-only file",
			"ok    redis    single mode, Redis ", "ok    mail     the SMTP server took the connection, the credentials (if any) and the sender noreply@localhost",
			"ok    outbox   0 mails waiting, 0 for a retry, over 1 offices"} {
			if !strings.Contains(out, want) {
				t.Errorf("lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "warn") || strings.Contains(out, "FAIL") {
			t.Errorf("a warning or failure on a ready deployment:\n%s", out)
		}
		if n, _ := catcher.count(""); n != 0 {
			t.Errorf("the check sent %d mails", n)
		}
	})
	t.Run("not ready", func(t *testing.T) {
		srv := redistest.Start(t, "--maxmemory-policy", "allkeys-lru")
		code, out := check(map[string]string{"RATHAUS_REDIS_URL": srv.URL(), "RATHAUS_SMTP_URL": "smtp://127.0.0.1:1?tls=none",
			"RATHAUS_OFFICES_FILE": filepath.Join(t.TempDir(), "missing.yaml")})
		if code != exitFail {
			t.Fatalf("exit %d, want %d:\n%s", code, exitFail, out)
		}
		for _, want := range []string{"FAIL  offices", "FAIL  redis    Redis may evict keys", "FAIL  mail     the SMTP server",
			"warn  config   RATHAUS_BASE_URL is the default", "warn  config   RATHAUS_POW_SECRET is unset", "3 of the checks failed"} {
			if !strings.Contains(out, want) {
				t.Errorf("lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("mail that failed for good", func(t *testing.T) {
		srv := redistest.Start(t, "--appendonly", "yes")
		rdb := srv.Client(t)
		ctx := context.Background()
		for _, k := range []string{notify.OutboxKey("geesthacht"), notify.OutboxKey("geesthacht"), notify.DeadLetterKey("geesthacht")} {
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"msg", "r1|confirmation|x|0|"}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		code, out := check(map[string]string{"RATHAUS_REDIS_URL": srv.URL(), "RATHAUS_MAIL_DIR": t.TempDir(),
			"RATHAUS_OFFICES_FILE": filepath.Join(repoRoot, "examples", "offices.yaml")})
		for _, want := range []string{"ok    outbox   2 mails waiting, 0 for a retry, over 1 offices",
			"warn  outbox   mails that failed for good, never delivered — geesthacht: 1 (redis-cli XRANGE rathaus:{geesthacht}:outbox:dead - +)"} {
			if code != exitOK || !strings.Contains(out, want) {
				t.Errorf("exit %d, lacks %q:\n%s", code, want, out)
			}
		}
	})
	t.Run("cluster master without a replica", func(t *testing.T) {
		c := redistest.StartCluster(t)
		c.AddReplica(t, c.Nodes[0])
		code, out := check(map[string]string{"RATHAUS_REDIS_URL": c.URL(), "RATHAUS_MAIL_DIR": t.TempDir()})
		want := "warn  redis    masters without a replica: "
		i := strings.Index(out, want)
		if code != exitOK || i < 0 {
			t.Fatalf("exit %d, lacks %q:\n%s", code, want, out)
		}
		line, _, _ := strings.Cut(out[i:], "\n")
		if strings.Contains(line, c.Nodes[0].Addr) || !strings.Contains(line, c.Nodes[1].Addr) || !strings.Contains(line, c.Nodes[2].Addr) {
			t.Errorf("want the two masters without a replica named, not the one with:\n%s", line)
		}
		// One node of it named as a single Redis.
		code, out = check(map[string]string{"RATHAUS_REDIS_URL": c.Nodes[1].URL(), "RATHAUS_MAIL_DIR": t.TempDir()})
		if want := "FAIL  redis    the Redis is a node of a Redis Cluster"; code != exitFail || !strings.Contains(out, want) {
			t.Errorf("a cluster node as redis://: exit %d, lacks %q:\n%s", code, want, out)
		}
	})
	t.Run("Sentinel replicas", func(t *testing.T) {
		s := redistest.SharedSentinel(t) // a primary with one replica
		for _, tt := range []struct{ query, want string }{
			{"", "ok    redis    the Sentinel primary has 1 replica(s) connected"},
			{"?wait=1", "warn  redis    the Sentinel primary has 1 replica(s) connected; with ?wait=1 run 2"},
		} {
			code, out := check(map[string]string{"RATHAUS_REDIS_URL": s.URL() + tt.query, "RATHAUS_MAIL_DIR": t.TempDir()})
			if code != exitOK || !strings.Contains(out, tt.want) {
				t.Errorf("%q: exit %d, lacks %q:\n%s", tt.query, code, tt.want, out)
			}
		}
	})
	t.Run("wait without replicas", func(t *testing.T) {
		srv := redistest.Start(t, "--appendonly", "yes")
		code, out := check(map[string]string{"RATHAUS_REDIS_URL": srv.URL() + "?wait=1", "RATHAUS_MAIL_DIR": t.TempDir()})
		if want := "warn  redis    " + srv.Addr + " has 0 replica(s) connected; with ?wait=1 every write answers 503 until 1 are"; code != exitOK || !strings.Contains(out, want) {
			t.Errorf("exit %d, lacks %q:\n%s", code, want, out)
		}
	})
	t.Run("Redis down", func(t *testing.T) {
		srv := redistest.Start(t)
		srv.Kill()
		code, out := check(map[string]string{"RATHAUS_REDIS_URL": srv.URL(), "RATHAUS_MAIL_DIR": t.TempDir()})
		for _, want := range []string{"FAIL  redis    does not answer", "warn  mail     RATHAUS_SMTP_URL is unset",
			"warn  offices  1 from the demo office"} {
			if code != exitFail || !strings.Contains(out, want) {
				t.Errorf("exit %d, lacks %q:\n%s", code, want, out)
			}
		}
	})
}

// TestCheckReplicasCluster: what `rathaus check` says of a cluster's
// replicas, without and with ?wait=.
func TestCheckReplicasCluster(t *testing.T) {
	for _, tc := range []struct {
		wait     int
		replicas map[string]int
		want     []string // status: the start of the text
	}{
		{0, map[string]int{"a": 1, "b": 0}, []string{"warn: masters without a replica: b;"}},
		{0, map[string]int{"a": 1, "b": 2}, []string{"ok: every master of the cluster has a replica"}},
		{1, map[string]int{"a": 0, "b": 1, "c": 2}, []string{"warn: masters with fewer than 1 replica(s) connected: a;", "warn: masters with only 1 replica(s): b;"}},
		{1, map[string]int{"a": 2, "b": 3}, []string{"ok: every master of the cluster has a replica"}},
	} {
		var got []string
		checkReplicas(&store.Store{Mode: config.RedisCluster, WaitReplicas: tc.wait}, store.Settings{Replicas: tc.replicas},
			func(status, _, format string, args ...any) {
				got = append(got, status+": "+fmt.Sprintf(format, args...))
			})
		if len(got) != len(tc.want) {
			t.Errorf("wait=%d %v: %q, want %q", tc.wait, tc.replicas, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("wait=%d %v: %q, want it to start with %q", tc.wait, tc.replicas, got[i], tc.want[i])
			}
		}
	}
}
