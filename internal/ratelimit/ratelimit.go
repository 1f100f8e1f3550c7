// Package ratelimit limits requests in Redis with the generic cell rate
// algorithm (GCRA): one key per scope and client, holding the theoretical
// arrival time, updated by one Lua script. A key lives no longer than the
// limit's period, and clients are stored only as keyed hashes, so no address
// outlives its window and none is stored in the clear.
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/internal/store"
)

// Key is the GCRA record of one client in one scope. The scope is the hash
// tag: a request touches one key per rule, each in its own script call, so
// the scopes may spread over a cluster.
func Key(scope, idHash string) string { return "rathaus:{rl:" + scope + "}:" + idHash }

// Limiter counts requests against rates.
type Limiter struct {
	rdb     redis.UniversalClient
	clock   clock.Clock
	secret  []byte
	limited *prometheus.CounterVec
}

// New returns a limiter on rdb. secret keys the hashes of client ids; reg
// receives the counter rathaus_rate_limited_total (nil: not registered).
func New(rdb redis.UniversalClient, clk clock.Clock, secret []byte, reg prometheus.Registerer) *Limiter {
	l := &Limiter{rdb: rdb, clock: clk, secret: secret, limited: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rathaus_rate_limited_total", Help: "Requests refused by a rate limit, by scope.",
	}, []string{"scope"})}
	if reg != nil {
		reg.MustRegister(l.limited)
	}
	return l
}

// Hash returns the keyed hash under which a client id (an address, an
// e-mail address) is stored.
func (l *Limiter) Hash(id string) string {
	m := hmac.New(sha256.New, l.secret)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// gcraCmd counts one request if the rate allows it.
//
//	KEYS[1] -> rathaus:{rl:<scope>}:<id hash> (the theoretical arrival time, ms)
//	ARGV[1] -> now (ms), ARGV[2] -> emission interval (ms), ARGV[3] -> burst tolerance (ms)
//
// Returns 0 if the request is allowed (and counted), else the milliseconds
// until it would be. The key expires when the client's credit is full again,
// which is at most the tolerance (the limit's period) after now.
var gcraCmd = store.NewScript(`
local now, em, tol = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
if tat < now then tat = now end
local new = tat + em
local allow_at = new - tol
if allow_at > now then return allow_at - now end
redis.call("SET", KEYS[1], new, "PX", new - now)
return 0
`)

// Allow counts one request of client id in scope against r. It returns 0
// when the request is allowed, else how long to wait; a zero rate allows all.
func (l *Limiter) Allow(ctx context.Context, scope, id string, r config.Rate) (time.Duration, error) {
	if r.N <= 0 {
		return 0, nil
	}
	em := (r.Per.Milliseconds() + int64(r.N) - 1) / int64(r.N)
	wait, err := gcraCmd.Run(ctx, l.rdb, []string{Key(scope, l.Hash(id))}, l.clock.Now().UnixMilli(), em, em*int64(r.N)).Int64()
	if err != nil {
		return 0, store.Wrap("ratelimit.Allow", err)
	}
	if wait > 0 {
		l.limited.WithLabelValues(scope).Inc()
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// Limited is the error of a refused request; RetryAfter becomes the header.
func Limited(wait time.Duration) error {
	if wait < time.Second {
		wait = time.Second
	}
	return apperr.RateLimited("rate_limited", "Zu viele Anfragen. Bitte warten Sie einen Moment.",
		"Too many requests. Please wait a moment.", wait)
}
