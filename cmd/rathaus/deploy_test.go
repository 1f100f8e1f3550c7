package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/rathaus/rathaus/internal/config"
)

// repoRoot is where docker-compose.yml and the Dockerfile live.
const repoRoot = "../.."

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	return loadComposeFile(t, "docker-compose.yml", "rathaus", types.Mapping{})
}

// loadComposeFile parses the compose file at path (relative to the
// repository) with env as the shell's environment.
func loadComposeFile(t *testing.T, path, name string, env types.Mapping) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(abs, path)
	details := types.ConfigDetails{WorkingDir: filepath.Dir(file),
		ConfigFiles: []types.ConfigFile{{Filename: file}}, Environment: env}
	p, err := loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName(name, true)
	})
	if err != nil {
		t.Fatalf("%s does not load: %v", path, err)
	}
	return p
}

// TestProductionCompose: the production example runs two web replicas and,
// after "rathaus check" passed, a worker — all with the same settings but the
// role, the offices file mounted where RATHAUS_OFFICES_FILE points, a trusted
// proxy, images built here and not pulled — on a Redis with AOF (fsync per
// write) that never evicts; every process's environment passes rathaus's own
// configuration check, and a missing setting stops compose with a message.
func TestProductionCompose(t *testing.T) {
	env := types.Mapping{"RATHAUS_BASE_URL": "https://termine.example.de",
		"RATHAUS_TRUSTED_PROXIES": "10.0.0.0/24",
		"RATHAUS_SMTP_URL":        "smtp://u:p@mail.example.de:587?tls=starttls",
		"RATHAUS_MAIL_FROM":       "Bürgerbüro <termine@example.de>",
		"RATHAUS_POW_SECRET":      strings.Repeat("s", 40),
		"RATHAUS_ADMIN_PASSWORD":  "ein-langes-passwort"}
	p := loadComposeFile(t, "examples/compose-production.yml", "rathaus-production", env)
	envOf := func(name string) map[string]string {
		t.Helper()
		svc, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range svc.Environment {
			if v != nil {
				out[k] = *v
			}
		}
		if _, err := config.FromEnv(func(k string) string { return out[k] }); err != nil {
			t.Errorf("%s: its environment does not pass rathaus's check: %v", name, err)
		}
		return out
	}
	roles := map[string]string{"check": config.RoleWorker, "web": config.RoleWeb, "worker": config.RoleWorker}
	shared := envOf("web")
	delete(shared, "RATHAUS_ROLE")
	for _, k := range []string{"RATHAUS_OFFICES_FILE", "RATHAUS_TRUSTED_PROXIES", "RATHAUS_POW_SECRET", "RATHAUS_SMTP_URL"} {
		if shared[k] == "" {
			t.Errorf("%s is not set", k)
		}
	}
	for name, role := range roles {
		e := envOf(name)
		if e["RATHAUS_ROLE"] != role {
			t.Errorf("%s: role %q, want %q", name, e["RATHAUS_ROLE"], role)
		}
		delete(e, "RATHAUS_ROLE")
		if !maps.Equal(e, shared) {
			t.Errorf("%s has other settings than web: %v", name, e)
		}
		svc, _ := p.GetService(name)
		mounted := slices.ContainsFunc(svc.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Target == shared["RATHAUS_OFFICES_FILE"] && v.ReadOnly && strings.HasSuffix(v.Source, "examples/offices.yaml")
		})
		if !mounted {
			t.Errorf("%s does not mount examples/offices.yaml read-only at %s: %+v", name, shared["RATHAUS_OFFICES_FILE"], svc.Volumes)
		}
		if (svc.Build != nil) == (svc.PullPolicy == types.PullPolicyNever) || (svc.Build != nil && svc.PullPolicy != types.PullPolicyBuild) {
			t.Errorf("%s: build %v, pull_policy %q: one service builds the image, the others never pull it", name, svc.Build != nil, svc.PullPolicy)
		}
	}
	if web, _ := p.GetService("web"); web.Build == nil || web.Build.Context != filepath.Dir(p.WorkingDir) {
		t.Errorf("web does not build the repository's Dockerfile: %+v", web.Build)
	}
	if w, _ := p.GetService("worker"); w.DependsOn["check"].Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("the worker does not wait for a passed check: %+v", w.DependsOn)
	}
	for _, name := range []string{"web", "check"} {
		if svc, _ := p.GetService(name); svc.DependsOn["redis"].Condition != types.ServiceConditionHealthy {
			t.Errorf("%s does not wait for a healthy Redis: %+v", name, svc.DependsOn)
		}
	}
	if web, _ := p.GetService("web"); web.Deploy == nil || web.Deploy.Replicas == nil || *web.Deploy.Replicas < 2 {
		t.Error("fewer than two web replicas")
	}
	if check, _ := p.GetService("check"); strings.Join(check.Command, " ") != "check" {
		t.Errorf("the check service runs %v", check.Command)
	}
	redis, _ := p.GetService("redis")
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--appendonly yes", "--appendfsync always", "--maxmemory-policy noeviction"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	// Without a setting, compose refuses the file and names the variable.
	abs, _ := filepath.Abs(filepath.Join(repoRoot, "examples/compose-production.yml"))
	missing := maps.Clone(env)
	delete(missing, "RATHAUS_TRUSTED_PROXIES")
	_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{WorkingDir: filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}}, Environment: missing}, func(o *loader.Options) { o.SetProjectName("x", true) })
	if err == nil || !strings.Contains(err.Error(), "RATHAUS_TRUSTED_PROXIES") {
		t.Errorf("a missing RATHAUS_TRUSTED_PROXIES: %v", err)
	}
}

