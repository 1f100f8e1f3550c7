// Package store opens the one Redis client of rathaus: a single server, a
// Sentinel-managed primary or a Cluster from RATHAUS_REDIS_URL, or, when none is
// configured, an embedded in-process Redis-protocol server that the same
// go-redis client talks to over loopback.
package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/config"
)

// Store is the opened Redis client and, for the embedded store, its server.
type Store struct {
	Client   redis.UniversalClient
	Mode     config.RedisMode
	Embedded bool
	// WaitReplicas is the ?wait= of the URL: how many replicas must hold a
	// script's writes before it counts (0: none).
	WaitReplicas int

	mini     *miniredis.Miniredis
	stopTick chan struct{}
	wg       sync.WaitGroup
}

// Open connects to the Redis named by rawURL, or starts the embedded store when
// rawURL is empty. It does not wait for Redis to answer: a store that is down at
// start makes /readyz fail until it is up, it does not stop the start.
//
// blockingReaders is how many connections the caller's background readers
// hold in blocking reads (XREADGROUP BLOCK, XREAD BLOCK): each outbox worker
// and each display stream reader keeps one for seconds at a time. The pool
// gets that many connections on top of go-redis's default of ten per CPU, so
// that a process serving many offices (Berlin: 43) does not leave its
// requests waiting for a connection while its readers block.
func Open(rawURL string, log *slog.Logger, blockingReaders ...int) (*Store, error) {
	extra := 0
	for _, n := range blockingReaders {
		extra += n
	}
	if rawURL == "" {
		return openEmbedded(log, extra)
	}
	t, err := config.ParseRedisURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	s := &Store{Mode: t.Mode, Client: newClient(t, poolSize(extra)), WaitReplicas: t.WaitReplicas}
	if cc, ok := s.Client.(*redis.ClusterClient); ok {
		s.Client.AddHook(strictScripts{})
		cc.OnNewNode(func(node *redis.Client) { node.AddHook(scriptsOnce{}) }) // before the wait hook: outside it
	}
	if t.WaitReplicas > 0 {
		timeout := t.WaitTimeout
		if timeout == 0 {
			timeout = defaultWaitTimeout
		}
		if cc, ok := s.Client.(*redis.ClusterClient); ok {
			// WAIT counts the replicas of the connection's own node, so on a
			// cluster it must follow each script on the connection of the
			// master that ran it: the hook sits on every node's client, where
			// the cluster client hands over a command (and each node's part of
			// a pipeline) after choosing the node — redirects included.
			cc.OnNewNode(func(node *redis.Client) {
				node.AddHook(&waitHook{rdb: node, n: t.WaitReplicas, timeout: timeout})
			})
		} else {
			s.Client.AddHook(&waitHook{rdb: s.Client, n: t.WaitReplicas, timeout: timeout})
		}
	}
	log.Info("store: using Redis", "mode", t.Mode, "addrs", t.Addrs, "tls", t.TLS, "wait_replicas", t.WaitReplicas)
	return s, nil
}

// Timeouts are short so that a request fails fast with 503 when Redis is
// unreachable instead of hanging; blocking commands set their own deadline.
const (
	dialTimeout  = 2 * time.Second
	readTimeout  = 3 * time.Second
	writeTimeout = 3 * time.Second
	poolTimeout  = 4 * time.Second
	// dialRetries keeps a dead Redis from costing a request go-redis's
	// default of five dial attempts per command try.
	dialRetries = 1
	// clusterReload is how old a cluster client's map of slots may get. A
	// master that dies answers no MOVED that would teach the client its
	// promoted replica: with go-redis's default of 60 s the server answered
	// 503 for a minute after a failover of 3 s. A reload is one CLUSTER SLOTS
	// in the background, at most once per interval while commands run.
	clusterReload = time.Second
	// noRetries turns off go-redis's resending of a command. It resends one
	// whose reply was lost or late (a dropped connection, a read timeout)
	// although Redis may have run it: a script ran twice through a plain
	// client, up to twelve times through a cluster's (TestNoRetryAfterReset,
	// TestClusterNoRetryOfScripts), and a booking must never run twice. Such
	// a request answers 503 instead; dials are still retried (dialRetries),
	// and a cluster still follows MOVED and ASK.
	noRetries = -1
)

// poolSize is go-redis's default pool (10 per CPU) plus extra connections.
func poolSize(extra int) int { return 10*runtime.GOMAXPROCS(0) + extra }

func newClient(t config.RedisTarget, pool int) redis.UniversalClient {
	var tlsConf *tls.Config
	if t.TLS {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch t.Mode {
	case config.RedisCluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: t.Addrs, Username: t.Username, Password: t.Password, TLSConfig: tlsConf,
			DialTimeout: dialTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, PoolTimeout: poolTimeout,
			DialerRetries: dialRetries, MaxRetries: noRetries, PoolSize: pool, ClusterStateReloadInterval: clusterReload,
		})
	case config.RedisSentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: t.MasterName, SentinelAddrs: t.Addrs, Username: t.Username, Password: t.Password,
			SentinelPassword: t.Password, DB: t.DB, TLSConfig: tlsConf,
			DialTimeout: dialTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, PoolTimeout: poolTimeout,
			DialerRetries: dialRetries, MaxRetries: noRetries, PoolSize: pool,
		})
	default:
		return redis.NewClient(&redis.Options{
			Addr: t.Addrs[0], Username: t.Username, Password: t.Password, DB: t.DB, TLSConfig: tlsConf,
			DialTimeout: dialTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, PoolTimeout: poolTimeout,
			DialerRetries: dialRetries, MaxRetries: noRetries, PoolSize: pool,
		})
	}
}

