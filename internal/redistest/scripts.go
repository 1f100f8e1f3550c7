package redistest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// Main runs a package's tests (m.Run) and exits with their code. When they
// ran in full on the cluster backend and passed, every script the package
// declares (store.NewScript in its own files) must have run on the cluster
// at least once: there a script runs with flags, so Redis refuses any script
// that touches keys of two slots, the ones it names itself included; a
// script that never ran there proved nothing. A script missing fails the run
// with its name and place.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = scriptsRanOnCluster()
	}
	os.Exit(code)
}

func scriptsRanOnCluster() int {
	if !slices.ContainsFunc(Backends, func(b Backend) bool { return b.Name == "cluster" }) || filtered() {
		return 0
	}
	dir, err := os.Getwd() // go test runs a package's tests in its directory
	if err != nil {
		fmt.Fprintln(os.Stderr, "redistest:", err)
		return 1
	}
	var missing []string
	n := 0
	for _, s := range store.Scripts() {
		if filepath.Clean(s.Dir) != filepath.Clean(dir) {
			continue
		}
		n++
		if s.ClusterRuns() == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s)", s.Where, s.First))
		}
	}
	if n == 0 { // built with -trimpath, or a package without scripts: nothing would be shown
		fmt.Fprintf(os.Stderr, "redistest: no script is declared in %s (built with -trimpath?), so none is shown to keep to one slot\n", dir)
		return 1
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "redistest: %d of the %d scripts of %s never ran on the Redis Cluster, so nothing shows that they keep to one slot:\n", len(missing), n, dir)
		for _, m := range missing {
			fmt.Fprintln(os.Stderr, "  ", m)
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "redistest: all %d scripts of %s ran on the Redis Cluster as scripts with flags\n", n, filepath.Base(dir))
	return 0
}

// filtered reports whether only some tests ran, or none (-run, -skip,
// -short, -list).
func filtered() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return testing.Short()
}

// Keys returns every key of rdb matching pattern: on a Redis Cluster those of
// every master (a KEYS sent to a cluster client reaches one node only, and a
// test that looks for what must not be stored would look in the wrong place).
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	c, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return rdb.Keys(ctx, pattern).Result()
	}
	var mu sync.Mutex
	var out []string
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		keys, err := n.Keys(ctx, pattern).Result()
		mu.Lock()
		defer mu.Unlock()
		out = append(out, keys...)
		return err
	})
	return out, err
}
