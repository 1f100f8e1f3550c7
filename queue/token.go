package queue

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// A ticket token is "<office>.<YYYYMMDD>.<secret>": the office and the
// office-local day say where the ticket lives (no office in the status URL is
// needed), the secret is 128 bits from crypto/rand in base64url. Only the
// SHA-256 of the secret is stored, so a copy of the store reveals no token.
// Knowing office and day (both public) does not help to guess the secret.

const secretBytes = 16

// newToken returns a token for office and day, and the hash to store.
func newToken(office, day string) (token, secretHash string) {
	var b [secretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	return office + "." + strings.ReplaceAll(day, "-", "") + "." + secret, hashSecret(secret)
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// parseToken splits a token into office, day (YYYY-MM-DD) and the secret's hash.
func parseToken(token string) (office, day, secretHash string, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", "", "", false
	}
	rest, secret := token[:i], token[i+1:]
	j := strings.LastIndexByte(rest, '.')
	if j <= 0 {
		return "", "", "", false
	}
	office, compact := rest[:j], rest[j+1:]
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != secretBytes {
		return "", "", "", false
	}
	d, err := time.Parse("20060102", compact)
	if err != nil {
		return "", "", "", false
	}
	return office, d.Format(time.DateOnly), hashSecret(secret), true
}
