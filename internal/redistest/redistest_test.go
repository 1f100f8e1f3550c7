package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
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

func TestCheckScriptKeys(t *testing.T) {
	tests := []struct {
		name string
		args []any
		ok   bool
	}{
		{"OneTag", []any{"evalsha", "abc", 2, "rathaus:{a}:x", "rathaus:{a}:y", "argv"}, true},
		{"TwoTags", []any{"evalsha", "abc", 2, "rathaus:{a}:x", "rathaus:{b}:y"}, false},
		{"UntaggedPair", []any{"eval", "return 1", "2", "x", "y"}, false},
		{"OneKey", []any{"eval", "return 1", 1, "x"}, true},
		{"NoScript", []any{"mget", "x", "y", "z"}, true},
		{"EmptyBracesHashWholeKey", []any{"evalsha", "abc", 2, "{}a", "{}b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckScriptKeys(tt.args); (err == nil) != tt.ok {
				t.Fatalf("CheckScriptKeys(%v) = %v, want ok=%v", tt.args, err, tt.ok)
			}
		})
	}
}

func TestSlotCheckRefusesCrossSlotScript(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	rec := &errRecorder{TB: t}
	c.AddHook(SlotCheck(rec))
	ctx := context.Background()
	err := redis.NewScript(`return 1`).Run(ctx, c, []string{"rathaus:{a}:x", "rathaus:{b}:y"}).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") || rec.n != 1 {
		t.Fatalf("cross-slot script: err %v, reported %d times", err, rec.n)
	}
	if err := redis.NewScript(`return 1`).Run(ctx, c, []string{"rathaus:{a}:x", "rathaus:{a}:y"}).Err(); err != nil {
		t.Fatal(err)
	}
}

type errRecorder struct {
	testing.TB
	n int
}

func (r *errRecorder) Errorf(string, ...any) { r.n++ }

func TestStartCluster(t *testing.T) {
	c := StartCluster(t)
	st := OpenURL(t, c.URL())
	ctx := context.Background()
	// Keys of one tag work together; keys of two tags are refused by Redis itself.
	if err := st.Client.Eval(ctx, `redis.call('SET', KEYS[1], 1) return redis.call('INCR', KEYS[2])`, []string{"{o}:a", "{o}:b"}).Err(); err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(&redis.Options{Addr: c.Nodes[0].Addr})
	defer raw.Close()
	err := raw.Eval(ctx, `return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)`, []string{"{x}", "{y}"}).Err()
	if err == nil {
		t.Fatal("a cluster node accepted a script over two slots")
	}
}

func TestStartSentinel(t *testing.T) {
	s := StartSentinel(t)
	st := OpenURL(t, s.URL())
	ctx := context.Background()
	if err := st.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.Primary.Client(t).Get(ctx, "k").Val(); got != "v" {
		t.Fatalf("the write did not reach the primary: %q", got)
	}
}
