package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// strictPrefix is the shebang that turns a script into one with flags (Redis
// 7). Such a script may only touch keys of one slot — its declared keys and
// every key it names itself — and a Redis Cluster refuses it otherwise ("Script
// attempted to access keys that do not hash to the same slot"), even when both
// slots live on the same node. A script without it (Redis's legacy mode) works
// there as long as the slots happen to share a node, and breaks at the next
// reshard. No flags: the script may write, and is refused as a whole, before
// it starts, when Redis refuses writes (OOM, MISCONF, NOREPLICAS); a script
// that only reads is declared with NewReadScript (flag no-writes) and runs
// then all the same.
const strictPrefix = "#!lua\n"

// Script is a Lua script of rathaus, registered by NewScript.
type Script struct {
	// Where is the file and line that declared it (for messages).
	Where string
	// Dir is the directory of that file.
	Dir string
	// First is its first line of Lua of its own (for messages).
	First string

	sha, strictSrc, strictSHA string
	clusterRuns               atomic.Int64
}

// Hash is the SHA-1 of its text, as redis.Script's.
func (s *Script) Hash() string { return s.sha }

// ClusterRuns is how often this process ran the script on a Redis Cluster
// (Redis answered it; refusals do not count).
func (s *Script) ClusterRuns() int64 { return s.clusterRuns.Load() }

var registry = struct {
	sync.RWMutex
	all   []*Script
	bySHA map[string]*Script
}{bySHA: map[string]*Script{}}

// NewScript is redis.NewScript for every script of rathaus: it also records
// the script, so that on a Redis Cluster it runs as a strict one (see
// strictPrefix) and tests can tell which scripts ran there. skip is how many
// wrapper functions lie between the declaration and this call (0: none).
func NewScript(src string, skip ...int) *redis.Script {
	return register(src, strictPrefix, skip)
}

// NewReadScript is NewScript for a script that only reads: on a cluster it
// runs with the flag no-writes, so that Redis runs it also while it refuses
// writes (full, a failed snapshot, too few replicas), as it runs such a
// script without flags on a single Redis. A write in it fails.
func NewReadScript(src string, skip ...int) *redis.Script {
	return register(src, readPrefix, skip)
}

// readPrefix is strictPrefix with the flag no-writes.
const readPrefix = "#!lua flags=no-writes\n"

func register(src, prefix string, skip []int) *redis.Script {
	s := redis.NewScript(src)
	depth := 2
	if len(skip) > 0 {
		depth += skip[0]
	}
	_, file, line, _ := runtime.Caller(depth)
	info := &Script{Where: fmt.Sprintf("%s:%d", filepath.Base(file), line), Dir: filepath.Dir(file),
		First: firstLine(src), sha: s.Hash(), strictSrc: prefix + src}
	info.strictSHA = shaOf(info.strictSrc)
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.bySHA[info.sha]; !dup {
		registry.all = append(registry.all, info)
		registry.bySHA[info.sha] = info
	}
	return s
}

// Scripts returns the scripts registered so far.
func Scripts() []*Script {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Clone(registry.all)
}

func lookupSHA(sha string) *Script {
	registry.RLock()
	defer registry.RUnlock()
	return registry.bySHA[sha]
}

func shaOf(src string) string {
	h := sha1.Sum([]byte(src))
	return hex.EncodeToString(h[:])
}

func firstLine(src string) string {
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--") && !strings.HasPrefix(l, "local function") {
			return l
		}
	}
	return ""
}

// strictScripts is the hook of a cluster client: it sends every registered
// script as its strict twin (EVALSHA of the twin's hash, and its text when
// Redis does not know it yet), and counts the runs that Redis answered
// (anything but a refusal to run it). Other commands and unregistered scripts
// pass unchanged. (rathaus never loads scripts with SCRIPT LOAD, which the
// cluster client sends by a path of its own.)
type strictScripts struct{}

func (strictScripts) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (strictScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		s := strict(cmd)
		err := next(ctx, cmd)
		counted(s, cmd)
		return err
	}
}

func (strictScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		scripts := make([]*Script, len(cmds))
		for i, cmd := range cmds {
			scripts[i] = strict(cmd)
		}
		err := next(ctx, cmds)
		for i, cmd := range cmds {
			counted(scripts[i], cmd)
		}
		return err
	}
}

// strict rewrites a script call of a registered script in place and returns
// the script (nil for any other command).
func strict(cmd redis.Cmder) *Script {
	args := cmd.Args()
	if len(args) < 2 {
		return nil
	}
	name, _ := args[0].(string)
	var s *Script
	switch strings.ToLower(name) {
	case "evalsha", "evalsha_ro":
		sha, _ := args[1].(string)
		if s = lookupSHA(sha); s != nil {
			args[1] = s.strictSHA
		}
	case "eval", "eval_ro": // after NOSCRIPT: go-redis sends the text
		src, _ := args[1].(string)
		if s = lookupSHA(shaOf(src)); s != nil {
			args[1] = s.strictSrc
		}
	}
	return s
}

// counted counts a run of s that Redis carried out: one that answered, not
// one refused (NOSCRIPT, keys of two slots, the cluster down or moving).
func counted(s *Script, cmd redis.Cmder) {
	if err := cmd.Err(); s != nil && (err == nil || errors.Is(err, redis.Nil)) {
		s.clusterRuns.Add(1)
	}
}
