package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

const goodPassword = "richtig-langes-passwort"

var start = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// newService returns a service on st with a simulated clock and the users
// anna (admin) and bob (staff in geesthacht).
func newService(t *testing.T, st *store.Store) (*Service, *clock.Simulated) {
	t.Helper()
	clk := clock.NewSimulated(start)
	svc := NewService(st.Client, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	if err := svc.SetUser(ctx, "anna", RoleAdmin, nil, goodPassword); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetUser(ctx, "bob", RoleStaff, []string{"geesthacht"}, goodPassword); err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

// wantCode fails unless err is an *apperr.Error of kind and code.
func wantCode(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Kind != kind || e.Code != code {
		t.Fatalf("err = %v, want kind %d code %s", err, kind, code)
	}
	return e
}

func TestLogin(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, _ := newService(t, st)
		ctx := context.Background()
		t.Run("OK", func(t *testing.T) {
			token, csrf, u, err := svc.Login(ctx, "bob", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			if token == "" || csrf == "" || token == csrf {
				t.Fatalf("token %q csrf %q", token, csrf)
			}
			if u.Username != "bob" || u.Role != RoleStaff || len(u.Offices) != 1 || u.Offices[0] != "geesthacht" {
				t.Fatalf("user = %+v", u)
			}
			p, err := svc.Authenticate(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if p.User.Username != "bob" || p.CSRF != csrf {
				t.Fatalf("principal = %+v", p)
			}
			if !p.User.CanUseOffice("geesthacht") || p.User.CanUseOffice("elsewhere") {
				t.Fatal("bob's office binding is wrong")
			}
		})
		t.Run("AdminHasEmptyOfficeList", func(t *testing.T) {
			_, _, u, err := svc.Login(ctx, "anna", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			if u.Offices == nil || !u.CanUseOffice("anywhere") {
				t.Fatalf("admin = %+v", u)
			}
		})
		t.Run("ErrWrongPassword", func(t *testing.T) {
			_, _, _, err := svc.Login(ctx, "bob", goodPassword+"x")
			wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
		})
		t.Run("ErrUnknownUser", func(t *testing.T) {
			_, _, _, err := svc.Login(ctx, "nobody", goodPassword)
			wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
		})
		t.Run("ErrMalformedUsername", func(t *testing.T) {
			_, _, _, err := svc.Login(ctx, "Bob Smith", goodPassword)
			wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
		})
		t.Run("ErrBadToken", func(t *testing.T) {
			_, err := svc.Authenticate(ctx, "not-a-session")
			wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		})
	})
}

func TestLoginThrottle(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, clk := newService(t, st)
		ctx := context.Background()
		for i := 1; i <= loginLimit; i++ {
			_, _, _, err := svc.Login(ctx, "bob", "falsches-passwort")
			wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
			clk.Advance(time.Minute)
		}
		// 10 failures in the last 10 minutes: the 11th attempt is refused even with the right password.
		_, _, _, err := svc.Login(ctx, "bob", goodPassword)
		e := wantCode(t, err, apperr.KindRateLimited, "too_many_login_attempts")
		if want := 5 * time.Minute; e.RetryAfter != want {
			t.Fatalf("RetryAfter = %v, want %v (until the first failure leaves the window)", e.RetryAfter, want)
		}
		t.Run("OtherAccountUnaffected", func(t *testing.T) {
			if _, _, _, err := svc.Login(ctx, "anna", goodPassword); err != nil {
				t.Fatalf("anna is locked out by bob's storm: %v", err)
			}
		})
		t.Run("RefusedAttemptsDoNotExtendTheLock", func(t *testing.T) {
			for range 5 {
				_, _, _, err := svc.Login(ctx, "bob", "falsches-passwort")
				wantCode(t, err, apperr.KindRateLimited, "too_many_login_attempts")
			}
		})
		t.Run("OpenAgainAfterTheWindow", func(t *testing.T) {
			clk.Advance(5 * time.Minute)
			if _, _, _, err := svc.Login(ctx, "bob", goodPassword); err != nil {
				t.Fatalf("login after the window: %v", err)
			}
		})
		t.Run("SuccessClearsTheFailures", func(t *testing.T) {
			for range loginLimit {
				_, _, _, err := svc.Login(ctx, "bob", "falsches-passwort")
				wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
			}
		})
	})
}

func TestLoginThrottleUnknownUser(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, _ := newService(t, st)
		ctx := context.Background()
		for range loginLimit {
			_, _, _, err := svc.Login(ctx, "ghost", "irgendwas-langes")
			wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
		}
		_, _, _, err := svc.Login(ctx, "ghost", "irgendwas-langes")
		wantCode(t, err, apperr.KindRateLimited, "too_many_login_attempts")
	})
}

