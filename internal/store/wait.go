package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// defaultWaitTimeout bounds WAIT when the URL names no wait_timeout.
const defaultWaitTimeout = time.Second

// waitHook makes every write that rathaus counts on wait until n replicas
// hold it (?wait=n):
//
//   - A script call (every state change of rathaus is a script) goes to the
//     primary as a pipeline of its own, which the pipeline hook below ends
//     with WAIT n timeout.
//   - A pipeline that writes — one that holds a script or any command not
//     known to only read — gets a WAIT n timeout appended: one more command in
//     the same round trip, on the same connection (which WAIT needs). The
//     audit log's batches of XADDs are such pipelines. Pipelines that only
//     read (rathaus's other pipelines) are sent as they are.
//
// When fewer than n replicas confirm in time, every writing command of the
// call fails as unavailable (IsUnreplicated). The write may then still exist
// on the primary, but nobody was told it happened, so a failover that loses
// it loses nothing acknowledged; doing it again may do it twice.
//
// Single plain commands are not waited for: they are bookkeeping nobody is
// told about (scheduler locks, the outbox workers' reads, claims and
// clean-ups, dropping the idempotency claim of a request that failed).
// Losing one in a failover repeats work or leaves a claim to expire; it loses
// no answer rathaus gave. MULTI/EXEC is refused when it writes: WAIT cannot
// follow EXEC in go-redis's transaction pipeline, and rathaus sends none.
type waitHook struct {
	rdb     redis.UniversalClient
	n       int
	timeout time.Duration
}

// unreplicatedError is a write that ran on the primary but that fewer than
// n replicas confirmed within the timeout. IsUnavailable makes it a 503 like
// Redis's own min-replicas refusal (NOREPLICAS) — which, unlike this, means
// that nothing was written. Its message must not start with a Redis error
// code: go-redis's cluster client resends a command whose error starts with
// "NOREPLICAS " (it ran four times in a test before this was changed).
type unreplicatedError struct {
	got, n  int64
	timeout time.Duration
}

func (e *unreplicatedError) Error() string {
	return fmt.Sprintf("store: only %d of %d replicas confirmed the write within %s", e.got, e.n, e.timeout)
}

// IsUnreplicated reports whether err says that a write ran on the primary
// but fewer replicas than ?wait= asks for confirmed it in time: the write
// probably exists (until a failover), and sending it again probably does it
// twice.
func IsUnreplicated(err error) bool {
	var e *unreplicatedError
	return errors.As(err, &e)
}

func (h *waitHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *waitHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isScript(cmd) {
			return next(ctx, cmd)
		}
		// A pipeline of one: ProcessPipelineHook appends the WAIT and sets
		// cmd's error when it fails.
		_, _ = h.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { return p.Process(ctx, cmd) })
		return cmd.Err()
	}
}

// ProcessPipelineHook appends WAIT n timeout to a pipeline that writes (see
// waitHook). A pipeline that only reads goes out as it is.
func (h *waitHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		body, tx := cmds, len(cmds) >= 2 && cmds[0].Name() == "multi"
		if tx {
			body = cmds[1 : len(cmds)-1] // go-redis wraps a transaction in MULTI … EXEC
		}
		if !writes(body) {
			return next(ctx, cmds)
		}
		if tx {
			err := errors.New("store: a MULTI/EXEC that writes is not supported with ?wait= (its writes would not be waited for)")
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		wait := noRetryCmd{redis.NewIntCmd(ctx, "wait", h.n, h.timeout.Milliseconds())}
		_ = next(ctx, append(cmds[:len(cmds):len(cmds)], wait))
		werr := wait.Err()
		if werr == nil && wait.Val() < int64(h.n) {
			werr = &unreplicatedError{got: wait.Val(), n: int64(h.n), timeout: h.timeout}
		}
		if werr != nil {
			// A command that failed keeps its own error (a script's
			// refusal is the answer); every write that ran fails, also a
			// script that answered nil (redis.Nil).
			for _, c := range cmds {
				if err := c.Err(); (err == nil || errors.Is(err, redis.Nil)) && !readOnly(c) {
					c.SetErr(werr)
				}
			}
		}
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				return err
			}
		}
		return nil
	}
}

// noRetryCmd is a command that go-redis never resends: in a pipeline, it
// keeps the cluster client from sending the batch again after a lost reply
// (the writes in it may have run).
type noRetryCmd struct{ *redis.IntCmd }

func (noRetryCmd) NoRetry() bool { return true }

// writes reports whether cmds hold a command that may write.
func writes(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if !readOnly(c) {
			return true
		}
	}
	return false
}

// readOnly reports whether cmd is known to only read. Anything else — every
// script included — counts as a write, so a command added later is waited
// for rather than forgotten.
func readOnly(cmd redis.Cmder) bool {
	_, ok := readCommands[strings.ToLower(cmd.Name())]
	return ok
}

var readCommands = map[string]struct{}{
	"get": {}, "mget": {}, "getrange": {}, "strlen": {}, "exists": {}, "type": {}, "ttl": {}, "pttl": {},
	"expiretime": {}, "pexpiretime": {}, "dump": {}, "scan": {}, "keys": {}, "dbsize": {}, "randomkey": {},
	"hget": {}, "hmget": {}, "hgetall": {}, "hvals": {}, "hkeys": {}, "hlen": {}, "hexists": {}, "hstrlen": {},
	"hscan": {}, "hrandfield": {},
	"llen": {}, "lrange": {}, "lindex": {}, "lpos": {},
	"scard": {}, "smembers": {}, "sismember": {}, "smismember": {}, "srandmember": {}, "sscan": {},
	"sinter": {}, "sunion": {}, "sdiff": {}, "sintercard": {},
	"zcard": {}, "zcount": {}, "zlexcount": {}, "zscore": {}, "zmscore": {}, "zrank": {}, "zrevrank": {},
	"zrange": {}, "zrangebyscore": {}, "zrevrangebyscore": {}, "zrangebylex": {}, "zrevrangebylex": {},
	"zrevrange": {}, "zscan": {}, "zrandmember": {},
	"xlen": {}, "xrange": {}, "xrevrange": {}, "xread": {}, "xpending": {}, "xinfo": {},
	"bitcount": {}, "getbit": {}, "bitpos": {}, "pfcount": {},
	"eval_ro": {}, "evalsha_ro": {}, "fcall_ro": {},
	"ping": {}, "echo": {}, "time": {}, "info": {}, "role": {}, "memory": {}, "object": {}, "command": {},
	"wait": {},
}

func isScript(cmd redis.Cmder) bool {
	switch strings.ToLower(cmd.Name()) {
	case "eval", "evalsha", "fcall":
		return true
	}
	return false
}
