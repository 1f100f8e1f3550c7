package store

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// defaultWaitTimeout bounds WAIT when the URL names no wait_timeout.
const defaultWaitTimeout = time.Second

// waitHook makes every script call wait until n replicas hold its writes:
// the script and a WAIT n timeout go to the primary in one pipeline (one
// connection, which WAIT needs), and when fewer than n replicas confirm in
// time the call fails as unavailable. The write may then still exist on the
// primary, but nobody was told it happened, so a failover that loses it loses
// nothing acknowledged. Every state change of rathaus is a script; plain
// commands (sessions, rate counters) are not waited for.
type waitHook struct {
	rdb     redis.UniversalClient
	n       int
	timeout time.Duration
}

func (h *waitHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *waitHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isScript(cmd) {
			return next(ctx, cmd)
		}
		var wait *redis.IntCmd
		_, _ = h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			_ = p.Process(ctx, cmd)
			wait = redis.NewIntCmd(ctx, "wait", h.n, h.timeout.Milliseconds())
			_ = p.Process(ctx, wait)
			return nil
		})
		if cmd.Err() != nil {
			return cmd.Err()
		}
		if err := wait.Err(); err != nil {
			cmd.SetErr(err)
			return err
		}
		if got := wait.Val(); got < int64(h.n) {
			err := fmt.Errorf("NOREPLICAS only %d of %d replicas confirmed the write within %s", got, h.n, h.timeout)
			cmd.SetErr(err)
			return err
		}
		return nil
	}
}

// ProcessPipelineHook leaves pipelines alone: rathaus's pipelines read, and
// the hook's own pipeline must not wait twice.
func (h *waitHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func isScript(cmd redis.Cmder) bool {
	switch strings.ToLower(cmd.Name()) {
	case "eval", "evalsha", "fcall":
		return true
	}
	return false
}