func TestSessionTimeouts(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, clk := newService(t, st)
		ctx := context.Background()
		t.Run("IdleTimeout", func(t *testing.T) {
			token, _, _, err := svc.Login(ctx, "bob", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(idleTimeout - time.Second)
			if _, err := svc.Authenticate(ctx, token); err != nil {
				t.Fatalf("used within the idle timeout: %v", err)
			}
			clk.Advance(idleTimeout - time.Second) // counted from the last use, not from login
			if _, err := svc.Authenticate(ctx, token); err != nil {
				t.Fatalf("used again within the idle timeout: %v", err)
			}
			clk.Advance(idleTimeout)
			_, err = svc.Authenticate(ctx, token)
			wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		})
		t.Run("AbsoluteTimeout", func(t *testing.T) {
			token, _, _, err := svc.Login(ctx, "bob", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			step := idleTimeout / 2
			for elapsed := step; elapsed < absoluteTimeout; elapsed += step {
				clk.Advance(step)
				if _, err := svc.Authenticate(ctx, token); err != nil {
					t.Fatalf("after %v of steady use: %v", elapsed, err)
				}
			}
			clk.Advance(step)
			_, err = svc.Authenticate(ctx, token)
			wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		})
	})
}

func TestLogout(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, _ := newService(t, st)
		ctx := context.Background()
		first, _, _, err := svc.Login(ctx, "bob", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		second, _, _, err := svc.Login(ctx, "bob", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Authenticate(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Authenticate(ctx, first)
		wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		if _, err := svc.Authenticate(ctx, second); err != nil {
			t.Fatalf("logout ended another session too: %v", err)
		}
	})
}

func TestPasswordResetRevokesSessions(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, _ := newService(t, st)
		ctx := context.Background()
		bob, _, _, err := svc.Login(ctx, "bob", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		anna, _, _, err := svc.Login(ctx, "anna", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.SetUser(ctx, "bob", RoleStaff, []string{"geesthacht"}, "ein-neues-passwort"); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Authenticate(ctx, bob)
		wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		if _, err := svc.Authenticate(ctx, anna); err != nil {
			t.Fatalf("bob's reset ended anna's session: %v", err)
		}
		_, _, _, err = svc.Login(ctx, "bob", goodPassword)
		wantCode(t, err, apperr.KindUnauthorized, "invalid_credentials")
		if _, _, _, err := svc.Login(ctx, "bob", "ein-neues-passwort"); err != nil {
			t.Fatal(err)
		}
		users, err := svc.Users(ctx)
		if err != nil || len(users) != 2 {
			t.Fatalf("users = %v, %v", users, err)
		}
	})
}

func TestSetUserInvalid(t *testing.T) {
	st := redistest.OpenURL(t, "")
	svc := NewService(st.Client, clock.NewSimulated(start), slog.New(slog.NewTextHandler(io.Discard, nil)))
	tests := []struct {
		name     string
		username string
		role     Role
		offices  []string
		password string
		field    string
	}{
		{"ErrUsername", "Anna Schmidt", RoleAdmin, nil, goodPassword, "username"},
		{"ErrRole", "anna", Role("boss"), nil, goodPassword, "role"},
		{"ErrStaffWithoutOffice", "bob", RoleStaff, nil, goodPassword, "offices"},
		{"ErrShortPassword", "anna", RoleAdmin, nil, "kurz", "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.SetUser(context.Background(), tt.username, tt.role, tt.offices, tt.password)
			e := apperr.As(err)
			if e == nil || e.Kind != apperr.KindInvalid || e.Field != tt.field {
				t.Fatalf("err = %v, want 422 on %s", err, tt.field)
			}
		})
	}
}

func TestStoreDown(t *testing.T) {
	srv := redistest.Start(t)
	st := redistest.OpenURL(t, srv.URL())
	svc, _ := newService(t, st)
	srv.Kill()
	_, _, _, err := svc.Login(context.Background(), "bob", goodPassword)
	e := wantCode(t, err, apperr.KindUnavailable, "store_unavailable")
	if e.RetryAfter <= 0 {
		t.Fatal("no Retry-After")
	}
	if !errors.Is(err, e.Err) {
		t.Fatal("cause lost")
	}
}

