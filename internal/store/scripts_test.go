package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// crossSlotCmd writes its declared key and one it names itself.
var crossSlotCmd = store.NewScript(`
redis.call("SET", KEYS[1], "1")
return redis.call("SET", ARGV[1], "1")
`)

// TestClusterRefusesCrossSlotScript: on a Redis Cluster a registered script
// runs with flags, so Redis refuses one that touches a key of another slot,
// even one it names itself and even when both slots live on the same node —
// where the same script without flags works until a reshard parts them. A
// script that keeps to one slot runs, and only runs Redis answered are
// counted.
func TestClusterRefusesCrossSlotScript(t *testing.T) {
	c, st := openCluster(t)
	ctx := context.Background()
	// Two keys of different slots served by the same node.
	a := "{a}x"
	slotA, err := c.KeySlot(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := c.SlotOwner(ctx, slotA)
	if err != nil {
		t.Fatal(err)
	}
	b := ""
	for i := 0; b == "" && i < 1000; i++ {
		k := fmt.Sprintf("{b%d}y", i)
		s, err := c.KeySlot(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := c.SlotOwner(ctx, s); err == nil && n == owner && s != slotA {
			b = k
		}
	}
	if b == "" {
		t.Fatal("no key of another slot on the same node")
	}

	before := runs(crossSlotCmd)
	err = crossSlotCmd.Run(ctx, st.Client, []string{a}, b).Err()
	if err == nil || !strings.Contains(err.Error(), "do not hash to the same slot") {
		t.Fatalf("cross-slot script through the store: %v, want refused", err)
	}
	if got := runs(crossSlotCmd) - before; got != 0 {
		t.Fatalf("runs counted: %d, want 0 (a refused script did not run)", got)
	}
	// The same text without flags, straight to the node, is let through.
	direct := redis.NewClient(&redis.Options{Addr: owner.Addr})
	defer direct.Close()
	if err := redis.NewScript(`redis.call("SET", KEYS[1], "1")
return redis.call("SET", ARGV[1], "1")`).Run(ctx, direct, []string{a}, b).Err(); err != nil {
		t.Fatalf("legacy script on the node: %v", err)
	}

	// Keeping to one slot works, and is counted.
	same := "{a}z"
	for i := range 2 {
		if err := crossSlotCmd.Run(ctx, st.Client, []string{a}, same).Err(); err != nil {
			t.Fatalf("one-slot script, run %d: %v", i+1, err)
		}
	}
	if got := runs(crossSlotCmd) - before; got != 2 {
		t.Fatalf("runs counted: %d, want 2", got)
	}
}

var (
	readOnlyCmd  = store.NewReadScript(`return redis.call("GET", KEYS[1])`)
	writeOnlyCmd = store.NewScript(`return redis.call("SET", KEYS[1], ARGV[1])`)
)

// TestClusterReadScriptWhileFull: on a cluster a script declared as reading
// runs while Redis refuses writes (here: full), as a script without flags
// does on a single Redis; a writing one is refused before it starts, and a
// write inside a reading one fails.
func TestClusterReadScriptWhileFull(t *testing.T) {
	_, st := openCluster(t)
	ctx := context.Background()
	cc := st.Client.(*redis.ClusterClient)
	setMaxmemory := func(v string) error {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.ConfigSet(ctx, "maxmemory", v).Err() })
	}
	if err := st.Client.Set(ctx, "{full}k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := setMaxmemory("1"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := setMaxmemory("0"); err != nil {
			t.Error(err)
		}
	}()
	if v, err := readOnlyCmd.Run(ctx, st.Client, []string{"{full}k"}).Text(); err != nil || v != "v" {
		t.Fatalf("reading script on a full cluster: %q, %v", v, err)
	}
	if err := writeOnlyCmd.Run(ctx, st.Client, []string{"{full}k"}, "w").Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("writing script on a full cluster: %v, want OOM", err)
	}
	if err := setMaxmemory("0"); err != nil {
		t.Fatal(err)
	}
	sneaky := store.NewReadScript(`return redis.call("SET", KEYS[1], "x")`)
	if err := sneaky.Run(ctx, st.Client, []string{"{full}k"}).Err(); err == nil {
		t.Fatal("a write in a script declared as reading went through")
	}
}

// openCluster opens a store on the test binary's shared cluster as the
// server does (store.Open, so with its hooks), emptied first; closed when the
// test ends.
func openCluster(t *testing.T) (*redistest.Cluster, *store.Store) {
	t.Helper()
	c := redistest.SharedCluster(t)
	st, err := store.Open(c.URL(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cc := st.Client.(*redis.ClusterClient)
	if err := cc.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error { return n.FlushAll(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	return c, st
}

func runs(s *redis.Script) int64 {
	for _, r := range store.Scripts() {
		if r.Hash() == s.Hash() {
			return r.ClusterRuns()
		}
	}
	return -1
}
