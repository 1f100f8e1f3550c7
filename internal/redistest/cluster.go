package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters (no replicas) on loopback.
type Cluster struct {
	Nodes []*Server
}

// URL returns the redis+cluster:// URL naming every node.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// StartCluster starts three cluster-enabled redis-servers on free loopback
// ports, joins them with redis-cli --cluster create and waits until every node
// reports cluster_state:ok. The nodes stop when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatal("redis-cli not found in PATH: install it (Debian: apt-get install -y redis-tools; .ci/run does this)")
	}
	c := &Cluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, Start(t, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
			"--cluster-config-file", "nodes.conf"))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		if err := waitInfo(n.Addr, "CLUSTER", "INFO", "cluster_state:ok", 30*time.Second); err != nil {
			t.Fatalf("redistest: cluster node %s: %v", n.Addr, err)
		}
	}
	// Every node must also know every slot's owner before a client arrives.
	if err := waitClusterSlots(c, 30*time.Second); err != nil {
		t.Fatalf("redistest: cluster: %v", err)
	}
	return c
}

// waitInfo polls a server with the command args until its reply contains want.
func waitInfo(addr, cmd, sub, want string, d time.Duration) error {
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer cl.Close()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s, err := cl.Do(ctx, cmd, sub).Text()
		cancel()
		if err == nil && strings.Contains(s, want) {
			return nil
		}
		last = fmt.Sprint(s, err)
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no %q within %s; last reply: %s", want, d, last)
}

func waitClusterSlots(c *Cluster, d time.Duration) error {
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Nodes[0].Addr}})
	defer cl.Close()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		// One key per master proves that routing works for all of them.
		err = nil
		for _, k := range []string{"{a}", "{b}", "{c}", "{d}", "{e}"} {
			if err = cl.Set(ctx, k, "1", time.Second).Err(); err != nil {
				break
			}
		}
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Sentinel is a primary with replicas watched by three sentinels, all on
// loopback, under the master name MasterName.
type Sentinel struct {
	Primary *Server
	// Replica is the first of Replicas.
	Replica  *Server
	Replicas []*Server
	// Proxies are the proxies that the first replicas replicate through
	// (SentinelOptions.Proxied), in the order of Replicas.
	Proxies   []*Proxy
	Sentinels []*Server
}

// MasterName is the name the sentinels know the primary by.
const MasterName = "mymaster"

// URL returns the redis+sentinel:// URL naming every sentinel.
func (s *Sentinel) URL() string {
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + MasterName
}

// SentinelOptions shape the set-up of StartSentinelWith. The zero value is
// StartSentinel's: one replica, no persistence.
type SentinelOptions struct {
	// Replicas is the number of replicas (0: one).
	Replicas int
	// AOF turns on the append-only file on every data node, fsynced on every
	// write (AOFArgs), as the README asks for with ?wait=.
	AOF bool
	// Proxied is how many replicas, the first ones, replicate through a Proxy
	// of their own (Sentinel.Proxies), which can cut them off the primary.
	Proxied int
	// Args are further redis-server arguments for every data node.
	Args []string
}

// AOFArgs are the redis-server arguments of SentinelOptions.AOF.
func AOFArgs() []string { return []string{"--appendonly", "yes", "--appendfsync", "always"} }

// StartSentinel starts a primary, a replica of it and three sentinels (quorum
// 2, down-after 1 s, failover timeout 5 s) and waits until the replica is in
// sync and every sentinel knows the primary and its replica. extra are further
// redis-server arguments for both data nodes (e.g. "--appendonly", "yes").
func StartSentinel(t testing.TB, extra ...string) *Sentinel {
	t.Helper()
	return StartSentinelWith(t, SentinelOptions{Args: extra})
}

// StartSentinelWith is StartSentinel with the replicas, persistence and
// proxies of o.
func StartSentinelWith(t testing.TB, o SentinelOptions) *Sentinel {
	t.Helper()
	args := o.Args
	if o.AOF {
		args = append(AOFArgs(), o.Args...)
	}
	primary := Start(t, args...)
	var replicas []*Server
	var proxies []*Proxy
	for i := range max(o.Replicas, 1) {
		host, port, _ := strings.Cut(primary.Addr, ":")
		if i < o.Proxied {
			p := StartProxy(t, primary.Addr)
			proxies = append(proxies, p)
			port = p.Port()
		}
		replicas = append(replicas, Start(t, append([]string{"--replicaof", host, port}, args...)...))
	}
	s := WatchWithSentinels(t, primary, replicas...)
	s.Proxies = proxies
	return s
}

// WatchWithSentinels waits until every replica is in sync with primary,
// starts three sentinels watching primary and waits until each knows all.
func WatchWithSentinels(t testing.TB, primary *Server, replicas ...*Server) *Sentinel {
	t.Helper()
	if len(replicas) == 0 {
		t.Fatal("redistest: WatchWithSentinels needs a replica")
	}
	s := &Sentinel{Primary: primary, Replica: replicas[0], Replicas: replicas}
	for _, r := range replicas {
		if err := waitInfo(r.Addr, "INFO", "replication", "master_link_status:up", 30*time.Second); err != nil {
			t.Fatalf("redistest: replica %s: %v", r.Addr, err)
		}
	}
	for range 3 {
		s.Sentinels = append(s.Sentinels, startSentinelNode(t, s.Primary.port))
	}
	want := fmt.Sprintf("slaves=%d,sentinels=3", len(replicas))
	for _, n := range s.Sentinels {
		if err := waitInfo(n.Addr, "INFO", "sentinel", want, 30*time.Second); err != nil {
			t.Fatalf("redistest: sentinel %s: %v", n.Addr, err)
		}
	}
	return s
}

// MasterAddr returns the primary's address as the first sentinel sees it.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr})
	defer c.Close()
	a, err := c.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil {
		return "", err
	}
	return a[0] + ":" + a[1], nil
}

// startSentinelNode starts one redis-server --sentinel watching the primary.
func startSentinelNode(t testing.TB, primaryPort int) *Server {
	t.Helper()
	s := &Server{Dir: t.TempDir(), port: FreePort(t)}
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	conf := filepath.Join(s.Dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(sentinelConf(s.port, s.Dir, primaryPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	s.args = []string{conf, "--sentinel"}
	s.start(t)
	t.Cleanup(s.Kill)
	return s
}

func sentinelConf(port int, dir string, primaryPort int) string {
	m := MasterName
	return fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\nlogfile %s\n", port, dir, filepath.Join(dir, "redis.log")) +
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\n", m, primaryPort) +
		fmt.Sprintf("sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 5000\nsentinel parallel-syncs %s 1\n", m, m, m)
}
