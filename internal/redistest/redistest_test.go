package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatal ends only the call under test, so
// the helper's own failure can be checked.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = toString(args)
	panic(r)
}
func (r *fatalRecorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }
func (r *fatalRecorder) Helper()                           {}

func toString(args []any) string {
	var b strings.Builder
	for _, a := range args {
		if s, ok := a.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

func TestStartMissingServerFailsWithHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server here
	rec := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != rec {
				panic(p)
			}
		}()
		Start(rec)
	}()
	if rec.msg != InstallHint {
		t.Fatalf("failure = %q, want the install hint", rec.msg)
	}
}

func TestKillRestart(t *testing.T) {
	s := Start(t, "--appendonly", "yes", "--appendfsync", "always")
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("the killed server still answers")
	}
	s.Restart(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after restart with AOF: %q, %v", got, err)
	}
}

func TestStartIsolated(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatal("two servers share an address")
	}
	ctx := context.Background()
	if err := a.Client(t).Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := b.Client(t).Exists(ctx, "k").Val(); n != 0 {
		t.Fatal("a key written to one server shows in the other")
	}
}
