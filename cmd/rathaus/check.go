package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// checkCommand checks a deployment before it serves, with the settings the
// server would use: the offices file, the Redis (it answers, keeps its keys,
// writes an AOF; its version and memory) and the mail (the SMTP server takes
// the connection, TLS and credentials — no mail is sent — or the mail
// directory is writable). One line per check: "ok", "warn" or "FAIL"; it
// fails (exit code 1) when a check failed — a bad setting already stops it
// with exit code 2, as it stops the server.
func checkCommand(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	failed := 0
	report := func(status, what, format string, args ...any) {
		fmt.Fprintf(stdout, "%-4s  %-8s %s\n", status, what, fmt.Sprintf(format, args...))
		if status == "FAIL" {
			failed++
		}
	}

	report("ok", "config", "role %s, base URL %s", cfg.Role, cfg.BaseURL)
	if cfg.BaseURL == config.Default().BaseURL {
		report("warn", "config", "RATHAUS_BASE_URL is the default: the links in the mails lead to localhost")
	}
	if strings.HasPrefix(cfg.BaseURL, "https://") && len(cfg.TrustedProxies) == 0 && cfg.Role != config.RoleWorker {
		report("warn", "config", "RATHAUS_TRUSTED_PROXIES is empty: behind a TLS proxy every citizen would share the proxy's rate limits")
	}
	if cfg.PowSecret == "" && cfg.Role != config.RoleWorker {
		report("warn", "config", "RATHAUS_POW_SECRET is unset: replicas reject each other's proof-of-work solutions and count rate limits apart")
	}

	var ids []string
	if offices, err := loadOffices(cfg); err != nil {
		report("FAIL", "offices", "%v", err)
	} else {
		ids = make([]string, len(offices))
		for i, o := range offices {
			ids[i] = o.ID
		}
		source := "the demo office (RATHAUS_OFFICES_FILE is unset)"
		if cfg.OfficesFile != "" {
			source = cfg.OfficesFile
		}
		status := "ok"
		if cfg.OfficesFile == "" && cfg.RedisURL != "" {
			status = "warn" // a real store with the demo office: RATHAUS_OFFICES_FILE forgotten?
		}
		report(status, "offices", "%d from %s: %s", len(offices), source, strings.Join(ids, ", "))
	}

	checkRedis(ctx, cfg, ids, report)
	checkMail(ctx, cfg, report)

	if failed > 0 {
		return fmt.Errorf("check: %d of the checks failed", failed)
	}
	return nil
}

// checkRedis reports whether the Redis answers and may be trusted with data,
// and the mail waiting in the outboxes of offices.
func checkRedis(ctx context.Context, cfg config.Config, offices []string, report func(status, what, format string, args ...any)) {
	if cfg.RedisURL == "" {
		report("warn", "redis", "RATHAUS_REDIS_URL is unset: the embedded store loses everything when the process stops (trying out only)")
		return
	}
	st, err := store.Open(cfg.RedisURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		report("FAIL", "redis", "%v", err)
		return
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx, 3*time.Second); err != nil {
		report("FAIL", "redis", "does not answer: %v", err)
		return
	}
	set, err := st.Check(ctx)
	switch {
	case errors.Is(err, store.ErrEvicting), errors.Is(err, store.ErrClusterNode), errors.Is(err, store.ErrNotCluster),
		errors.Is(err, store.ErrReplica), errors.Is(err, store.ErrOldCluster):
		report("FAIL", "redis", "%v", err)
	case err != nil:
		report("FAIL", "redis", "could not read its settings: %v", err)
	case len(set.Unknown) > 0:
		report("warn", "redis", "%s does not tell its eviction policy or AOF (INFO): not checked", strings.Join(set.Unknown, ", "))
	case len(set.NoAOF) > 0:
		report("warn", "redis", "no append-only file on %s: a crash loses what was written since the last snapshot (appendonly yes)", strings.Join(set.NoAOF, ", "))
	default:
		report("ok", "redis", "keeps its keys (noeviction) and writes an append-only file")
	}
	if err == nil {
		checkReplicas(st, set, report)
	}
	info, err := st.Client.Info(ctx).Result()
	if err != nil {
		report("FAIL", "redis", "INFO: %v", err)
		return
	}
	version, used, limit := store.InfoField(info, "redis_version"), store.InfoField(info, "used_memory_human"), store.InfoField(info, "maxmemory_human")
	if limit == "0B" {
		limit = "none"
	}
	status := "ok"
	var major, minor int
	fmt.Sscanf(version, "%d.%d", &major, &minor)
	switch {
	case major < 6 || major == 6 && minor < 2:
		status = "FAIL" // the outbox needs XAUTOCLAIM (6.2)
	case major < 7 && st.Mode == config.RedisCluster:
		status = "FAIL" // scripts run with flags there (Redis 7)
	case major < 7:
		status = "warn" // rathaus is built and tested on Redis 7
	}
	report(status, "redis", "%s mode, Redis %s, %s used, maxmemory %s", st.Mode, version, used, limit)
	checkOutboxes(ctx, st, offices, report)
}

