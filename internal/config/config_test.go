package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestFromEnvDefaults(t *testing.T) {
	c, err := FromEnv(env())
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: ":8080", BaseURL: "http://localhost:8080", MailDir: "./mail-out",
		MailFrom: "Bürgerbüro <noreply@localhost>", LogLevel: "info", ShutdownTimeout: 15 * time.Second, Role: RoleAll}
	want.Limits, want.ReleaseDelay, want.ReleaseWindow = defaultLimits, 30*time.Minute, 30*time.Minute
	if d := cmp.Diff(want, c); d != "" {
		t.Fatalf("defaults (-want +got):\n%s", d)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantVar string // variable named in the error; empty means no error
		check   func(t *testing.T, c Config)
	}{
		{"addr with host", []string{"RATHAUS_ADDR", "127.0.0.1:9000"}, "", func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:9000" {
				t.Errorf("Addr = %q", c.Addr)
			}
		}},
		{"addr zero port", []string{"RATHAUS_ADDR", ":0"}, "", nil},
		{"addr without port", []string{"RATHAUS_ADDR", "localhost"}, "RATHAUS_ADDR", nil},
		{"addr bad port", []string{"RATHAUS_ADDR", ":99999"}, "RATHAUS_ADDR", nil},
		{"base url trailing slash trimmed", []string{"RATHAUS_BASE_URL", "https://termine.geesthacht.de/"}, "", func(t *testing.T, c Config) {
			if c.BaseURL != "https://termine.geesthacht.de" {
				t.Errorf("BaseURL = %q", c.BaseURL)
			}
		}},
		{"base url relative", []string{"RATHAUS_BASE_URL", "/termine"}, "RATHAUS_BASE_URL", nil},
		{"base url ftp", []string{"RATHAUS_BASE_URL", "ftp://x"}, "RATHAUS_BASE_URL", nil},
		{"redis single", []string{"RATHAUS_REDIS_URL", "redis://:secret@127.0.0.1:6380/2"}, "", func(t *testing.T, c Config) {
			if c.RedisURL == "" {
				t.Error("RedisURL empty")
			}
		}},
		{"redis malformed", []string{"RATHAUS_REDIS_URL", "localhost:6379"}, "RATHAUS_REDIS_URL", nil},
		{"redis bad scheme", []string{"RATHAUS_REDIS_URL", "http://localhost:6379"}, "RATHAUS_REDIS_URL", nil},
		{"redis bad db", []string{"RATHAUS_REDIS_URL", "redis://localhost:6379/x"}, "RATHAUS_REDIS_URL", nil},
		{"sentinel without master", []string{"RATHAUS_REDIS_URL", "redis+sentinel://a:26379,b:26379"}, "RATHAUS_REDIS_URL", nil},
		{"smtp ok", []string{"RATHAUS_SMTP_URL", "smtp://u:p@mail:25?tls=none"}, "", nil},
		{"smtp bad tls", []string{"RATHAUS_SMTP_URL", "smtp://mail:25?tls=maybe"}, "RATHAUS_SMTP_URL", nil},
		{"smtp bad scheme", []string{"RATHAUS_SMTP_URL", "imap://mail"}, "RATHAUS_SMTP_URL", nil},
		{"mail from plain", []string{"RATHAUS_MAIL_FROM", "termine@geesthacht.de"}, "", nil},
		{"mail from broken", []string{"RATHAUS_MAIL_FROM", "not an address"}, "RATHAUS_MAIL_FROM", nil},
		{"mail from header injection", []string{"RATHAUS_MAIL_FROM", "a@b.de\r\nBcc: x@y.de"}, "RATHAUS_MAIL_FROM", nil},
		{"admin password short", []string{"RATHAUS_ADMIN_PASSWORD", "short"}, "RATHAUS_ADMIN_PASSWORD", nil},
		{"trusted proxies", []string{"RATHAUS_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7 ,::1"}, "", func(t *testing.T, c Config) {
			got := []string{}
			for _, p := range c.TrustedProxies {
				got = append(got, p.String())
			}
			if d := cmp.Diff([]string{"10.0.0.0/8", "192.168.1.7/32", "::1/128"}, got); d != "" {
				t.Error(d)
			}
		}},
		{"trusted proxies bad", []string{"RATHAUS_TRUSTED_PROXIES", "10.0.0.0/33"}, "RATHAUS_TRUSTED_PROXIES", nil},
		{"log level", []string{"RATHAUS_LOG_LEVEL", "DEBUG"}, "", nil},
		{"log level bad", []string{"RATHAUS_LOG_LEVEL", "loud"}, "RATHAUS_LOG_LEVEL", nil},
		{"shutdown bad", []string{"RATHAUS_SHUTDOWN_TIMEOUT", "-1s"}, "RATHAUS_SHUTDOWN_TIMEOUT", nil},
		{"role default", nil, "", func(t *testing.T, c Config) {
			if c.Role != RoleAll {
				t.Errorf("role %q", c.Role)
			}
		}},
		{"role web", []string{"RATHAUS_ROLE", "web", "RATHAUS_REDIS_URL", "redis://localhost:6379"}, "", func(t *testing.T, c Config) {
			if c.Role != RoleWeb {
				t.Errorf("role %q", c.Role)
			}
		}},
		{"role worker", []string{"RATHAUS_ROLE", "worker", "RATHAUS_REDIS_URL", "redis://localhost:6379", "RATHAUS_BASE_URL", "https://termine.example"}, "", nil},
		{"role worker without a base URL", []string{"RATHAUS_ROLE", "worker", "RATHAUS_REDIS_URL", "redis://localhost:6379"}, "RATHAUS_BASE_URL", nil},
		{"role unknown", []string{"RATHAUS_ROLE", "mail"}, "RATHAUS_ROLE", nil},
		{"role web on the embedded store", []string{"RATHAUS_ROLE", "web"}, "RATHAUS_ROLE", nil},
		{"role worker on the embedded store", []string{"RATHAUS_ROLE", "worker"}, "RATHAUS_ROLE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.env...))
			if tt.wantVar == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *config.Error", err)
			}
			if ce.Var != tt.wantVar || !strings.HasPrefix(err.Error(), tt.wantVar+": ") {
				t.Fatalf("error %q does not name %s", err, tt.wantVar)
			}
		})
	}
}

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		in      string
		want    RedisTarget
		wantErr bool
	}{
		{"redis://localhost:6379", RedisTarget{Mode: RedisSingle, Addrs: []string{"localhost:6379"}}, false},
		{"redis://localhost", RedisTarget{Mode: RedisSingle, Addrs: []string{"localhost:6379"}}, false},
		{"rediss://user:p%40ss@r.example:6380/3", RedisTarget{Mode: RedisSingle, Addrs: []string{"r.example:6380"}, Username: "user", Password: "p@ss", DB: 3, TLS: true}, false},
		{"redis+sentinel://s1:26379,s2:26380/mymaster", RedisTarget{Mode: RedisSentinel, Addrs: []string{"s1:26379", "s2:26380"}, MasterName: "mymaster"}, false},
		{"redis+sentinel://:pw@s1/mymaster?db=1", RedisTarget{Mode: RedisSentinel, Addrs: []string{"s1:26379"}, Password: "pw", MasterName: "mymaster", DB: 1}, false},
		{"redis+cluster://a:7000,b:7001,c:7002", RedisTarget{Mode: RedisCluster, Addrs: []string{"a:7000", "b:7001", "c:7002"}}, false},
		{"redis+cluster://[::1]:7000", RedisTarget{Mode: RedisCluster, Addrs: []string{"[::1]:7000"}}, false},
		{"redis://a:1,b:2", RedisTarget{}, true},
		{"redis://", RedisTarget{}, true},
		{"redis://h:0", RedisTarget{}, true},
		{"redis://h/16", RedisTarget{}, true},
		{"redis+cluster://a:7000/0", RedisTarget{}, true},
		{"memcache://h", RedisTarget{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRedisURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if strings.Contains(err.Error(), "p@ss") || strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks a password: %v", err)
				}
				return
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		in      string
		want    SMTPTarget
		wantErr bool
	}{
		{"smtp://mail.example", SMTPTarget{Host: "mail.example", Port: 587, TLS: SMTPTLSStartTLS}, false},
		{"smtps://mail.example", SMTPTarget{Host: "mail.example", Port: 465, TLS: SMTPTLSImplicit}, false},
		{"smtp://u:p@127.0.0.1:2525?tls=none", SMTPTarget{Host: "127.0.0.1", Port: 2525, Username: "u", Password: "p", TLS: SMTPTLSNone}, false},
		{"smtp://h:25?tls=tls", SMTPTarget{Host: "h", Port: 25, TLS: SMTPTLSImplicit}, false},
		{"smtp://:25", SMTPTarget{}, true},
		{"smtp://h:abc", SMTPTarget{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSMTPURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Fatalf("(-want +got):\n%s", d)
				}
			}
		})
	}
}

func TestVarsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars {
		if !strings.HasPrefix(v.Name, "RATHAUS_") || seen[v.Name] || v.Help == "" || v.set == nil {
			t.Errorf("variable %+v is misnamed, listed twice or undocumented", v.Name)
		}
		seen[v.Name] = true
	}
	if d := cmp.Diff(Default(), mustFromEnv(t, env())); d != "" {
		t.Fatalf("Default differs from an empty environment:\n%s", d)
	}
}

func mustFromEnv(t *testing.T, getenv func(string) string) Config {
	t.Helper()
	c, err := FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRedisURLErrorHidesPassword(t *testing.T) {
	for _, url := range []string{"redis://:geheim@a:1,b:2", "redis://:geheim@h:0", "geheim@h:6379", "redis+cluster://:geheim@a:1/3"} {
		_, err := FromEnv(env("RATHAUS_REDIS_URL", url))
		if err == nil || strings.Contains(err.Error(), "geheim") {
			t.Errorf("%s: err = %v, want an error without the password", url, err)
		}
	}
}
