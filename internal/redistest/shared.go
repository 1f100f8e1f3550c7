package redistest

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// sharedTB lends a test's Fatal and Helper to servers that outlive it: their
// directories are not the test's and their cleanups never run (the processes
// die with the test binary through procAttr).
type sharedTB struct{ testing.TB }

func (s sharedTB) Cleanup(func()) {}

func (s sharedTB) TempDir() string {
	d, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		s.Fatalf("redistest: temp dir: %v", err)
	}
	return d
}

var shared struct {
	sync.Mutex
	cluster  *Cluster
	sentinel *Sentinel
}

// SharedCluster returns the test binary's one Redis Cluster, starting it on
// first use (about 2 s); tests that use it must not run in parallel.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.cluster == nil {
		shared.cluster = StartCluster(sharedTB{t})
	}
	return shared.cluster
}

// SharedSentinel returns the test binary's one Sentinel set-up, starting it on
// first use (about 5 s); tests that use it must not run in parallel.
func SharedSentinel(t testing.TB) *Sentinel {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.sentinel == nil {
		shared.sentinel = StartSentinel(sharedTB{t})
	}
	return shared.sentinel
}

// OpenFlushed opens a store on url (a shared cluster's or Sentinel set-up's)
// after flushing every master, closed when the test ends.
func OpenFlushed(t testing.TB, url string) *store.Store { return openFlushed(t, url) }

// openFlushed opens url and empties every primary behind it, so that a shared
// deployment looks fresh to each test.
func openFlushed(t testing.TB, url string) *store.Store {
	t.Helper()
	st := OpenURL(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if cc, ok := st.Client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() })
	} else {
		err = st.Client.FlushAll(ctx).Err()
	}
	if err != nil {
		t.Fatalf("redistest: flush %s: %v", url, err)
	}
	return st
}

// HashTag returns the part of key that Redis Cluster hashes: the text inside
// the first non-empty {…}, or the whole key.
func HashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}
