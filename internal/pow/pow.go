// Package pow is a proof-of-work challenge compatible with ALTCHA: the server
// hands out an HMAC-signed SHA-256 challenge, the browser searches the number
// that solves it, and the server checks the solution statelessly (signature
// and expiry in the salt) and remembers it only until it expires, so that
// each solution works once. No cookie, no third party.
package pow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/store"
)

// Algorithm is the only hash algorithm offered and accepted.
const Algorithm = "SHA-256"

// Difficulty bounds: the search space of a challenge (maxnumber) starts at
// BaseMaxNumber (about 0.05 s in a phone's browser) and doubles with every
// StepRequests further challenges an address fetched within VolumeWindow, up
// to MaxMaxNumber.
const (
	BaseMaxNumber = 50_000
	MaxMaxNumber  = 3_200_000
	StepRequests  = 5
	VolumeWindow  = 10 * time.Minute
	// TTL is how long a challenge may be solved and used.
	TTL = 10 * time.Minute
)

// Challenge is what GET /api/v1/pow/challenge returns (ALTCHA's format).
type Challenge struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	MaxNumber int64  `json:"maxnumber"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
}

// Payload is a solution as the widget sends it, base64-encoded JSON.
type Payload struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	Number    int64  `json:"number"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
	Took      int64  `json:"took,omitempty"`
}

// Service issues and verifies challenges.
type Service struct {
	key   []byte
	rdb   redis.UniversalClient
	clock clock.Clock
}

// New returns the service with HMAC key key on rdb.
func New(key []byte, rdb redis.UniversalClient, clk clock.Clock) *Service {
	return &Service{key: key, rdb: rdb, clock: clk}
}

// usedKey remembers a used solution by its signature until its expiry.
func usedKey(signature string) string { return "rathaus:{pow}:used:" + signature }

// volumeKey counts the challenges an address (as a keyed hash) fetched recently.
func volumeKey(addrHash string) string { return "rathaus:{rl:pow}:" + addrHash }

// Hash is the challenge of salt and number: hex SHA-256 of salt followed by the decimal number.
func Hash(salt string, number int64) string {
	sum := sha256.Sum256([]byte(salt + strconv.FormatInt(number, 10)))
	return hex.EncodeToString(sum[:])
}

func (s *Service) sign(challenge string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(challenge))
	return hex.EncodeToString(m.Sum(nil))
}

// MaxNumberFor returns the difficulty after n recent challenges of one address.
func MaxNumberFor(n int64) int64 {
	m := int64(BaseMaxNumber)
	for i := int64(StepRequests); i < n && m < MaxMaxNumber; i += StepRequests {
		m *= 2
	}
	return min(m, MaxMaxNumber)
}

