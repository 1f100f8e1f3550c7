package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// AddMaster starts one more cluster-enabled redis-server, joins it to the
// cluster as a master without slots (redis-cli --cluster add-node) and waits
// until every node knows it. It serves nothing until a slot is moved to it.
func (c *Cluster) AddMaster(t testing.TB) *Server {
	t.Helper()
	n := Start(t, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-config-file", "nodes.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", "--cluster", "add-node", n.Addr, c.Nodes[0].Addr).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster add-node: %v\n%s", err, out)
	}
	id, err := nodeID(ctx, n.Addr)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	c.Nodes = append(c.Nodes, n)
	if err := waitInfo(n.Addr, "CLUSTER", "INFO", "cluster_state:ok", 30*time.Second); err != nil {
		t.Fatalf("redistest: new master %s: %v", n.Addr, err)
	}
	for _, m := range c.Nodes {
		if err := waitInfo(m.Addr, "CLUSTER", "NODES", id, 30*time.Second); err != nil {
			t.Fatalf("redistest: node %s does not know the new master: %v", m.Addr, err)
		}
	}
	return n
}

// AddReplica starts a cluster-enabled redis-server, joins it as a replica of
// master (redis-cli --cluster add-node --cluster-slave) and waits until it is
// in sync. It is not added to Nodes (which are the masters).
func (c *Cluster) AddReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	n := Start(t, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--cluster-config-file", "nodes.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	masterID, err := nodeID(ctx, master.Addr)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	if out, err := exec.CommandContext(ctx, "redis-cli", "--cluster", "add-node", n.Addr, master.Addr,
		"--cluster-slave", "--cluster-master-id", masterID).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster add-node --cluster-slave: %v\n%s", err, out)
	}
	if err := waitInfo(n.Addr, "INFO", "replication", "master_link_status:up", 30*time.Second); err != nil {
		t.Fatalf("redistest: replica %s: %v", n.Addr, err)
	}
	if err := waitInfo(n.Addr, "CLUSTER", "INFO", "cluster_state:ok", 30*time.Second); err != nil {
		t.Fatalf("redistest: replica %s: %v", n.Addr, err)
	}
	// A master votes only for a replica it knows: wait until all know it.
	id, err := nodeID(ctx, n.Addr)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	for _, m := range c.Nodes {
		if err := waitInfo(m.Addr, "CLUSTER", "NODES", id, 30*time.Second); err != nil {
			t.Fatalf("redistest: master %s does not know the new replica: %v", m.Addr, err)
		}
	}
	return n
}

// SlotOwner returns the node that serves slot.
func (c *Cluster) SlotOwner(ctx context.Context, slot int) (*Server, error) {
	cl := redis.NewClient(&redis.Options{Addr: c.Nodes[0].Addr})
	defer cl.Close()
	ranges, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, err
	}
	for _, r := range ranges {
		if int(r.Start) <= slot && slot <= int(r.End) && len(r.Nodes) > 0 {
			for _, n := range c.Nodes {
				if n.Addr == r.Nodes[0].Addr {
					return n, nil
				}
			}
			return nil, fmt.Errorf("slot %d is served by %s, not a node of this cluster", slot, r.Nodes[0].Addr)
		}
	}
	return nil, fmt.Errorf("slot %d is not served", slot)
}

// MoveSlot moves slot from the node that serves it to to, as redis-cli
// --cluster reshard does: the target imports and the source migrates the slot,
// the keys go over batch at a time with MIGRATE (pause after each batch, to
// stretch the move the way a slot of many keys stretches it), then every
// node is told the new owner. It returns how many keys moved.
func (c *Cluster) MoveSlot(ctx context.Context, slot int, to *Server, batch int, pause time.Duration) (int, error) {
	from, err := c.SlotOwner(ctx, slot)
	if err != nil {
		return 0, err
	}
	if from == to {
		return 0, fmt.Errorf("slot %d is already on %s", slot, to.Addr)
	}
	fromID, err := nodeID(ctx, from.Addr)
	if err != nil {
		return 0, err
	}
	toID, err := nodeID(ctx, to.Addr)
	if err != nil {
		return 0, err
	}
	src := redis.NewClient(&redis.Options{Addr: from.Addr})
	defer src.Close()
	dst := redis.NewClient(&redis.Options{Addr: to.Addr})
	defer dst.Close()
	if err := dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromID).Err(); err != nil {
		return 0, fmt.Errorf("importing: %w", err)
	}
	if err := src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", toID).Err(); err != nil {
		return 0, fmt.Errorf("migrating: %w", err)
	}
	host, port, err := net.SplitHostPort(to.Addr)
	if err != nil {
		return 0, err
	}
	moved := 0
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, slot, batch).Result()
		if err != nil {
			return moved, fmt.Errorf("keys in slot: %w", err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 10000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		if err := src.Do(ctx, args...).Err(); err != nil {
			return moved, fmt.Errorf("migrate: %w", err)
		}
		moved += len(keys)
		select {
		case <-ctx.Done():
			return moved, ctx.Err()
		case <-time.After(pause):
		}
	}
	// The new owner first, then the old one, then the rest (as redis-cli does).
	order := []*Server{to, from}
	for _, n := range c.Nodes {
		if n != to && n != from {
			order = append(order, n)
		}
	}
	for _, n := range order {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr})
		err := cl.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err()
		cl.Close()
		if err != nil {
			return moved, fmt.Errorf("setslot node on %s: %w", n.Addr, err)
		}
	}
	return moved, nil
}

// KeySlot returns the cluster slot of key (asked of the cluster itself).
func (c *Cluster) KeySlot(ctx context.Context, key string) (int, error) {
	cl := redis.NewClient(&redis.Options{Addr: c.Nodes[0].Addr})
	defer cl.Close()
	s, err := cl.ClusterKeySlot(ctx, key).Result()
	return int(s), err
}

// KeyOwner returns the master that serves key, failing the test when the
// cluster does not tell.
func (c *Cluster) KeyOwner(t testing.TB, key string) *Server {
	t.Helper()
	ctx := context.Background()
	slot, err := c.KeySlot(ctx, key)
	if err != nil {
		t.Fatalf("redistest: slot of %s: %v", key, err)
	}
	owner, err := c.SlotOwner(ctx, slot)
	if err != nil {
		t.Fatalf("redistest: owner of slot %d: %v", slot, err)
	}
	return owner
}

// Role returns the role INFO replication reports for addr ("master",
// "slave"), or "" when it does not answer.
func Role(ctx context.Context, addr string) string {
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer cl.Close()
	s, err := cl.Info(ctx, "replication").Result()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "role:"); ok {
			return v
		}
	}
	return ""
}

func nodeID(ctx context.Context, addr string) (string, error) {
	cl := redis.NewClient(&redis.Options{Addr: addr})
	defer cl.Close()
	id, err := cl.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		return "", fmt.Errorf("cluster myid of %s: %w", addr, err)
	}
	return id, nil
}
