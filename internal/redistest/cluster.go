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

// Sentinel is a primary with one replica watched by three sentinels, all on
// loopback, under the master name MasterName.
type Sentinel struct {
	Primary   *Server
	Replica   *Server
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

// StartSentinel starts a primary, a replica of it and three sentinels (quorum
// 2, down-after 1 s, failover timeout 5 s) and waits until the replica is in
// sync and every sentinel knows the primary and its replica. extra are further
// redis-server arguments for both data nodes (e.g. "--appendonly", "yes").
func StartSentinel(t testing.TB, extra ...string) *Sentinel {
	t.Helper()
	primary := Start(t, extra...)
	host, port, _ := strings.Cut(primary.Addr, ":")
	replica := Start(t, append([]string{"--replicaof", host, port}, extra...)...)
	return WatchWithSentinels(t, primary, replica)
}

// WatchWithSentinels waits until replica is in sync with primary, starts
// three sentinels watching primary and waits until each knows both.
func WatchWithSentinels(t testing.TB, primary, replica *Server) *Sentinel {
	t.Helper()
	s := &Sentinel{Primary: primary, Replica: replica}
	if err := waitInfo(s.Replica.Addr, "INFO", "replication", "master_link_status:up", 30*time.Second); err != nil {
		t.Fatalf("redistest: replica %s: %v", s.Replica.Addr, err)
	}
	for range 3 {
		s.Sentinels = append(s.Sentinels, startSentinelNode(t, s.Primary.port))
	}
	for _, n := range s.Sentinels {
		if err := waitInfo(n.Addr, "INFO", "sentinel", "slaves=1,sentinels=3", 30*time.Second); err != nil {
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
