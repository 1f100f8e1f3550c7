package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
)

// Role is what a user may do.
type Role string

// The roles. Admins may do everything in every office; staff work in the
// offices they are bound to.
const (
	RoleAdmin Role = "admin"
	RoleStaff Role = "staff"
)

// Timeouts and limits of sessions and logins.
const (
	idleTimeout     = 30 * time.Minute
	absoluteTimeout = 12 * time.Hour
	loginWindow     = 15 * time.Minute
	loginLimit      = 10
	// maxHashing bounds concurrent Argon2id computations (19 MiB each), so a
	// login storm costs CPU time, not the machine's memory.
	maxHashing = 4
)

// User is a staff account.
type User struct {
	Username     string   `json:"username"`
	Role         Role     `json:"role"`
	Offices      []string `json:"offices"`
	passwordHash string
}

// CanUseOffice reports whether u may act for office.
func (u User) CanUseOffice(office string) bool {
	return u.Role == RoleAdmin || slices.Contains(u.Offices, office)
}

type session struct {
	User    string
	CSRF    string
	Created time.Time
	// Role and Offices are the user's when the session was opened; any
	// change of the user ends its sessions. Role is "" for older sessions.
	Role    Role
	Offices []string
}

// Service manages accounts and sessions.
type Service struct {
	st      *redisStore
	clock   clock.Clock
	log     *slog.Logger
	hashing chan struct{}
}

// NewService returns the account service on rdb.
func NewService(rdb redis.UniversalClient, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{st: &redisStore{rdb: rdb}, clock: clk, log: log, hashing: make(chan struct{}, maxHashing)}
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Errors of the account service.
var (
	ErrBadCredentials = apperr.New(apperr.KindUnauthorized, "invalid_credentials",
		"Benutzername oder Passwort ist falsch.", "Wrong username or password.")
	ErrUnauthenticated = apperr.New(apperr.KindUnauthorized, "unauthenticated",
		"Bitte melden Sie sich an.", "Please log in.")
	ErrForbidden = apperr.New(apperr.KindForbidden, "forbidden",
		"Dafür fehlt Ihnen die Berechtigung.", "You are not allowed to do this.")
	ErrCSRF = apperr.New(apperr.KindForbidden, "csrf_token_invalid",
		"Das CSRF-Token fehlt oder ist falsch.", "The CSRF token is missing or wrong.")
)

// SetUser creates or replaces user username with role, offices and password.
// Replacing a password ends the user's sessions.
func (s *Service) SetUser(ctx context.Context, username string, role Role, offices []string, password string) error {
	if !usernameRE.MatchString(username) {
		return apperr.Invalid("username", "invalid_username",
			"Benutzernamen bestehen aus a–z, 0–9, '.', '_' und '-' (höchstens 64 Zeichen).",
			"Usernames consist of a–z, 0–9, '.', '_' and '-' (at most 64 characters).")
	}
	if role != RoleAdmin && role != RoleStaff {
		return apperr.Invalid("role", "invalid_role", "Die Rolle ist admin oder staff.", "The role is admin or staff.")
	}
	if role == RoleStaff && len(offices) == 0 {
		return apperr.Invalid("offices", "office_required", "Mitarbeitende brauchen mindestens ein Amt.", "Staff need at least one office.")
	}
	if len(password) < 12 || len(password) > 1024 {
		return apperr.Invalid("password", "weak_password", "Das Passwort muss 12 bis 1024 Zeichen lang sein.",
			"The password must be 12 to 1024 characters long.")
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.st.putUser(ctx, User{Username: username, Role: role, Offices: offices, passwordHash: hash}, true)
}

func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashing }()
	return HashPassword(password)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: waiting to hash: %w", ctx.Err())
	}
}

// Login checks the credentials and opens a session. It returns the bearer
// token (also the cookie value) and the CSRF token.
func (s *Service) Login(ctx context.Context, username, password string) (token, csrf string, u User, err error) {
	now := s.clock.Now()
	if !usernameRE.MatchString(username) || len(password) > 1024 {
		return "", "", User{}, ErrBadCredentials
	}
	wait, err := s.st.loginAttempt(ctx, username, now, randomToken(8))
	if err != nil {
		return "", "", User{}, err
	}
	if wait > 0 {
		return "", "", User{}, apperr.RateLimited("too_many_login_attempts",
			"Zu viele fehlgeschlagene Anmeldungen für dieses Konto. Bitte warten Sie.",
			"Too many failed logins for this account. Please wait.", wait)
	}
	u, err = s.st.getUser(ctx, username)
	if err != nil && !errors.Is(err, errNoUser) {
		return "", "", User{}, err
	}
	hash := u.passwordHash
	if hash == "" {
		hash = dummyHash
	}
	if err := s.acquire(ctx); err != nil {
		return "", "", User{}, err
	}
	ok, cerr := CheckPassword(hash, password)
	<-s.hashing
	if cerr != nil || !ok || u.Username == "" {
		s.log.Info("auth: login failed", "user_known", u.Username != "")
		return "", "", User{}, ErrBadCredentials
	}
	token, csrf = randomToken(32), randomToken(32)
	if err := s.st.createSession(ctx, session{User: username, CSRF: csrf, Created: now}, u, hashToken(token)); err != nil {
		if errors.Is(err, errUserChanged) {
			// changed (or removed) by an admin while the password was checked
			return "", "", User{}, ErrBadCredentials
		}
		return "", "", User{}, err
	}
	return token, csrf, u, nil
}

// Principal is an authenticated caller.
type Principal struct {
	User      User
	CSRF      string
	tokenHash string
}

// Authenticate returns the principal of a session token.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	h := hashToken(token)
	sess, ok, err := s.st.touchSession(ctx, h, s.clock.Now())
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	if sess.Role != "" { // the session's copy: one round trip
		return Principal{User: User{Username: sess.User, Role: sess.Role, Offices: sess.Offices}, CSRF: sess.CSRF, tokenHash: h}, nil
	}
	u, err := s.st.getUser(ctx, sess.User)
	if errors.Is(err, errNoUser) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{User: u, CSRF: sess.CSRF, tokenHash: h}, nil
}

// Logout ends p's session.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	return s.st.deleteSession(ctx, p.tokenHash, p.User.Username)
}

// Users lists the usernames.
func (s *Service) Users(ctx context.Context) ([]string, error) { return s.st.listUsers(ctx) }

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
