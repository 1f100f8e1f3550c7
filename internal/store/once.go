package store

import (
	"context"
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
)

// replyLostError is the error of a script on a cluster node after the
// script may have run: its reply was lost or came too late (a dropped
// connection, a read timeout). go-redis's cluster client would send the
// script again — on the same node, then on others, up to four times (its
// node clients do not: the store sets no retries, see noRetries); running a
// booking twice books twice. This type hides the cause from go-redis (no
// Unwrap, a message that names no Redis error code), so it is not resent;
// IsUnavailable makes it a 503 like its cause.
type replyLostError struct{ cause error }

func (e *replyLostError) Error() string {
	return "store: a script's reply was lost, it may have run: " + e.cause.Error()
}

// scriptsOnce is the hook of every node client of a cluster (see Open): it
// turns a script's transport error into a replyLostError. Errors that
// Redis sent (MOVED, ASK, TRYAGAIN, NOSCRIPT, …: the script did not run),
// dial errors and pool timeouts (nothing was sent) stay as they are, for the
// cluster client to follow or retry.
type scriptsOnce struct{}

func (scriptsOnce) DialHook(next redis.DialHook) redis.DialHook { return next }

func (scriptsOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && isScript(cmd) && mayHaveRun(err) {
			err = &replyLostError{cause: err}
			cmd.SetErr(err)
		}
		return err
	}
}

// ProcessPipelineHook covers scripts that go out in a node's pipeline: after
// an ASK redirect (ASKING, script) and under ?wait= (script, WAIT). When the
// batch failed in a way that leaves open whether it ran, its scripts get the
// replyLostError (a script's own error may still read "ASK …" then).
func (scriptsOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil || !mayHaveRun(err) {
			return err
		}
		lost := &replyLostError{cause: err}
		found := false
		for _, c := range cmds {
			if isScript(c) {
				c.SetErr(lost)
				found = true
			}
		}
		if found {
			return lost
		}
		return err
	}
}

// mayHaveRun reports whether err, the error of a command that was handed to
// the connection, leaves open whether Redis ran it.
func mayHaveRun(err error) bool {
	var re redis.Error
	var oe *net.OpError
	var lost *replyLostError
	switch {
	case errors.As(err, &re), IsUnreplicated(err), errors.As(err, &lost),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, context.Canceled):
		return false
	case err == redis.ErrClosed: // a closed node client: nothing sent; the cluster client sends it to another node
		return false
	case errors.As(err, &oe) && oe.Op == "dial":
		return false
	}
	return true
}