// ttlTick is how often the embedded store's clock is moved forward so that key
// expiry works (miniredis does not run TTLs down by itself).
const ttlTick = 200 * time.Millisecond

func openEmbedded(log *slog.Logger, extra int) (*Store, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("store.Open: start embedded store: %w", err)
	}
	s := &Store{Mode: config.RedisSingle, Embedded: true, mini: m, stopTick: make(chan struct{})}
	s.Client = redis.NewClient(&redis.Options{Addr: m.Addr(), DialTimeout: dialTimeout,
		ReadTimeout: readTimeout, WriteTimeout: writeTimeout, PoolTimeout: poolTimeout, PoolSize: poolSize(extra),
		MaxRetries: noRetries})
	s.wg.Add(1)
	go s.tick()
	log.Warn("store: RATHAUS_REDIS_URL is not set — using the EMBEDDED in-memory store. " +
		"Every appointment, ticket and account is LOST when the process stops. " +
		"For trying out only; in production set RATHAUS_REDIS_URL to Redis 7 with AOF.")
	return s, nil
}

func (s *Store) tick() {
	defer s.wg.Done()
	t := time.NewTicker(ttlTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-s.stopTick:
			return
		case now := <-t.C:
			s.mini.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Ping asks the store whether it answers, within timeout.
func (s *Store) Ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store.Ping: %w", err)
	}
	return nil
}

// Close closes the client and stops the embedded store.
func (s *Store) Close() error {
	err := s.Client.Close()
	if s.mini != nil {
		close(s.stopTick)
		s.wg.Wait()
		s.mini.Close()
	}
	return err
}

// Wrap turns a Redis error into the error rathaus shows: a connectivity
// problem becomes a 503 apperr with Retry-After; redis.Nil and other errors are
// wrapped with op.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if IsUnavailable(err) {
		return apperr.Unavailable(fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// IsUnavailable reports whether err means the store cannot be reached (as
// opposed to a logic error such as a script error).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	var lost *replyLostError
	switch {
	case IsUnreplicated(err), errors.As(err, &lost):
		return true
	case errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return true
	}
	msg := err.Error()
	for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY", "NOREPLICAS", "redis: nil master", "all sentinels"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	// A Redis that is up but refuses writes: full (maxmemory reached under
	// noeviction), unable to persist (a failed snapshot or AOF write with
	// stop-writes-on-bgsave-error), or busy with a script past its time limit.
	// Redis puts the code first, also when a script's call failed. And a
	// cluster moving a slot: go-redis follows MOVED and ASK a few times, then
	// hands the last one over; the layout is changing, not broken.
	var re redis.Error
	if errors.As(err, &re) {
		for _, p := range []string{"OOM ", "MISCONF ", "BUSY ", "MOVED ", "ASK "} {
			if strings.HasPrefix(re.Error(), p) {
				return true
			}
		}
	}
	return false
}

// Settings are what Check reads off the Redis (each master of a cluster).
type Settings struct {
	// Evicting names a master whose maxmemory-policy is not noeviction, with
	// the policy ("10.0.0.5:6379 allkeys-lru"); empty when none evicts.
	Evicting string
	// NoAOF names the masters that do not write an append-only file.
	NoAOF []string
	// Unknown names the masters whose INFO told neither policy nor AOF
	// (a managed service may hide them): not checked.
	Unknown []string
	// Replicas is how many replicas each master has connected (INFO
	// connected_slaves), by name; a master whose INFO does not tell is left out.
	Replicas map[string]int
	// ClusterNode names a Redis named as a single one (or a Sentinel
	// primary) that is a node of a Redis Cluster.
	ClusterNode string
	// Replica names a Redis named as a single one that is a replica.
	Replica string
	// OldCluster names a node (master or replica) of a cluster older than
	// Redis 7, with its version.
	OldCluster string
}

// ErrClusterNode is Check's error for a node of a Redis Cluster named by a
// redis:// (or Sentinel) URL: it serves only its own slots and redirects the
// rest, so every office kept on another node would answer 503 for good.
var ErrClusterNode = errors.New("the Redis is a node of a Redis Cluster: it serves only its own slots, and every office " +
	"kept on another node would be refused; name the cluster as redis+cluster://host:port,host:port")

// ErrNotCluster is Check's error for a Redis named by redis+cluster:// that
// is not a cluster: every command would fail.
var ErrNotCluster = errors.New("the Redis named by redis+cluster:// has cluster support disabled; name it " +
	"redis://host:port, or the sentinels as redis+sentinel://")

