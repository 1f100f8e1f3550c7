package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/rathaus/rathaus/internal/apperr"
)

// Errors of account management.
var (
	ErrUserNotFound = apperr.NotFound("user_not_found", "Dieses Konto gibt es nicht.", "There is no such account.")
	ErrDeleteSelf   = apperr.Conflict("cannot_delete_self", "Das eigene Konto kann man nicht löschen.", "You cannot delete your own account.")
)

// ListUsers returns every account, sorted by name (no password hashes).
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	names, err := s.st.listUsers(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]User, 0, len(names))
	for _, n := range names {
		u, err := s.st.getUser(ctx, n)
		if errors.Is(err, errNoUser) {
			continue
		}
		if err != nil {
			return nil, err
		}
		u.passwordHash = ""
		out = append(out, u)
	}
	return out, nil
}

// DeleteUser removes an account and ends its sessions; by may not delete itself.
func (s *Service) DeleteUser(ctx context.Context, by, username string) error {
	if by == username {
		return ErrDeleteSelf
	}
	if _, err := s.st.getUser(ctx, username); errors.Is(err, errNoUser) {
		return ErrUserNotFound
	} else if err != nil {
		return err
	}
	return s.st.deleteUser(ctx, username)
}

// EnsureUser is SetUser for start-up bootstrapping: when the account already
// has this role, these offices and this password, it changes nothing, so a
// replica's restart does not end the sessions of everyone logged in as it.
func (s *Service) EnsureUser(ctx context.Context, username string, role Role, offices []string, password string) error {
	u, err := s.st.getUser(ctx, username)
	if err != nil && !errors.Is(err, errNoUser) {
		return err
	}
	if err == nil && u.Role == role && slices.Equal(u.Offices, offices) {
		if err := s.acquire(ctx); err != nil {
			return err
		}
		ok, cerr := CheckPassword(u.passwordHash, password)
		<-s.hashing
		if cerr == nil && ok {
			return nil
		}
	}
	return s.SetUser(ctx, username, role, offices, password)
}
