package auth

import (
	"context"
	"errors"
	"slices"
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

// TestDeleteUserEndsSessions: deleting an account ends its sessions, it can
// no longer log in and is no longer listed; deleting oneself or nobody fails.
func TestDeleteUserEndsSessions(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc, _ := newService(t, st)
		token, _, _, err := svc.Login(ctx, "bob", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteUser(ctx, "bob", "bob"); !errors.Is(err, ErrDeleteSelf) {
			t.Fatalf("deleting oneself: %v", err)
		}
		if err := svc.DeleteUser(ctx, "anna", "bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, token); err == nil {
			t.Fatal("the deleted account's session still works")
		}
		if _, _, _, err := svc.Login(ctx, "bob", goodPassword); err == nil {
			t.Fatal("the deleted account can still log in")
		}
		if users, err := svc.Users(ctx); err != nil || slices.Contains(users, "bob") {
			t.Fatalf("users %v, %v", users, err)
		}
		if err := svc.DeleteUser(ctx, "anna", "bob"); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("deleting it again: %v", err)
		}
	})
}
