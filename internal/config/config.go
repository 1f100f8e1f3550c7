// Package config reads every RATHAUS_* environment variable once into one
// struct and validates it, so that a bad setting stops the start with a message
// that names the variable.
package config

import (
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the whole runtime configuration.
type Config struct {
	// Addr is the listen address (RATHAUS_ADDR).
	Addr string
	// BaseURL is the public URL used in e-mails, iCal and links (RATHAUS_BASE_URL), without a trailing slash.
	BaseURL string
	// RedisURL selects the store (RATHAUS_REDIS_URL); empty means the embedded store.
	RedisURL string
	// OfficesFile is the YAML offices file (RATHAUS_OFFICES_FILE); empty means the demo office.
	OfficesFile string
	// SMTPURL is the mail server (RATHAUS_SMTP_URL); empty means mails go to MailDir.
	SMTPURL string
	// MailDir receives .eml files when no SMTP server is set (RATHAUS_MAIL_DIR).
	MailDir string
	// MailFrom is the sender address (RATHAUS_MAIL_FROM).
	MailFrom string
	// AdminPassword bootstraps the admin user when set (RATHAUS_ADMIN_PASSWORD).
	AdminPassword string
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed (RATHAUS_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// LogLevel is debug, info, warn or error (RATHAUS_LOG_LEVEL).
	LogLevel string
	// ShutdownTimeout bounds the graceful drain (RATHAUS_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// Limits are the rate limits (RATHAUS_RATE_*).
	Limits Limits
	// PowSecret keys proof-of-work challenges and address hashes (RATHAUS_POW_SECRET); empty: random per start.
	PowSecret string
	// ReleaseDelay is how long a cancelled slot stays taken at least (RATHAUS_RELEASE_DELAY).
	ReleaseDelay time.Duration
	// ReleaseWindow spreads the release of a cancelled slot randomly (RATHAUS_RELEASE_WINDOW).
	ReleaseWindow time.Duration
	// Role is what this process does (RATHAUS_ROLE): RoleAll, RoleWeb or RoleWorker.
	Role string
}

// The roles of a process (RATHAUS_ROLE). A town runs RoleAll everywhere, or
// RoleWeb replicas for the citizens and staff and RoleWorker processes beside
// them for the mail and the scheduled jobs, all on one Redis.
const (
	// RoleAll serves HTTP and runs the outbox workers and scheduled jobs.
	RoleAll = "all"
	// RoleWeb serves HTTP only: no mail is sent and no scheduled job runs here.
	RoleWeb = "web"
	// RoleWorker sends the mail and runs the scheduled jobs; its HTTP server
	// answers only /healthz, /readyz and /metrics.
	RoleWorker = "worker"
)

// Error is a configuration error naming the variable at fault.
type Error struct {
	Var string
	Msg string
}

// Error returns "VARIABLE: what is wrong".
func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Var describes one environment variable: its name, default and parser.
type Var struct {
	Name    string
	Default string
	Help    string
	set     func(c *Config, v string) error
}

// Vars is the table of every variable rathaus reads, in documentation order.
var Vars = []Var{
	{"RATHAUS_ADDR", ":8080", "listen address", setAddr},
	{"RATHAUS_BASE_URL", "http://localhost:8080", "public URL used in e-mails, iCal and links", setBaseURL},
	{"RATHAUS_REDIS_URL", "", "redis://, rediss://, redis+sentinel://, redis+cluster://; unset: embedded store", setRedisURL},
	{"RATHAUS_OFFICES_FILE", "", "YAML offices file; unset: the built-in demo office", func(c *Config, v string) error { c.OfficesFile = v; return nil }},
	{"RATHAUS_SMTP_URL", "", "smtp://user:pass@host:port?tls=none|starttls|tls; unset: .eml files", setSMTPURL},
	{"RATHAUS_MAIL_DIR", "./mail-out", "where unsent mails go", setMailDir},
	{"RATHAUS_MAIL_FROM", "Bürgerbüro <noreply@localhost>", "sender address", setMailFrom},
	{"RATHAUS_ADMIN_PASSWORD", "", "creates or resets the user admin with this password", setAdminPassword},
	{"RATHAUS_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed", setTrustedProxies},
	{"RATHAUS_LOG_LEVEL", "info", "debug, info, warn or error", setLogLevel},
	{"RATHAUS_SHUTDOWN_TIMEOUT", "15s", "how long a graceful shutdown may drain", setShutdownTimeout},
	{"RATHAUS_ROLE", RoleAll, "all (HTTP, mail and scheduled jobs), web (HTTP only) or worker (mail and scheduled jobs; HTTP only /healthz, /readyz, /metrics)", setRole},
}

func init() { Vars = append(Vars, hardeningVars...) }

// FromEnv builds the Config from getenv (os.Getenv in production). A variable
// that is unset or empty takes its default.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	for _, v := range Vars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = v.Default
		}
		if err := v.set(&c, val); err != nil {
			return Config{}, &Error{Var: v.Name, Msg: err.Error()}
		}
	}
	if c.Role != RoleAll && c.RedisURL == "" {
		return Config{}, &Error{Var: "RATHAUS_ROLE", Msg: fmt.Sprintf("%s needs RATHAUS_REDIS_URL: the embedded store lives in this process, where the other role cannot reach it", c.Role)}
	}
	// A worker writes the links of every mail; the default would send
	// citizens to localhost.
	if c.Role == RoleWorker && strings.TrimSpace(getenv("RATHAUS_BASE_URL")) == "" {
		return Config{}, &Error{Var: "RATHAUS_BASE_URL", Msg: "a worker writes the links in the mails: set the public URL, the same as on the web processes"}
	}
	return c, nil
}

