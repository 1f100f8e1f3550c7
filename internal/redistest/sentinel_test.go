package redistest

import (
	"context"
	"strings"
	"testing"
)

// TestStartSentinelWith: two replicas, the first behind a proxy, and an AOF
// fsynced on every write on every data node; the sentinels know both
// replicas, and a write reaches both.
func TestStartSentinelWith(t *testing.T) {
	s := StartSentinelWith(t, SentinelOptions{Replicas: 2, AOF: true, Proxied: 1})
	if len(s.Replicas) != 2 || s.Replica != s.Replicas[0] || len(s.Proxies) != 1 {
		t.Fatalf("%d replicas (first %v), %d proxies; want 2, the first as Replica, and 1", len(s.Replicas), s.Replica, len(s.Proxies))
	}
	ctx := context.Background()
	for _, n := range append([]*Server{s.Primary}, s.Replicas...) {
		info := n.Client(t).Info(ctx, "persistence").Val()
		if !strings.Contains(info, "aof_enabled:1") {
			t.Fatalf("%v writes no AOF:\n%s", n, info)
		}
		if got := n.Client(t).ConfigGet(ctx, "appendfsync").Val()["appendfsync"]; got != "always" {
			t.Fatalf("%v: appendfsync %q, want always", n, got)
		}
	}
	if info := s.Primary.Client(t).Info(ctx, "replication").Val(); !strings.Contains(info, "connected_slaves:2") {
		t.Fatalf("the primary has not two replicas:\n%s", info)
	}
	st := OpenURL(t, s.URL()+"?wait=2")
	if err := st.Client.Eval(ctx, `return redis.call("SET", KEYS[1], "v")`, []string{"k"}).Err(); err != nil {
		t.Fatalf("a script confirmed by both replicas: %v", err)
	}
	for _, r := range s.Replicas {
		if got := r.Client(t).Get(ctx, "k").Val(); got != "v" {
			t.Fatalf("right after the confirmed write, replica %v holds %q", r, got)
		}
	}
}
