package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestWaitReplicas: with ?wait=1 a script counts only when the replica holds
// its write; without a replica it fails as unavailable (503).
func TestWaitReplicas(t *testing.T) {
	primary := redistest.Start(t)
	host, port, _ := strings.Cut(primary.Addr, ":")
	replica := redistest.Start(t, "--replicaof", host, port)
	st := redistest.OpenURL(t, primary.URL()+"?wait=1&wait_timeout=300ms")
	ctx := context.Background()
	script := redis.NewScript(`return redis.call("INCR", KEYS[1])`)
	// The replica may still be syncing: wait (bounded) for the first confirmed write.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = script.Run(ctx, st.Client, []string{"rathaus:{t}:n"}).Err(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("with a replica: %v", err)
	}
	if got := replica.Client(t).Get(ctx, "rathaus:{t}:n").Val(); got == "" {
		t.Fatal("the acknowledged write is not on the replica")
	}
	replica.Kill()
	err = store.Wrap("test", script.Run(ctx, st.Client, []string{"rathaus:{t}:n"}).Err())
	if apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("without a replica: %v, want unavailable", err)
	}
	// Plain commands are not waited for.
	if err := st.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
}