// Default returns the configuration with every default, as on a fresh machine.
func Default() Config {
	c, err := FromEnv(func(string) string { return "" })
	if err != nil {
		panic("config: defaults do not parse: " + err.Error())
	}
	return c
}

func setAddr(c *Config, v string) error {
	host, port, err := splitHostPort(v)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	c.Addr = host + ":" + port
	return nil
}

func splitHostPort(v string) (string, string, error) {
	i := strings.LastIndex(v, ":")
	if i < 0 {
		return "", "", fmt.Errorf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", v)
	}
	return v[:i], v[i+1:], nil
}

func setBaseURL(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", v)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not have a query or fragment", v)
	}
	c.BaseURL = strings.TrimRight(v, "/")
	return nil
}

func setRedisURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	if _, err := ParseRedisURL(v); err != nil {
		return err
	}
	c.RedisURL = v
	return nil
}

func setSMTPURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	if _, err := ParseSMTPURL(v); err != nil {
		return err
	}
	c.SMTPURL = v
	return nil
}

func setMailDir(c *Config, v string) error { c.MailDir = v; return nil }

func setMailFrom(c *Config, v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("must not contain a line break")
	}
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("%q is not a mail address: %v", v, err)
	}
	c.MailFrom = v
	return nil
}

func setAdminPassword(c *Config, v string) error {
	if v != "" && len(v) < 12 {
		return fmt.Errorf("must be at least 12 characters long")
	}
	c.AdminPassword = v
	return nil
}

func setTrustedProxies(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return fmt.Errorf("%q is not an IP address or CIDR", part)
			}
			part = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR (e.g. 10.0.0.0/8)", part)
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

func setLogLevel(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error":
		c.LogLevel = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("%q is not one of debug, info, warn, error", v)
}

func setShutdownTimeout(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q is not a positive duration (e.g. 15s)", v)
	}
	c.ShutdownTimeout = d
	return nil
}

func setRole(c *Config, v string) error {
	switch v {
	case RoleAll, RoleWeb, RoleWorker:
		c.Role = v
		return nil
	}
	return fmt.Errorf("%q is not a role: all, web or worker", v)
}
