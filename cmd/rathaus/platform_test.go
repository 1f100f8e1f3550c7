package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rathaus/rathaus/internal/apitest"
	"github.com/rathaus/rathaus/internal/redistest"
)

const adminPassword = "admin-passwort-fuer-tests"

type officeAnswer struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	State    string `json:"state"`
	Phone    string `json:"phone"`
	Services []struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		DurationMinutes int    `json:"duration_minutes"`
	} `json:"services"`
	OpeningHours map[string][]struct{ Start, End string } `json:"opening_hours"`
	Counters     []string                                 `json:"counters"`
	HorizonDays  int                                      `json:"horizon_days"`
}

func TestDemoOfficeServed(t *testing.T) {
	s := startTestServer(t)
	api := s.API
	t.Run("Healthz", func(t *testing.T) { api.Get(t, "/healthz").Want(t, http.StatusOK) })
	t.Run("Readyz", func(t *testing.T) {
		var r struct {
			Status   string `json:"status"`
			Embedded bool   `json:"embedded"`
		}
		api.Get(t, "/readyz").Want(t, http.StatusOK).Decode(t, &r)
		if r.Status != "ready" || !r.Embedded {
			t.Fatalf("readyz = %+v", r)
		}
	})
	t.Run("OfficeList", func(t *testing.T) {
		var r struct{ Offices []officeAnswer }
		api.Get(t, "/api/v1/offices").Want(t, http.StatusOK).Decode(t, &r)
		if len(r.Offices) != 1 || r.Offices[0].ID != "geesthacht" || r.Offices[0].Name != "Bürgerbüro Geesthacht" ||
			r.Offices[0].Timezone != "Europe/Berlin" {
			t.Fatalf("offices = %+v", r.Offices)
		}
	})
	t.Run("Office", func(t *testing.T) {
		var o officeAnswer
		api.Get(t, "/api/v1/offices/geesthacht").Want(t, http.StatusOK).Decode(t, &o)
		var ids []string
		for _, sv := range o.Services {
			ids = append(ids, sv.ID)
		}
		want := []string{"parkausweis", "geburtsurkunde", "eheurkunde", "fundsache", "ummeldung", "gewerbe"}
		if !slices.Equal(ids, want) {
			t.Fatalf("services = %v, want %v", ids, want)
		}
		if o.Phone != "04152 130" || o.State != "SH" || o.HorizonDays != 56 || len(o.Counters) < 3 {
			t.Fatalf("office = %+v", o)
		}
		for _, day := range []string{"mon", "tue", "wed", "thu", "fri"} {
			if len(o.OpeningHours[day]) == 0 || o.OpeningHours[day][0].Start > "08:00" || o.OpeningHours[day][0].End < "12:00" {
				t.Errorf("%s hours = %+v", day, o.OpeningHours[day])
			}
		}
		if o.Services[4].Name != "Ummeldung" {
			t.Errorf("default language: %q, want German", o.Services[4].Name)
		}
	})
	t.Run("OfficeInEnglish", func(t *testing.T) {
		var o officeAnswer
		api.Get(t, "/api/v1/offices/geesthacht", "Accept-Language", "en-GB,en;q=0.9").Want(t, http.StatusOK).Decode(t, &o)
		if o.Services[4].Name != "Change of address" {
			t.Fatalf("english name = %q", o.Services[4].Name)
		}
	})
	t.Run("ErrUnknownOffice", func(t *testing.T) {
		api.Get(t, "/api/v1/offices/atlantis").WantError(t, http.StatusNotFound, "office_not_found")
	})
	t.Run("ErrUnknownRoute", func(t *testing.T) {
		api.Unchecked().Get(t, "/api/v1/nothing-here").WantError(t, http.StatusNotFound, "not_found")
	})
	t.Run("OpenAPIDocument", func(t *testing.T) {
		res := api.Get(t, "/api/v1/openapi.json").Want(t, http.StatusOK)
		if !bytes.Contains(res.Body, []byte(`"openapi"`)) {
			t.Fatal("not an OpenAPI document")
		}
	})
	t.Run("SecurityHeaders", func(t *testing.T) {
		res := api.Get(t, "/api/v1/offices")
		csp := res.Header.Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("headers = %v", res.Header)
		}
	})
	t.Run("Metrics", func(t *testing.T) {
		api.Get(t, "/api/v1/offices/atlantis")
		res := api.Get(t, "/metrics").Want(t, http.StatusOK)
		for _, re := range []string{
			`rathaus_http_requests_total\{method="GET",route="/api/v1/offices/:office",status="200"\} [1-9]`,
			`rathaus_http_requests_total\{method="GET",route="/api/v1/offices/:office",status="404"\} [1-9]`,
			`rathaus_http_requests_total\{method="GET",route="/readyz",status="200"\} 1`,
			`rathaus_http_request_duration_seconds_bucket\{method="GET",route="/api/v1/offices",le="\+Inf"\} [1-9]`,
			`rathaus_notify_yielded_seconds_total 0`, // a quiet test server never yields
			`rathaus_queue_waiting\{office="geesthacht",service="ummeldung"\} 0`,
			`rathaus_queue_open_counters\{office="geesthacht"\} 0`,
		} {
			if !regexp.MustCompile(re).Match(res.Body) {
				t.Errorf("metrics lack %s", re)
			}
		}
	})
}

