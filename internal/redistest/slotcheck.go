package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// SlotCheck returns a go-redis hook that refuses every script call (EVAL,
// EVALSHA and their _RO forms, FCALL) whose KEYS do not all share one hash
// tag, and reports it as a test error. Such a call works on one Redis and on
// the embedded store but fails with CROSSSLOT on a cluster; with the hook it
// fails on every backend, so the normal suite already proves that no script
// touches keys of two slots. Keys without a tag must be a single key.
func SlotCheck(t testing.TB) redis.Hook { return slotCheck{t: t} }

type slotCheck struct{ t testing.TB }

func (h slotCheck) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h slotCheck) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := CheckScriptKeys(cmd.Args()); err != nil {
			h.t.Errorf("redistest: %v", err)
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h slotCheck) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if err := CheckScriptKeys(cmd.Args()); err != nil {
				h.t.Errorf("redistest: %v", err)
				cmd.SetErr(err)
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// CheckScriptKeys returns an error when args is a script call whose KEYS
// belong to more than one hash tag; any other command passes.
func CheckScriptKeys(args []any) error {
	if len(args) < 3 {
		return nil
	}
	switch strings.ToLower(fmt.Sprint(args[0])) {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
	default:
		return nil
	}
	n, err := strconv.Atoi(fmt.Sprint(args[2]))
	if err != nil || n < 2 || len(args) < 3+n {
		return nil
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint(args[3+i])
	}
	first := HashTag(keys[0])
	for _, k := range keys[1:] {
		if HashTag(k) != first {
			return fmt.Errorf("CROSSSLOT: script keys %q span more than one hash tag (%q and %q)", keys, first, HashTag(k))
		}
	}
	return nil
}
