package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RedisMode says which kind of Redis deployment a URL names.
type RedisMode string

// The Redis deployment kinds.
const (
	RedisSingle   RedisMode = "single"
	RedisSentinel RedisMode = "sentinel"
	RedisCluster  RedisMode = "cluster"
)

// RedisTarget is a parsed RATHAUS_REDIS_URL.
type RedisTarget struct {
	Mode       RedisMode
	Addrs      []string
	Username   string
	Password   string
	DB         int
	TLS        bool
	MasterName string
	// WaitReplicas, when above 0 (query wait=N), makes every script wait
	// until N replicas hold its writes (Redis WAIT) before its answer counts
	// — on a cluster, N replicas of the master that ran it;
	// WaitTimeout (query wait_timeout; 0: the store's default of 1s)
	// bounds that wait.
	WaitReplicas int
	WaitTimeout  time.Duration
}

// ParseRedisURL parses redis://, rediss://, redis+sentinel:// and redis+cluster:// URLs.
func ParseRedisURL(raw string) (RedisTarget, error) {
	var t RedisTarget
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return t, fmt.Errorf("%q has no scheme; use redis://host:port/db", redact(raw))
	}
	switch scheme {
	case "redis", "rediss":
		t.Mode, t.TLS = RedisSingle, scheme == "rediss"
	case "redis+sentinel", "rediss+sentinel":
		t.Mode, t.TLS = RedisSentinel, scheme == "rediss+sentinel"
	case "redis+cluster", "rediss+cluster":
		t.Mode, t.TLS = RedisCluster, scheme == "rediss+cluster"
	default:
		return t, fmt.Errorf("scheme %q is not one of redis, rediss, redis+sentinel, redis+cluster", scheme)
	}
	// url.Parse refuses comma-separated hosts with ports, so take the host list apart by hand.
	rest, query, _ := strings.Cut(rest, "?")
	hostPart, pathPart, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		ui, err := url.Parse("x://" + hostPart[:at] + "@h")
		if err != nil {
			return t, fmt.Errorf("malformed user information")
		}
		t.Username = ui.User.Username()
		t.Password, _ = ui.User.Password()
		hostPart = hostPart[at+1:]
	}
	for _, h := range strings.Split(hostPart, ",") {
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = h, "6379"
			if t.Mode == RedisSentinel {
				port = "26379"
			}
		}
		if host == "" {
			return t, fmt.Errorf("address %q has no host", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return t, fmt.Errorf("address %q has no valid port", h)
		}
		t.Addrs = append(t.Addrs, net.JoinHostPort(host, port))
	}
	if len(t.Addrs) == 0 {
		return t, fmt.Errorf("no host given")
	}
	if t.Mode == RedisSingle && len(t.Addrs) > 1 {
		return t, fmt.Errorf("redis:// takes one host; use redis+cluster:// or redis+sentinel:// for several")
	}
	switch t.Mode {
	case RedisSentinel:
		t.MasterName = pathPart
		if t.MasterName == "" {
			return t, fmt.Errorf("redis+sentinel:// needs the master name as path, e.g. redis+sentinel://h:26379/mymaster")
		}
	case RedisSingle:
		if pathPart != "" {
			n, err := strconv.Atoi(pathPart)
			if err != nil || n < 0 || n > 15 {
				return t, fmt.Errorf("database %q is not a number from 0 to 15", pathPart)
			}
			t.DB = n
		}
	case RedisCluster:
		if pathPart != "" {
			return t, fmt.Errorf("redis+cluster:// takes no database path")
		}
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return t, fmt.Errorf("malformed query")
		}
		if db := q.Get("db"); db != "" && t.Mode == RedisSentinel {
			n, err := strconv.Atoi(db)
			if err != nil || n < 0 || n > 15 {
				return t, fmt.Errorf("db=%q is not a number from 0 to 15", db)
			}
			t.DB = n
		}
		if err := parseWait(&t, q); err != nil {
			return t, err
		}
	}
	return t, nil
}

// parseWait reads wait=N and wait_timeout=D (see RedisTarget.WaitReplicas).
func parseWait(t *RedisTarget, q url.Values) error {
	if w := q.Get("wait"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || n > 16 {
			return fmt.Errorf("wait=%q is not a number of replicas from 0 to 16", w)
		}
		t.WaitReplicas = n
	}
	if d := q.Get("wait_timeout"); d != "" {
		v, err := time.ParseDuration(d)
		// The WAIT's answer must come within the store's read timeout (3 s).
		if err != nil || v <= 0 || v > 2*time.Second {
			return fmt.Errorf("wait_timeout=%q is not a duration up to 2s", d)
		}
		t.WaitTimeout = v
	}
	return nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	if i := strings.Index(raw, "@"); i >= 0 {
		return "…@" + raw[i+1:]
	}
	return raw
}

// SMTPTLS is the TLS mode of the mail server connection.
type SMTPTLS string

// The SMTP TLS modes.
const (
	SMTPTLSNone     SMTPTLS = "none"
	SMTPTLSStartTLS SMTPTLS = "starttls"
	SMTPTLSImplicit SMTPTLS = "tls"
)

// SMTPTarget is a parsed RATHAUS_SMTP_URL.
type SMTPTarget struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      SMTPTLS
}

// ParseSMTPURL parses smtp://user:pass@host:port?tls=none|starttls|tls.
// The default TLS mode is starttls, and tls for the smtps scheme.
func ParseSMTPURL(raw string) (SMTPTarget, error) {
	var t SMTPTarget
	u, err := url.Parse(raw)
	if err != nil {
		return t, fmt.Errorf("%q is not a URL", redact(raw))
	}
	switch u.Scheme {
	case "smtp":
		t.TLS, t.Port = SMTPTLSStartTLS, 587
	case "smtps":
		t.TLS, t.Port = SMTPTLSImplicit, 465
	default:
		return t, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	t.Host = u.Hostname()
	if t.Host == "" {
		return t, fmt.Errorf("no host given")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return t, fmt.Errorf("port %q is not valid", p)
		}
		t.Port = n
	}
	if u.User != nil {
		t.Username = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	if m := u.Query().Get("tls"); m != "" {
		switch SMTPTLS(m) {
		case SMTPTLSNone, SMTPTLSStartTLS, SMTPTLSImplicit:
			t.TLS = SMTPTLS(m)
		default:
			return t, fmt.Errorf("tls=%q is not one of none, starttls, tls", m)
		}
	}
	return t, nil
}
