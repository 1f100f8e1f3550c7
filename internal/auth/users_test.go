package auth

import (
	"context"
	"testing"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestEnsureUserKeepsSessions: bootstrapping the same admin again (a replica
// restarting with RATHAUS_ADMIN_PASSWORD) keeps its sessions; a new password
// replaces it and ends them.
func TestEnsureUserKeepsSessions(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		if err := svc.EnsureUser(ctx, "admin", RoleAdmin, []string{}, "first-password-1"); err != nil {
			t.Fatal(err)
		}
		token, _, _, err := svc.Login(ctx, "admin", "first-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.EnsureUser(ctx, "admin", RoleAdmin, []string{}, "first-password-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatalf("session ended by an unchanged bootstrap: %v", err)
		}
		if err := svc.EnsureUser(ctx, "admin", RoleAdmin, []string{}, "second-password-2"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, token); err == nil {
			t.Fatal("session survived a password change")
		}
		if _, _, _, err := svc.Login(ctx, "admin", "second-password-2"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
	})
}