// login logs in through api and returns the token.
func loginToken(t *testing.T, s *testServer, username, password string) string {
	t.Helper()
	var r struct {
		Token string `json:"token"`
	}
	s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": username, "password": password}).
		Want(t, http.StatusOK).Decode(t, &r)
	return r.Token
}

func TestBootstrapAdmin(t *testing.T) {
	s := startTestServer(t, "RATHAUS_ADMIN_PASSWORD", adminPassword)
	token := loginToken(t, s, "admin", adminPassword)
	var me struct {
		User struct {
			Username string   `json:"username"`
			Role     string   `json:"role"`
			Offices  []string `json:"offices"`
		} `json:"user"`
	}
	s.API.WithBearer(token).Get(t, "/api/v1/auth/me").Want(t, http.StatusOK).Decode(t, &me)
	if me.User.Username != "admin" || me.User.Role != "admin" {
		t.Fatalf("me = %+v", me)
	}
	t.Run("ErrWrongPassword", func(t *testing.T) {
		s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": "admin", "password": "falsch-falsch"}).
			WantError(t, http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		s.API.Get(t, "/api/v1/auth/me").WantError(t, http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("ErrWrongContentType", func(t *testing.T) {
		s.API.Unchecked().Post(t, "/api/v1/auth/login", `{"username":"admin"}`, "Content-Type", "text/plain").
			WantError(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		body := `{"username":"admin","password":"` + strings.Repeat("x", 1<<20) + `"}`
		s.API.Unchecked().Post(t, "/api/v1/auth/login", body).WantError(t, http.StatusRequestEntityTooLarge, "body_too_large")
	})
	t.Run("Logout", func(t *testing.T) {
		other := loginToken(t, s, "admin", adminPassword)
		s.API.WithBearer(other).Post(t, "/api/v1/auth/logout", nil).Want(t, http.StatusOK)
		s.API.WithBearer(other).Get(t, "/api/v1/auth/me").WantError(t, http.StatusUnauthorized, "unauthenticated")
		s.API.WithBearer(token).Get(t, "/api/v1/auth/me").Want(t, http.StatusOK)
	})
	t.Run("TooManyFailures", func(t *testing.T) {
		for range 10 {
			s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": "admin", "password": "falsch-falsch"}).
				WantError(t, http.StatusUnauthorized, "invalid_credentials")
		}
		res := s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword})
		res.WantError(t, http.StatusTooManyRequests, "too_many_login_attempts")
		if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 || n > 15*60 {
			t.Fatalf("Retry-After = %q", res.Header.Get("Retry-After"))
		}
	})
}

// TestRedisOutage runs rathaus on a real redis-server, kills it and starts it
// again: /readyz and store-backed requests answer 503 with Retry-After while
// it is down (never hang or panic) and work again once it is back, without
// restarting rathaus.
func TestRedisOutage(t *testing.T) {
	// AOF with fsync always, so the restarted server has the admin again.
	redis := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	s := startTestServer(t, "RATHAUS_REDIS_URL", redis.URL(), "RATHAUS_ADMIN_PASSWORD", adminPassword)
	s.API.Get(t, "/readyz").Want(t, http.StatusOK)
	token := loginToken(t, s, "admin", adminPassword)

	redis.Kill()
	for _, res := range []*apitest.Response{
		s.API.Get(t, "/readyz"),
		s.API.Post(t, "/api/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword}),
		s.API.WithBearer(token).Get(t, "/api/v1/auth/me"),
	} {
		if res.Status != http.StatusServiceUnavailable {
			t.Fatalf("status = %d, want 503: %s", res.Status, res.Body)
		}
		if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Fatalf("Retry-After = %q", res.Header.Get("Retry-After"))
		}
	}
	s.API.Get(t, "/healthz").Want(t, http.StatusOK) // the process still runs

	redis.Restart(t)
	s.API.Get(t, "/readyz").Want(t, http.StatusOK)
	s.API.WithBearer(token).Get(t, "/api/v1/auth/me").Want(t, http.StatusOK)
	loginToken(t, s, "admin", adminPassword)
}

func TestRunExitCodes(t *testing.T) {
	badOffices := filepath.Join(t.TempDir(), "offices.yaml")
	if err := os.WriteFile(badOffices, []byte("offices:\n  - id: x\n    colour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      []string
		want     int
		wantText []string // in stderr
	}{
		{"ErrMalformedRedisURL", nil, []string{"RATHAUS_REDIS_URL", "localhost:6379"}, exitConfig, []string{"RATHAUS_REDIS_URL"}},
		{"ErrMalformedRedisURLUserAdd", []string{"user", "add", "--username", "x"}, []string{"RATHAUS_REDIS_URL", "redis://h:99999"}, exitConfig, []string{"RATHAUS_REDIS_URL"}},
		{"ErrBadAddr", []string{"serve"}, []string{"RATHAUS_ADDR", "nowhere"}, exitConfig, []string{"RATHAUS_ADDR"}},
		{"ErrOfficesFile", []string{"serve"}, []string{"RATHAUS_OFFICES_FILE", badOffices, "RATHAUS_ADDR", "127.0.0.1:0"}, exitConfig,
			[]string{"RATHAUS_OFFICES_FILE", badOffices + ":3", `unknown key "colour"`}},
		{"ErrUnknownCommand", []string{"frobnicate"}, nil, exitConfig, []string{`unknown command "frobnicate"`}},
		{"ErrUserWithoutName", []string{"user", "add"}, nil, exitConfig, []string{"--username is required"}},
		{"Help", []string{"help"}, nil, exitOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for i := 0; i+1 < len(tt.env); i += 2 {
				env[tt.env[i]] = tt.env[i+1]
			}
			var stdout, stderr bytes.Buffer
			got := run(tt.args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
			if got != tt.want {
				t.Fatalf("exit code = %d, want %d; stderr: %s", got, tt.want, stderr.String())
			}
			for _, w := range tt.wantText {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not contain %q", stderr.String(), w)
				}
			}
		})
	}
}

func TestUserAdd(t *testing.T) {
	redis := redistest.Start(t)
	env := map[string]string{"RATHAUS_REDIS_URL": redis.URL()}
	getenv := func(k string) string { return env[k] }
	var stdout, stderr bytes.Buffer
	args := []string{"user", "add", "--username", "erika", "--role", "staff", "--office", "geesthacht"}
	if code := run(args, getenv, strings.NewReader("erikas-geheimes-passwort\n"), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "erika") {
		t.Fatalf("stdout = %q", stdout.String())
	}
	t.Run("ErrWeakPassword", func(t *testing.T) {
		var stderr bytes.Buffer
		if code := run(args, getenv, strings.NewReader("kurz\n"), io.Discard, &stderr); code == exitOK {
			t.Fatal("a short password was accepted")
		}
	})
	t.Run("ErrUnknownOffice", func(t *testing.T) {
		var stderr bytes.Buffer
		bad := []string{"user", "add", "--username", "otto", "--role", "staff", "--office", "geesthact"}
		if code := run(bad, getenv, strings.NewReader("ottos-geheimes-passwort\n"), io.Discard, &stderr); code != exitConfig ||
			!strings.Contains(stderr.String(), "geesthact") {
			t.Fatalf("exit code %d; stderr: %s", code, stderr.String())
		}
	})

	s := startTestServer(t, "RATHAUS_REDIS_URL", redis.URL())
	token := loginToken(t, s, "erika", "erikas-geheimes-passwort")
	var me struct {
		User struct {
			Role    string   `json:"role"`
			Offices []string `json:"offices"`
		} `json:"user"`
	}
	s.API.WithBearer(token).Get(t, "/api/v1/auth/me").Want(t, http.StatusOK).Decode(t, &me)
	if me.User.Role != "staff" || !slices.Equal(me.User.Offices, []string{"geesthacht"}) {
		t.Fatalf("me = %+v", me)
	}
}

func TestGracefulShutdown(t *testing.T) {
	s := startTestServer(t)
	s.API.Get(t, "/healthz").Want(t, http.StatusOK)
	if err := s.Stop(); err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
	if _, err := http.Get(s.URL + "/healthz"); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}
