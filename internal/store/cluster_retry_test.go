package store_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// loseReply is a hook on a node's client that, once armed, lets a script run
// and then reports its reply lost (io.ErrUnexpectedEOF), as a connection
// that drops between Redis running the script and the reply arriving.
type loseReply struct{ armed *atomic.Bool }

func (h loseReply) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h loseReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil && h.armed.Load() && strings.HasPrefix(strings.ToLower(cmd.Name()), "eval") {
			cmd.SetErr(io.ErrUnexpectedEOF)
			return io.ErrUnexpectedEOF
		}
		return err
	}
}
func (h loseReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil && h.armed.Load() {
			for _, c := range cmds {
				if strings.HasPrefix(strings.ToLower(c.Name()), "eval") {
					for _, c := range cmds {
						c.SetErr(io.ErrUnexpectedEOF)
					}
					return io.ErrUnexpectedEOF
				}
			}
		}
		return err
	}
}

// TestClusterNoRetryOfScripts: on a cluster, a script whose reply is lost
// (a hook on every node's client lets it run, then reports the connection
// dropped) is not sent again — it ran, and running it twice would book
// twice — with and without ?wait=; the request answers 503. Without the
// store's scriptsOnce hook go-redis's cluster client ran it five times.
func TestClusterNoRetryOfScripts(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		replica     bool
	}{{"async", "", false}, {"wait", "?wait=1", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var c *redistest.Cluster
			if tc.replica {
				c = redistest.StartCluster(t)
			} else {
				c = redistest.SharedCluster(t)
			}
			ctx := context.Background()
			const key = "rathaus:{r}:n"
			if tc.replica {
				c.AddReplica(t, c.KeyOwner(t, key)) // the key's master confirms with a replica
			}
			st, err := store.Open(c.URL()+tc.query, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			var armed atomic.Bool
			st.Client.(*redis.ClusterClient).OnNewNode(func(n *redis.Client) { n.AddHook(loseReply{&armed}) })
			if err := st.Client.Del(ctx, key).Err(); err != nil {
				t.Fatal(err)
			}
			incr := redis.NewScript(`return redis.call("INCR", KEYS[1])`)
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				if err = incr.Run(ctx, st.Client, []string{key}).Err(); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			armed.Store(true)
			err = store.Wrap("test", incr.Run(ctx, st.Client, []string{key}).Err())
			armed.Store(false)
			if apperr.KindOf(err) != apperr.KindUnavailable {
				t.Fatalf("lost reply: %v, want unavailable (503)", err)
			}
			if n, _ := st.Client.Get(ctx, key).Int(); n != 2 {
				t.Fatalf("after a lost reply the script has run %d times in all, want 2 (once more)", n)
			}
		})
	}
}