func TestDockerCompose(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"rathaus", "redis", "mailpit"} {
		if _, err := p.GetService(name); err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
	}
	t.Run("Redis", func(t *testing.T) {
		redis, _ := p.GetService("redis")
		if !regexp.MustCompile(`^redis:7(\.|-|$)`).MatchString(redis.Image) {
			t.Errorf("image = %q, want Redis 7", redis.Image)
		}
		cmd := strings.Join(redis.Command, " ")
		for _, want := range []string{"--appendonly yes", "--appendfsync everysec"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("command %q lacks %q", cmd, want)
			}
		}
		if redis.HealthCheck == nil || len(redis.HealthCheck.Test) == 0 || redis.HealthCheck.Disable {
			t.Fatal("redis has no health check")
		}
		if !strings.Contains(strings.Join(redis.HealthCheck.Test, " "), "redis-cli ping") {
			t.Errorf("health check = %v", redis.HealthCheck.Test)
		}
		if len(redis.Volumes) == 0 || redis.Volumes[0].Target != "/data" {
			t.Errorf("the AOF is not on a volume: %+v", redis.Volumes)
		}
	})
	t.Run("Mailpit", func(t *testing.T) {
		m, _ := p.GetService("mailpit")
		if !strings.HasPrefix(m.Image, "axllent/mailpit") {
			t.Errorf("image = %q", m.Image)
		}
	})
	t.Run("App", func(t *testing.T) {
		app, _ := p.GetService("rathaus")
		if app.Build == nil {
			t.Error("rathaus is not built from the Dockerfile")
		}
		dep, ok := app.DependsOn["redis"]
		if !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("rathaus does not wait for a healthy redis: %+v", app.DependsOn)
		}
		env := map[string]string{}
		for k, v := range app.Environment {
			if v != nil {
				env[k] = *v
			}
			if !slices.ContainsFunc(config.Vars, func(cv config.Var) bool { return cv.Name == k }) {
				t.Errorf("%s is not a variable rathaus reads", k)
			}
		}
		if env["RATHAUS_REDIS_URL"] != "redis://redis:6379/0" {
			t.Errorf("RATHAUS_REDIS_URL = %q", env["RATHAUS_REDIS_URL"])
		}
		smtp, err := config.ParseSMTPURL(env["RATHAUS_SMTP_URL"])
		if err != nil || smtp.Host != "mailpit" || smtp.Port != 1025 || smtp.TLS != config.SMTPTLSNone {
			t.Errorf("RATHAUS_SMTP_URL = %q (%+v, %v), want mailpit:1025 with tls=none", env["RATHAUS_SMTP_URL"], smtp, err)
		}
		if _, err := config.FromEnv(func(k string) string { return env[k] }); err != nil {
			t.Errorf("the app's environment does not pass rathaus's own check: %v", err)
		}
	})
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, users []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			users = append(users, f[1])
		}
	}
	if len(froms) < 2 {
		t.Errorf("FROM lines %v: want a multi-stage build", froms)
	}
	if !strings.Contains(string(data), "CGO_ENABLED=0") || !strings.Contains(string(data), "./cmd/rathaus") {
		t.Error("the binary is not built static (CGO_ENABLED=0) from ./cmd/rathaus")
	}
	if main, err := os.ReadFile("main.go"); err != nil || !strings.Contains(string(main), `_ "time/tzdata"`) {
		t.Error("cmd/rathaus does not embed time/tzdata: the distroless image has no zoneinfo")
	}
	if len(users) == 0 {
		t.Fatal("no USER: the container runs as root")
	}
	if u := users[len(users)-1]; strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0") {
		t.Errorf("USER %s is root", u)
	}
}

// TestREADMEConfigTable keeps the README's configuration table true: every
// variable rathaus reads is listed with its default.
func TestREADMEConfigTable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 3 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`RATHAUS_") {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
		}
	}
	for _, v := range config.Vars {
		def, ok := rows[v.Name]
		if !ok {
			t.Errorf("README's configuration table lacks %s", v.Name)
			continue
		}
		want := "`" + v.Default + "`"
		if v.Default == "" {
			want = "unset"
			if v.Name == "RATHAUS_TRUSTED_PROXIES" {
				want = "empty"
			}
		}
		if def != want {
			t.Errorf("README gives %s the default %s, rathaus uses %s", v.Name, def, want)
		}
	}
	if len(rows) != len(config.Vars) {
		t.Errorf("README lists %d variables, rathaus reads %d", len(rows), len(config.Vars))
	}
}