// checkReplicas reports what a dying master would cost. On a cluster each
// master needs a replica to take over its offices; under Sentinel the
// primary needs one to promote. With ?wait=N a cluster's every master and a
// Sentinel primary need N+1, so that the promoted one still has N and writes
// do not answer 503 after a failover (with fewer than N every write answers
// 503 at once). A single Redis with ?wait=N needs N replicas.
func checkReplicas(st *store.Store, set store.Settings, report func(status, what, format string, args ...any)) {
	switch st.Mode {
	case config.RedisSingle:
		for name, n := range set.Replicas {
			if n < st.WaitReplicas {
				report("warn", "redis", "%s has %d replica(s) connected; with ?wait=%d every write answers 503 until %d are",
					name, n, st.WaitReplicas, st.WaitReplicas)
			}
		}
	case config.RedisCluster:
		var none, short, thin []string // no replica; fewer than ?wait=; no more than ?wait=
		for name, n := range set.Replicas {
			switch {
			case n < st.WaitReplicas:
				short = append(short, name)
			case n == 0:
				none = append(none, name)
			case st.WaitReplicas > 0 && n == st.WaitReplicas:
				thin = append(thin, name)
			}
		}
		sort.Strings(none)
		sort.Strings(short)
		sort.Strings(thin)
		if len(short) > 0 {
			report("warn", "redis", "masters with fewer than %d replica(s) connected: %s; with ?wait=%d every write to their slots answers 503 until they have %d",
				st.WaitReplicas, strings.Join(short, ", "), st.WaitReplicas, st.WaitReplicas)
		}
		if len(thin) > 0 {
			report("warn", "redis", "masters with only %d replica(s): %s; with ?wait=%d run %d each, or after a failover every write to its slots answers 503 until another replica joins",
				st.WaitReplicas, strings.Join(thin, ", "), st.WaitReplicas, st.WaitReplicas+1)
		}
		switch {
		case len(none) > 0:
			report("warn", "redis", "masters without a replica: %s; if one dies, its offices answer 503 until it is back (give every master a replica)",
				strings.Join(none, ", "))
		case len(set.Replicas) > 0 && len(short)+len(thin) == 0:
			report("ok", "redis", "every master of the cluster has a replica to take over")
		}
	case config.RedisSentinel:
		n, ok := set.Replicas["the Sentinel primary"]
		if !ok {
			return
		}
		want := st.WaitReplicas + 1
		switch {
		case n == 0:
			report("warn", "redis", "the Sentinel primary has no replica connected: a failover would have nothing to promote")
		case n < want:
			report("warn", "redis", "the Sentinel primary has %d replica(s) connected; with ?wait=%d run %d, or after a failover every write answers 503 until another replica joins",
				n, st.WaitReplicas, want)
		default:
			report("ok", "redis", "the Sentinel primary has %d replica(s) connected", n)
		}
	}
}

// checkOutboxes reports the mails waiting in the offices' outboxes and for a
// retry, and warns of mails that failed for good (the dead-letter stream):
// their recipients never got them.
func checkOutboxes(ctx context.Context, st *store.Store, offices []string, report func(status, what, format string, args ...any)) {
	if len(offices) == 0 {
		return
	}
	type counts struct{ waiting, retry, dead *redis.IntCmd }
	pipe := st.Client.Pipeline()
	cs := make([]counts, len(offices))
	for i, o := range offices {
		cs[i] = counts{pipe.XLen(ctx, notify.OutboxKey(o)), pipe.ZCard(ctx, notify.RetryKey(o)), pipe.XLen(ctx, notify.DeadLetterKey(o))}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		report("FAIL", "outbox", "could not read the outboxes: %v", err)
		return
	}
	var waiting, retry int64
	var dead []string
	for i, c := range cs {
		waiting += c.waiting.Val()
		retry += c.retry.Val()
		if n := c.dead.Val(); n > 0 {
			dead = append(dead, fmt.Sprintf("%s: %d (redis-cli XRANGE %s - +)", offices[i], n, notify.DeadLetterKey(offices[i])))
		}
	}
	report("ok", "outbox", "%d mails waiting, %d for a retry, over %d offices", waiting, retry, len(offices))
	if len(dead) > 0 {
		report("warn", "outbox", "mails that failed for good, never delivered — %s", strings.Join(dead, "; "))
	}
}

// checkMail reports whether mail can go out.
func checkMail(ctx context.Context, cfg config.Config, report func(status, what, format string, args ...any)) {
	if cfg.Role == config.RoleWeb {
		report("ok", "mail", "not sent by a web process")
		return
	}
	if cfg.SMTPURL == "" {
		if err := os.MkdirAll(cfg.MailDir, 0o750); err != nil {
			report("FAIL", "mail", "mail directory %s: %v", cfg.MailDir, err)
			return
		}
		f, err := os.CreateTemp(cfg.MailDir, ".check-*")
		if err != nil {
			report("FAIL", "mail", "mail directory %s is not writable: %v", cfg.MailDir, err)
			return
		}
		f.Close()
		os.Remove(f.Name())
		report("warn", "mail", "RATHAUS_SMTP_URL is unset: mails are written to %s, not sent", cfg.MailDir)
		return
	}
	tr, err := notify.NewSMTPTransport(cfg.SMTPURL)
	if err != nil {
		report("FAIL", "mail", "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		report("FAIL", "mail", "RATHAUS_MAIL_FROM: %v", err)
		return
	}
	if err := tr.Probe(ctx, from.Address); err != nil {
		report("FAIL", "mail", "the SMTP server: %v", err)
		return
	}
	report("ok", "mail", "the SMTP server took the connection, the credentials (if any) and the sender %s; no mail was sent", from.Address)
}