// ErrOldCluster is Check's error for a Redis Cluster with a node (master or
// replica) older than Redis 7: rathaus runs its scripts there as scripts with flags (a shebang),
// which Redis 7 introduced, so that a script can never touch two slots.
var ErrOldCluster = errors.New("a Redis Cluster needs Redis 7 or newer on every node (scripts with flags)")

// ErrReplica is Check's error for a replica named by a redis:// URL: it
// answers reads and PING, but refuses writes (READONLY), or, with
// replica-read-only no, loses them at its next resync.
var ErrReplica = errors.New("the Redis is a replica: its writes are refused, or lost at its next resync; name its primary, " +
	"or the sentinels as redis+sentinel://host:port,host:port/master-name")

// ErrEvicting is Check's error for a Redis that may evict keys.
var ErrEvicting = errors.New("Redis may evict keys when it is full (maxmemory-policy is not noeviction): appointments, " +
	"seat counts and sessions would vanish without a trace; set maxmemory-policy noeviction")

// Check reads the settings of the Redis that decide whether acknowledged data
// can be lost: an eviction policy other than noeviction (Redis deletes keys
// when full — every key of rathaus is data, none is a cache) is ErrEvicting;
// a master without AOF and the replicas of each master are reported. A node
// of a Redis Cluster named as a single Redis is ErrClusterNode, a replica
// named as one ErrReplica, and a plain Redis named as a cluster
// ErrNotCluster, and a cluster with a master older than Redis 7
// ErrOldCluster. It uses INFO,
// which managed Redis services allow where CONFIG is disabled. The embedded
// store is not checked.
func (s *Store) Check(ctx context.Context) (Settings, error) {
	out := Settings{Replicas: map[string]int{}}
	if s.Embedded {
		return out, nil
	}
	var mu sync.Mutex
	one := func(ctx context.Context, c *redis.Client) error {
		// The default sections hold memory and persistence (before Redis 7,
		// INFO took one section name only).
		info, err := c.Info(ctx).Result()
		if err != nil {
			return Wrap("store.Check", err)
		}
		policy, aof := InfoField(info, "maxmemory_policy"), InfoField(info, "aof_enabled")
		name := c.Options().Addr
		if s.Mode == config.RedisSentinel {
			name = "the Sentinel primary" // the client knows the sentinels' addresses, not the primary's
		}
		mu.Lock()
		defer mu.Unlock()
		if n, err := strconv.Atoi(InfoField(info, "connected_slaves")); err == nil {
			out.Replicas[name] = n
		}
		if s.Mode != config.RedisCluster && InfoField(info, "cluster_enabled") == "1" {
			out.ClusterNode = name
		}
		if s.Mode == config.RedisSingle && InfoField(info, "role") == "slave" {
			out.Replica = name
		}
		if s.Mode == config.RedisCluster {
			oldCluster(&out, name, info)
		}
		if policy != "" && policy != "noeviction" && out.Evicting == "" {
			out.Evicting = name + " " + policy
		}
		if aof == "0" {
			out.NoAOF = append(out.NoAOF, name)
		}
		if policy == "" || aof == "" {
			out.Unknown = append(out.Unknown, name)
		}
		return nil
	}
	var err error
	switch c := s.Client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, one)
		if err != nil && strings.Contains(err.Error(), "cluster support disabled") {
			return out, fmt.Errorf("%w (%v)", ErrNotCluster, err)
		}
		if err == nil { // a replica of Redis 6 would fail every script once promoted
			err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
				info, err := n.Info(ctx, "server").Result()
				if err != nil {
					return Wrap("store.Check", err)
				}
				mu.Lock()
				defer mu.Unlock()
				oldCluster(&out, n.Options().Addr, info)
				return nil
			})
		}
	case *redis.Client:
		err = one(ctx, c)
	default:
		return out, fmt.Errorf("store.Check: unknown client %T", s.Client)
	}
	if err != nil {
		return out, err
	}
	if out.ClusterNode != "" {
		return out, fmt.Errorf("%w (%s)", ErrClusterNode, out.ClusterNode)
	}
	if out.Replica != "" {
		return out, fmt.Errorf("%w (%s)", ErrReplica, out.Replica)
	}
	if out.OldCluster != "" {
		return out, fmt.Errorf("%w (%s)", ErrOldCluster, out.OldCluster)
	}
	if out.Evicting != "" {
		return out, fmt.Errorf("%w (%s)", ErrEvicting, out.Evicting)
	}
	return out, nil
}

// oldCluster notes in out a node of a cluster older than Redis 7 (the first
// found), from its INFO.
func oldCluster(out *Settings, name, info string) {
	if v := InfoField(info, "redis_version"); out.OldCluster == "" && majorVersion(v) > 0 && majorVersion(v) < 7 &&
		InfoField(info, "cluster_enabled") == "1" {
		out.OldCluster = name + " runs Redis " + v
	}
}

// majorVersion is the major version of a redis_version ("7.0.15" → 7), 0 when
// there is none.
func majorVersion(v string) int {
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// InfoField returns the value of name in an INFO reply, or "".
func InfoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