// TestSessionKeepsNoStaleRole: a session carries the role and offices it was
// opened with (authenticating is one script), so a login racing an admin's
// change of the user must never leave a session with what was true before:
// either the login fails, or its session ends with the change.
func TestSessionKeepsNoStaleRole(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, _ := newService(t, st)
		ctx := context.Background()
		pw := goodPassword
		for i := range 12 {
			next := fmt.Sprintf("neues-passwort-%02d", i)
			var token string
			var loginErr error
			var wg sync.WaitGroup
			wg.Go(func() { token, _, _, loginErr = svc.Login(ctx, "bob", pw) })
			wg.Go(func() {
				if err := svc.SetUser(ctx, "bob", RoleStaff, []string{fmt.Sprintf("amt%d", i)}, next); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			if loginErr == nil {
				if p, err := svc.Authenticate(ctx, token); err == nil {
					t.Fatalf("round %d: a session opened with the old password lives on as %+v", i, p.User)
				}
			}
			pw = next
			// A fresh login sees the new offices, in one round trip.
			token, _, _, err := svc.Login(ctx, "bob", pw)
			if err != nil {
				t.Fatal(err)
			}
			p, err := svc.Authenticate(ctx, token)
			if err != nil || len(p.User.Offices) != 1 || p.User.Offices[0] != fmt.Sprintf("amt%d", i) || p.User.Role != RoleStaff {
				t.Fatalf("round %d: %+v, %v", i, p.User, err)
			}
		}
	})
}

// TestSessionTouchedOncePerMinute: a session used again within a minute is
// only read (its last use is not written); after a minute it is written, and
// the idle timeout counts from that written use — never later.
func TestSessionTouchedOncePerMinute(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, clk := newService(t, st)
		ctx := context.Background()
		token, _, _, err := svc.Login(ctx, "bob", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		last := func() string {
			t.Helper()
			v, err := st.Client.HGet(ctx, sessionKey(hashToken(token)), "last").Result()
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		login := last()
		clk.Advance(50 * time.Second)
		if _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
		if got := last(); got != login {
			t.Fatalf("a use 50 s after login wrote the session (last %s, was %s)", got, login)
		}
		clk.Advance(20 * time.Second)
		if _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatal(err)
		}
		touched := last()
		if touched == login {
			t.Fatal("a use 70 s after login did not write the session")
		}
		clk.Advance(idleTimeout - time.Millisecond)
		if _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatalf("within the idle timeout of the written use: %v", err)
		}
		clk.Advance(idleTimeout)
		_, err = svc.Authenticate(ctx, token)
		wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
	})
}

// TestSessionReadOnlyUseNeitherExtendsNorOutlives: a use that only reads the
// session (within a minute of the last written one) does not extend the idle
// timeout, and a session still ends at its absolute timeout when the last use
// was only read.
func TestSessionReadOnlyUseNeitherExtendsNorOutlives(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc, clk := newService(t, st)
		ctx := context.Background()
		t.Run("idle", func(t *testing.T) {
			token, _, _, err := svc.Login(ctx, "bob", goodPassword) // written use W
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(30 * time.Second)
			if _, err := svc.Authenticate(ctx, token); err != nil { // read only
				t.Fatal(err)
			}
			clk.Advance(idleTimeout - 30*time.Second) // W + idle timeout
			_, err = svc.Authenticate(ctx, token)
			wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		})
		t.Run("absolute", func(t *testing.T) {
			token, _, _, err := svc.Login(ctx, "bob", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			step := idleTimeout / 2
			elapsed := time.Duration(0)
			for ; elapsed+step < absoluteTimeout-30*time.Second; elapsed += step {
				clk.Advance(step)
				if _, err := svc.Authenticate(ctx, token); err != nil {
					t.Fatalf("after %v: %v", elapsed+step, err)
				}
			}
			clk.Advance(absoluteTimeout - 30*time.Second - elapsed) // a written use 30 s before the end
			if _, err := svc.Authenticate(ctx, token); err != nil {
				t.Fatal(err)
			}
			clk.Advance(40 * time.Second) // within a minute of it: only read, but past the end
			_, err = svc.Authenticate(ctx, token)
			wantCode(t, err, apperr.KindUnauthorized, "unauthenticated")
		})
	})
}
