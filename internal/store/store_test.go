package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

func TestOpen(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := st.Ping(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		if st.Mode != config.RedisSingle {
			t.Fatalf("mode = %s", st.Mode)
		}
		// Both backends run the same Lua with cjson, as the domain scripts need.
		got, err := redis.NewScript(`return cjson.encode({KEYS[1], ARGV[1]})`).Run(ctx, st.Client, []string{"rathaus:{t}:k"}, "v").Text()
		if err != nil || got != `["rathaus:{t}:k","v"]` {
			t.Fatalf("script = %q, %v", got, err)
		}
	})
}

func TestOpenModes(t *testing.T) {
	tests := []struct {
		url  string
		mode config.RedisMode
	}{
		{"redis://127.0.0.1:1/0", config.RedisSingle},
		{"redis+sentinel://127.0.0.1:1/mymaster", config.RedisSentinel},
		{"redis+cluster://127.0.0.1:1,127.0.0.1:2", config.RedisCluster},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			st := redistest.OpenURL(t, tt.url) // opening does not wait for Redis
			if st.Mode != tt.mode || st.Embedded {
				t.Fatalf("mode %s embedded %v", st.Mode, st.Embedded)
			}
			err := st.Ping(context.Background(), time.Second)
			if err == nil || !store.IsUnavailable(err) {
				t.Fatalf("ping of nothing = %v, want an unavailable error", err)
			}
		})
	}
	t.Run("ErrMalformed", func(t *testing.T) {
		if _, err := store.Open("localhost:6379", nil); err == nil {
			t.Fatal("a URL without scheme was accepted")
		}
	})
}

func TestEmbeddedTTLRunsDown(t *testing.T) {
	st := redistest.OpenURL(t, "")
	if !st.Embedded {
		t.Fatal("empty URL did not open the embedded store")
	}
	ctx := context.Background()
	if err := st.Client.Set(ctx, "k", "v", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	// Waits for an event (the key expiring), bounded so a broken ticker fails instead of hanging.
	deadline := time.Now().Add(10 * time.Second)
	for st.Client.Exists(ctx, "k").Val() == 1 {
		if time.Now().After(deadline) {
			t.Fatal("the key's TTL never ran down in the embedded store")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	st := redistest.OpenURL(t, srv.URL())
	ctx := context.Background()
	if err := st.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	err := store.Wrap("test.get", st.Client.Get(ctx, "k").Err())
	e := apperr.As(err)
	if e == nil || e.Kind != apperr.KindUnavailable || e.RetryAfter <= 0 {
		t.Fatalf("err = %v, want a 503 with Retry-After", err)
	}
	srv.Restart(t)
	if err := st.Ping(ctx, 2*time.Second); err != nil {
		t.Fatalf("the client did not heal: %v", err)
	}
}

func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{redis.Nil, false},
		{errors.New("ERR wrong number of arguments"), false},
		{errors.New("ERR Error running script: attempt to compare nil"), false},
		{redis.ErrClosed, true},
		{redis.ErrPoolTimeout, true},
		{io.EOF, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{os.ErrDeadlineExceeded, true},
		{context.DeadlineExceeded, true},
		{errors.New("LOADING Redis is loading the dataset in memory"), true},
		{errors.New("CLUSTERDOWN The cluster is down"), true},
		{redisErr("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{redisErr("MOVED 2272 127.0.0.1:7001"), true},
		{redisErr("ASK 2272 127.0.0.1:7001"), true},
		{fmt.Errorf("booking.book: %w", redisErr("MOVED 2272 127.0.0.1:7001")), true},
		{errors.New("READONLY You can't write against a read only replica."), true},
		{redisErr("OOM command not allowed when used memory > 'maxmemory'."), true},
		{redisErr("OOM command not allowed when used memory > 'maxmemory'. script: 0a9f, on @user_script:1."), true},
		{redisErr("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."), true},
		{redisErr("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT."), true},
		{redisErr("ERR Error running script: user_script:3: OOM in a message of ours"), false},
		{errors.New("OOM but not from Redis"), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := store.IsUnavailable(tt.err); got != tt.want {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			w := store.Wrap("op", tt.err)
			if tt.err == nil {
				if w != nil {
					t.Fatal("Wrap(nil) != nil")
				}
				return
			}
			if !errors.Is(w, tt.err) {
				t.Fatal("Wrap lost the cause")
			}
			if (apperr.KindOf(w) == apperr.KindUnavailable) != tt.want {
				t.Fatalf("Wrap kind = %d", apperr.KindOf(w))
			}
		})
	}
}

// redisErr is an error reply as go-redis reports it (redis.Error).
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}

// TestCheck: a Redis that may evict keys is refused; one without AOF is
// reported; one with noeviction and AOF passes. Real redis-servers.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		args     []string
		evicting bool
		noAOF    bool
	}{
		{"noeviction with AOF", []string{"--appendonly", "yes"}, false, false},
		{"noeviction without AOF", nil, false, true},
		{"allkeys-lru", []string{"--maxmemory-policy", "allkeys-lru", "--appendonly", "yes"}, true, false},
		{"volatile-lru (the seat counts have a TTL)", []string{"--maxmemory-policy", "volatile-lru"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.args...)
			st := redistest.OpenURL(t, srv.URL())
			set, err := st.Check(ctx)
			if got := errors.Is(err, store.ErrEvicting); got != tc.evicting {
				t.Fatalf("err = %v, want evicting %v", err, tc.evicting)
			}
			if !tc.evicting && err != nil {
				t.Fatal(err)
			}
			if got := len(set.NoAOF) > 0; got != tc.noAOF {
				t.Fatalf("NoAOF = %v, want %v", set.NoAOF, tc.noAOF)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := redistest.Start(t)
		st := redistest.OpenURL(t, srv.URL())
		srv.Kill()
		if _, err := st.Check(ctx); err == nil || errors.Is(err, store.ErrEvicting) || apperr.KindOf(err) != apperr.KindUnavailable {
			t.Fatalf("err = %v, want unavailable", err)
		}
	})
}
