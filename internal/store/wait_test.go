package store_test

import (
	"context"
	"errors"
	"strconv"
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

// TestWaitPipelines: with ?wait=1 a pipeline that writes (the audit log's
// batches of XADDs) ends with one WAIT in the same round trip and counts only
// when the replica holds its writes; a pipeline that only reads is sent as
// it is; a script is waited for once, not twice. Without the replica the
// writes fail as unavailable and unreplicated — they did run on the primary —
// also those of a script that answers nil; reads still work.
func TestWaitPipelines(t *testing.T) {
	primary := redistest.Start(t, "--repl-diskless-sync-delay", "0") // the replica syncs at once, not after 5 s
	host, port, _ := strings.Cut(primary.Addr, ":")
	replica := redistest.Start(t, "--replicaof", host, port)
	st := redistest.OpenURL(t, primary.URL()+"?wait=1&wait_timeout=300ms")
	ctx := context.Background()
	raw, onReplica := primary.Client(t), replica.Client(t)
	waits := func() int {
		t.Helper()
		info, err := raw.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(info, "cmdstat_wait:calls=")
		if !ok {
			return 0
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		return n
	}
	const stream = "rathaus:{audit}:log"
	xadds := func(p redis.Pipeliner) error {
		for i := range 3 {
			p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"n", i}})
		}
		return nil
	}
	// The replica may still be syncing: wait (bounded) for the first confirmed write.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = st.Client.Pipelined(ctx, func(p redis.Pipeliner) error { p.Del(ctx, stream); return nil }); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("with a replica: %v", err)
	}

	before := waits()
	if _, err := st.Client.Pipelined(ctx, xadds); err != nil {
		t.Fatalf("write pipeline with a replica: %v", err)
	}
	if n := onReplica.XLen(ctx, stream).Val(); n != 3 {
		t.Fatalf("right after the write pipeline the replica holds %d entries, want 3", n)
	}
	if got := waits() - before; got != 1 {
		t.Fatalf("a write pipeline sent %d WAITs, want 1", got)
	}
	before = waits()
	if _, err := st.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XLen(ctx, stream)
		p.Get(ctx, "rathaus:{t}:none")
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	if got := waits() - before; got != 0 {
		t.Fatalf("a read pipeline sent %d WAITs, want 0", got)
	}
	incr := redis.NewScript(`return redis.call("INCR", KEYS[1])`)
	if err := incr.Load(ctx, raw).Err(); err != nil { // else EVALSHA fails (NOSCRIPT) and EVAL follows: two calls
		t.Fatal(err)
	}
	before = waits()
	if err := incr.Run(ctx, st.Client, []string{"rathaus:{t}:n"}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := waits() - before; got != 1 {
		t.Fatalf("a script sent %d WAITs, want 1", got)
	}
	if _, err := st.Client.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Incr(ctx, "rathaus:{t}:n"); return nil }); err == nil {
		t.Fatal("a MULTI/EXEC that writes passed without WAIT")
	}
	if _, err := st.Client.TxPipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "rathaus:{t}:n"); return nil }); err != nil {
		t.Fatalf("a MULTI/EXEC that only reads: %v", err)
	}

	replica.Kill()
	cmds, err := st.Client.Pipelined(ctx, xadds)
	if !store.IsUnreplicated(err) || apperr.KindOf(store.Wrap("test", err)) != apperr.KindUnavailable {
		t.Fatalf("write pipeline without a replica: %v, want unreplicated and unavailable", err)
	}
	for _, c := range cmds {
		if !store.IsUnreplicated(c.Err()) {
			t.Fatalf("%v: %v, want unreplicated", c.Args(), c.Err())
		}
	}
	if n := raw.XLen(ctx, stream).Val(); n != 6 {
		t.Fatalf("the primary holds %d entries, want 6 (the refused pipeline ran there)", n)
	}
	err = redis.NewScript(`redis.call("SET", KEYS[1], 1) return nil`).Run(ctx, st.Client, []string{"rathaus:{t}:m"}).Err()
	if !store.IsUnreplicated(err) {
		t.Fatalf("a script that writes and answers nil, without a replica: %v, want unreplicated", err)
	}
	start := time.Now()
	if _, err := st.Client.Pipelined(ctx, func(p redis.Pipeliner) error { p.XLen(ctx, stream); return nil }); err != nil {
		t.Fatalf("read pipeline without a replica: %v", err)
	}
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("a read pipeline took %s: it waited", d)
	}
}

// TestClusterWaitReplicas: with ?wait=1 on a cluster, a script and a
// pipeline that writes count only when a replica of the master that ran
// them holds their writes — the WAIT goes to that master's connection, not
// to any node: a key of the master with a replica is acknowledged (and on
// the replica), one of a master without is refused as unreplicated, and so
// is the first key once its replica is gone.
func TestClusterWaitReplicas(t *testing.T) {
	c := redistest.StartCluster(t)
	ctx := context.Background()
	const key = "rathaus:{w}:n"
	master := c.KeyOwner(t, key)
	replica := c.AddReplica(t, master)
	other := "" // a key served by another master (one without a replica)
	for i := 0; other == "" && i < 100; i++ {
		if k := "rathaus:{o" + strconv.Itoa(i) + "}:n"; c.KeyOwner(t, k).Addr != master.Addr {
			other = k
		}
	}
	if other == "" {
		t.Fatal("no key of another master found")
	}
	st := redistest.OpenURL(t, c.URL()+"?wait=1&wait_timeout=300ms")
	script := redis.NewScript(`return redis.call("INCR", KEYS[1])`)
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = script.Run(ctx, st.Client, []string{key}).Err(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("a key of the master with a replica: %v", err)
	}
	rc := replica.Client(t)
	p := rc.Pipeline() // one connection: READONLY holds for it only
	p.Do(ctx, "readonly")
	onReplica := p.Get(ctx, key)
	if _, err := p.Exec(ctx); err != nil || onReplica.Val() == "" {
		t.Fatalf("the acknowledged write is not on the replica: %q %v", onReplica.Val(), err)
	}
	if _, err := st.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: "rathaus:{w}:log", Values: []any{"a", "1"}})
		return nil
	}); err != nil {
		t.Fatalf("a pipeline that writes to the master with a replica: %v", err)
	}
	// A refused write ran once on its master, and only once: go-redis's
	// cluster client resends an error that reads like a Redis NOREPLICAS
	// (it ran four times before the error was renamed).
	ranOnce := func(k string, want int) {
		t.Helper()
		if n, _ := st.Client.Get(ctx, k).Int(); n != want {
			t.Fatalf("%s is %d after the refused script, want %d (run once)", k, n, want)
		}
	}
	err = store.Wrap("test", script.Run(ctx, st.Client, []string{other}).Err())
	if !store.IsUnreplicated(err) || apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("a key of a master without a replica: %v, want unavailable and unreplicated", err)
	}
	ranOnce(other, 1)
	before, _ := st.Client.Get(ctx, key).Int()
	replica.Kill()
	err = store.Wrap("test", script.Run(ctx, st.Client, []string{key}).Err())
	if !store.IsUnreplicated(err) || apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("after the replica died: %v, want unavailable and unreplicated", err)
	}
	ranOnce(key, before+1)
	_, err = st.Client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: "rathaus:{w}:log", Values: []any{"a", "2"}})
		return nil
	})
	if !store.IsUnreplicated(err) {
		t.Fatalf("a writing pipeline after the replica died: %v, want unreplicated", err)
	}
	if err := st.Client.Set(ctx, key+":plain", "v", 0).Err(); err != nil { // plain commands are not waited for
		t.Fatal(err)
	}
}
