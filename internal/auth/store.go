package auth

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// redisStore keeps users, sessions and login failures in Redis.
type redisStore struct {
	rdb redis.UniversalClient
}

var errNoUser = errors.New("auth: no such user")

func (s *redisStore) getUser(ctx context.Context, username string) (User, error) {
	m, err := s.rdb.HGetAll(ctx, userKey(username)).Result()
	if err != nil {
		return User{}, store.Wrap("auth.getUser", err)
	}
	if len(m) == 0 {
		return User{}, errNoUser
	}
	u := User{Username: username, Role: Role(m["role"]), Offices: []string{}, passwordHash: m["hash"]}
	if m["offices"] != "" {
		u.Offices = strings.Split(m["offices"], ",")
	}
	return u, nil
}

// putUserCmd writes a user and, when revoking, ends every session of it in
// the same script, so that no session opened meanwhile escapes (see
// createSessionCmd, which checks the user record it copies).
//
//	KEYS[1] -> rathaus:{auth}:user:<user>   KEYS[2] -> rathaus:{auth}:users
//	KEYS[3] -> rathaus:{auth}:user-sessions:<user>
//	ARGV[1] -> user, ARGV[2] -> role, ARGV[3] -> offices, ARGV[4] -> hash,
//	ARGV[5] -> revoke (1/0), ARGV[6] -> session key prefix
//
// Returns 1.
var putUserCmd = store.NewScript(`
redis.call("HSET", KEYS[1], "role", ARGV[2], "offices", ARGV[3], "hash", ARGV[4])
redis.call("SADD", KEYS[2], ARGV[1])
if ARGV[5] == "1" then
  for _, h in ipairs(redis.call("SMEMBERS", KEYS[3])) do redis.call("DEL", ARGV[6] .. h) end
  redis.call("DEL", KEYS[3])
end
return 1
`)

// putUser writes u; when revoke is set, every session of the user ends (a
// password reset must log out whoever knew the old one, and a session keeps a
// copy of the role and offices it was opened with).
func (s *redisStore) putUser(ctx context.Context, u User, revoke bool) error {
	rev := "0"
	if revoke {
		rev = "1"
	}
	err := putUserCmd.Run(ctx, s.rdb, []string{userKey(u.Username), usersKey(), userSessionsKey(u.Username)},
		u.Username, string(u.Role), strings.Join(u.Offices, ","), u.passwordHash, rev, sessionKey("")).Err()
	return store.Wrap("auth.putUser", err)
}

func (s *redisStore) listUsers(ctx context.Context) ([]string, error) {
	names, err := s.rdb.SMembers(ctx, usersKey()).Result()
	return names, store.Wrap("auth.listUsers", err)
}

// loginAttemptCmd drops failures older than the window and, when another
// attempt is allowed, counts this one as a failure until a successful login
// clears the window. Counting before the password is checked keeps the limit
// exact under a storm of concurrent attempts.
//
//	KEYS[1] -> rathaus:{auth}:login-fail:<user>
//	ARGV[1] -> now (ms), ARGV[2] -> window (ms), ARGV[3] -> limit, ARGV[4] -> unique member
//
// Returns 0 if the attempt is allowed, else the milliseconds until the oldest
// failure leaves the window.
var loginAttemptCmd = store.NewScript(`
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
if redis.call("ZCARD", KEYS[1]) < limit then
  redis.call("ZADD", KEYS[1], now, ARGV[4])
  redis.call("PEXPIRE", KEYS[1], window)
  return 0
end
local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
`)