// Issue returns a new challenge for the address with keyed hash addrHash;
// its difficulty rises with that address's recent volume.
func (s *Service) Issue(ctx context.Context, addrHash string) (Challenge, error) {
	n, err := s.volume(ctx, addrHash)
	if err != nil {
		return Challenge{}, err
	}
	maxNum := MaxNumberFor(n)
	number, err := rand.Int(rand.Reader, big.NewInt(maxNum+1))
	if err != nil {
		return Challenge{}, fmt.Errorf("pow.Issue: %w", err)
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	salt := hex.EncodeToString(b[:]) + "?expires=" + strconv.FormatInt(s.clock.Now().Add(TTL).Unix(), 10)
	ch := Hash(salt, number.Int64())
	return Challenge{Algorithm: Algorithm, Challenge: ch, MaxNumber: maxNum, Salt: salt, Signature: s.sign(ch)}, nil
}

// volumeCmd counts a challenge of an address in the current window.
//
//	KEYS[1] the address's count  ARGV[1] window ms
var volumeCmd = store.NewScript(`
local n = redis.call("INCR", KEYS[1])
redis.call("PEXPIRE", KEYS[1], ARGV[1])
return n
`)

func (s *Service) volume(ctx context.Context, addrHash string) (int64, error) {
	n, err := volumeCmd.Run(ctx, s.rdb, []string{volumeKey(addrHash)}, VolumeWindow.Milliseconds()).Int64()
	if err != nil {
		return 0, store.Wrap("pow.volume", err)
	}
	return n, nil
}

// Errors of verification; all are 403 with a code the page can act on.
var (
	ErrRequired = apperr.New(apperr.KindForbidden, "proof_of_work_required",
		"Bitte warten Sie, bis die automatische Prüfung (Proof of Work) abgeschlossen ist.",
		"Please wait until the automatic check (proof of work) has finished.")
	ErrInvalid = apperr.New(apperr.KindForbidden, "proof_of_work_invalid",
		"Die automatische Prüfung ist ungültig oder abgelaufen. Bitte laden Sie die Seite neu.",
		"The automatic check is invalid or has expired. Please reload the page.")
	ErrUsed = apperr.New(apperr.KindForbidden, "proof_of_work_used",
		"Diese automatische Prüfung wurde schon verwendet. Bitte laden Sie die Seite neu.",
		"This automatic check has been used already. Please reload the page.")
)

// Check verifies a payload without using it up and returns its expiry.
func (s *Service) Check(payload string) (Payload, time.Time, error) {
	if payload == "" {
		return Payload{}, time.Time{}, ErrRequired
	}
	if len(payload) > 2048 {
		return Payload{}, time.Time{}, ErrInvalid
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return Payload{}, time.Time{}, ErrInvalid
	}
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return Payload{}, time.Time{}, ErrInvalid
	}
	exp, ok := expiry(p.Salt)
	switch {
	case !ok, p.Algorithm != Algorithm, p.Number < 0, !s.clock.Now().Before(exp),
		!equal(Hash(p.Salt, p.Number), p.Challenge),
		!equal(s.sign(p.Challenge), p.Signature):
		return Payload{}, time.Time{}, ErrInvalid
	}
	return p, exp, nil
}

func equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// expiry reads the expires= parameter of a salt.
func expiry(salt string) (time.Time, bool) {
	_, q, ok := strings.Cut(salt, "?")
	if !ok {
		return time.Time{}, false
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(v.Get("expires"), 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

// useCmd marks a solution as used unless it is already; a repeat of the same
// request (same Idempotency-Key, not empty) is let through so that the booking's
// own idempotency can answer it.
//
//	KEYS[1] -> rathaus:{pow}:used:<signature>
//	ARGV[1] -> owner (hash of the Idempotency-Key, or a random value), ARGV[2] -> ttl ms
//
// Returns 1 if the solution may be used, 0 if it was used by another request.
var useCmd = store.NewScript(`
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return 1 end
if string.sub(ARGV[1], 1, 5) == "idem:" and redis.call("GET", KEYS[1]) == ARGV[1] then return 1 end
return 0
`)

// Use verifies payload and uses it up. idemKey is the request's
// Idempotency-Key ("" none).
func (s *Service) Use(ctx context.Context, payload, idemKey string) error {
	p, exp, err := s.Check(payload)
	if err != nil {
		return err
	}
	owner := "idem:" + s.sign("idem:"+idemKey)
	if idemKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		owner = "once:" + hex.EncodeToString(b[:])
	}
	ttl := exp.Sub(s.clock.Now()).Milliseconds() + 1000
	ok, err := useCmd.Run(ctx, s.rdb, []string{usedKey(p.Signature)}, owner, ttl).Int()
	if err != nil {
		return store.Wrap("pow.Use", err)
	}
	if ok != 1 {
		return ErrUsed
	}
	return nil
}

// Solve finds the number of a challenge by brute force, as the widget does;
// it returns the payload to send, or false if none up to maxnumber fits.
func Solve(c Challenge) (string, bool) {
	for n := int64(0); n <= c.MaxNumber; n++ {
		if Hash(c.Salt, n) == c.Challenge {
			b, _ := json.Marshal(Payload{Algorithm: c.Algorithm, Challenge: c.Challenge, Number: n, Salt: c.Salt, Signature: c.Signature})
			return base64.StdEncoding.EncodeToString(b), true
		}
	}
	return "", false
}