// loginAttempt reserves one attempt for username; a positive duration means
// none is left and says how long to wait.
func (s *redisStore) loginAttempt(ctx context.Context, username string, now time.Time, member string) (time.Duration, error) {
	ms, err := loginAttemptCmd.Run(ctx, s.rdb, []string{loginFailKey(username)},
		now.UnixMilli(), loginWindow.Milliseconds(), loginLimit, member).Int64()
	if err != nil {
		return 0, store.Wrap("auth.loginAttempt", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// createSessionCmd stores a new session with a copy of the user's role and
// offices (so that authenticating is one script) and clears the user's
// failures — only if the user record is still the one the login checked:
// a change of the user ends its sessions (putUserCmd), and a session must not
// be opened with what was true just before.
//
//	KEYS[1] -> rathaus:{auth}:session:<token hash>
//	KEYS[2] -> rathaus:{auth}:user-sessions:<user>
//	KEYS[3] -> rathaus:{auth}:login-fail:<user>
//	KEYS[4] -> rathaus:{auth}:user:<user>
//	ARGV[1] -> user, ARGV[2] -> csrf token, ARGV[3] -> now (ms),
//	ARGV[4] -> idle timeout (ms), ARGV[5] -> token hash, ARGV[6] -> absolute timeout (ms),
//	ARGV[7] -> role, ARGV[8] -> offices, ARGV[9] -> password hash the login checked
//
// Returns 1, or 0 when the user changed.
var createSessionCmd = store.NewScript(`
local u = redis.call("HMGET", KEYS[4], "role", "offices", "hash")
if u[1] ~= ARGV[7] or u[2] ~= ARGV[8] or u[3] ~= ARGV[9] then return 0 end
redis.call("HSET", KEYS[1], "user", ARGV[1], "csrf", ARGV[2], "created", ARGV[3], "last", ARGV[3],
  "role", ARGV[7], "offices", ARGV[8])
redis.call("PEXPIRE", KEYS[1], ARGV[4])
redis.call("SADD", KEYS[2], ARGV[5])
redis.call("PEXPIRE", KEYS[2], ARGV[6])
redis.call("DEL", KEYS[3])
return 1
`)

// errUserChanged says that the user record changed during a login.
var errUserChanged = errors.New("auth: the user changed during the login")

func (s *redisStore) createSession(ctx context.Context, sess session, u User, tokenHash string) error {
	n, err := createSessionCmd.Run(ctx, s.rdb,
		[]string{sessionKey(tokenHash), userSessionsKey(sess.User), loginFailKey(sess.User), userKey(sess.User)},
		sess.User, sess.CSRF, sess.Created.UnixMilli(), idleTimeout.Milliseconds(), tokenHash,
		absoluteTimeout.Milliseconds(), string(u.Role), strings.Join(u.Offices, ","), u.passwordHash).Int()
	if err == nil && n == 0 {
		return errUserChanged
	}
	return store.Wrap("auth.createSession", err)
}

// touchSessionCmd returns a live session and extends its idle timeout. Both
// timeouts are checked against the caller's now (the key's TTL only tidies up),
// so the script never reads the clock.
//
//	KEYS[1] -> rathaus:{auth}:session:<token hash>
//	ARGV[1] -> now (ms), ARGV[2] -> idle timeout (ms), ARGV[3] -> absolute timeout (ms)
//
// Returns {user, csrf, created, role, offices} or false when there is no live
// session (role is "" for a session opened before sessions kept it).
var touchSessionCmd = store.NewScript(`
local v = redis.call("HMGET", KEYS[1], "user", "csrf", "created", "last", "role", "offices")
if not v[1] then return false end
local now = tonumber(ARGV[1])
if tonumber(v[3]) + tonumber(ARGV[3]) <= now or tonumber(v[4]) + tonumber(ARGV[2]) <= now then
  redis.call("DEL", KEYS[1])
  return false
end
redis.call("HSET", KEYS[1], "last", ARGV[1])
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return {v[1], v[2], v[3], v[5] or "", v[6] or ""}
`)

// touchEvery is how stale a session's last use may be before a request
// writes it again. A session used within the last minute is read with one
// HMGET and not written: most staff requests cost no script. The idle timeout
// then counts from a use up to a minute before the last one — it can end a
// minute early, never late.
const touchEvery = time.Minute

func (s *redisStore) touchSession(ctx context.Context, tokenHash string, now time.Time) (session, bool, error) {
	v, err := s.rdb.HMGet(ctx, sessionKey(tokenHash), "user", "csrf", "created", "last", "role", "offices").Result()
	if err != nil {
		return session{}, false, store.Wrap("auth.touchSession", err)
	}
	f := make([]string, len(v))
	for i, x := range v {
		f[i], _ = x.(string)
	}
	if f[0] == "" {
		return session{}, false, nil
	}
	created, _ := strconv.ParseInt(f[2], 10, 64)
	last, _ := strconv.ParseInt(f[3], 10, 64)
	ms := now.UnixMilli()
	fresh := created+absoluteTimeout.Milliseconds() > ms && last+idleTimeout.Milliseconds() > ms && ms-last < touchEvery.Milliseconds()
	if !fresh { // stale, expired or odd: the script checks again, and writes or deletes
		f, err = touchSessionCmd.Run(ctx, s.rdb, []string{sessionKey(tokenHash)},
			ms, idleTimeout.Milliseconds(), absoluteTimeout.Milliseconds()).StringSlice()
		if errors.Is(err, redis.Nil) {
			return session{}, false, nil
		}
		if err != nil {
			return session{}, false, store.Wrap("auth.touchSession", err)
		}
		f = []string{f[0], f[1], f[2], "", f[3], f[4]}
		created, _ = strconv.ParseInt(f[2], 10, 64)
	}
	sess := session{User: f[0], CSRF: f[1], Created: time.UnixMilli(created), Role: Role(f[4]), Offices: []string{}}
	if f[5] != "" {
		sess.Offices = strings.Split(f[5], ",")
	}
	return sess, true, nil
}

// deleteSessionCmd ends one session.
//
//	KEYS[1] session  KEYS[2] the user's sessions  ARGV[1] token hash
var deleteSessionCmd = store.NewScript(`
redis.call("DEL", KEYS[1])
redis.call("SREM", KEYS[2], ARGV[1])
return 1
`)

func (s *redisStore) deleteSession(ctx context.Context, tokenHash, username string) error {
	err := deleteSessionCmd.Run(ctx, s.rdb, []string{sessionKey(tokenHash), userSessionsKey(username)}, tokenHash).Err()
	return store.Wrap("auth.deleteSession", err)
}

// deleteUserCmd removes an account with its sessions.
//
//	KEYS[1] user  KEYS[2] the user's sessions  KEYS[3] login failures
//	KEYS[4] users  KEYS[5…] its sessions  ARGV[1] username
var deleteUserCmd = store.NewScript(`
redis.call("DEL", unpack(KEYS, 1, 3))
redis.call("SREM", KEYS[4], ARGV[1])
for i = 5, #KEYS do redis.call("DEL", KEYS[i]) end
return 1
`)

// deleteUser removes the account and ends its sessions.
func (s *redisStore) deleteUser(ctx context.Context, username string) error {
	sessions, err := s.rdb.SMembers(ctx, userSessionsKey(username)).Result()
	if err != nil {
		return store.Wrap("auth.deleteUser", err)
	}
	keys := []string{userKey(username), userSessionsKey(username), loginFailKey(username), usersKey()}
	for _, h := range sessions {
		keys = append(keys, sessionKey(h))
	}
	err = deleteUserCmd.Run(ctx, s.rdb, keys, username).Err()
	return store.Wrap("auth.deleteUser", err)
}
