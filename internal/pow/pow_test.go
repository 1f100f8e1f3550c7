package pow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

var t0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func TestMaxNumberFor(t *testing.T) {
	for n, want := range map[int64]int64{1: 50_000, 5: 50_000, 6: 100_000, 11: 200_000, 1000: MaxMaxNumber} {
		if got := MaxNumberFor(n); got != want {
			t.Errorf("MaxNumberFor(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestHashMatchesALTCHA checks the hash against sha256sum of the salt
// followed by the number (printf 'abc?expires=12340' | sha256sum), which is
// how altcha-lib builds a challenge.
func TestHashMatchesALTCHA(t *testing.T) {
	if got := Hash("abc?expires=1234", 0); got != "ed4457c0978051fc064e3c8ceab823324a3c9ec3dbf6d4e1e3e0418f67b5d0ed" {
		t.Fatalf("Hash = %s", got)
	}
	// The test vector of ALTCHA's troubleshooting page (altcha.org/docs/troubleshooting).
	if got := Hash("some_salt?expires=1722614680", 1234); got != "8b1fa4ee51e9e9c8b53cd0c080ca42458accc39424a13fb51e56cfe439814d5f" {
		t.Fatalf("Hash of ALTCHA's test vector = %s", got)
	}
}

func codeOf(err error) string { return apperr.CodeOf(err) }

// TestSolveAndUse solves a real challenge in Go; the solution works once,
// a forged or expired one never.
func TestSolveAndUse(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		clk := clock.NewSimulated(t0)
		s := New([]byte("test-key"), st.Client, clk)
		ch, err := s.Issue(ctx, "addr1")
		if err != nil {
			t.Fatal(err)
		}
		if ch.Algorithm != "SHA-256" || ch.MaxNumber != BaseMaxNumber || !strings.Contains(ch.Salt, "?expires=") {
			t.Fatalf("challenge %+v", ch)
		}
		payload, ok := Solve(ch)
		if !ok {
			t.Fatal("no solution")
		}
		if err := s.Use(ctx, payload, ""); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := s.Use(ctx, payload, ""); codeOf(err) != "proof_of_work_used" {
			t.Fatalf("second use: %v", err)
		}

		// A wrong number, a foreign key's signature, a changed salt: invalid.
		var p Payload
		raw, _ := base64.StdEncoding.DecodeString(payload)
		_ = json.Unmarshal(raw, &p)
		forge := func(f func(p *Payload)) string {
			q := p
			f(&q)
			b, _ := json.Marshal(q)
			return base64.StdEncoding.EncodeToString(b)
		}
		other := New([]byte("other-key"), st.Client, clk)
		ch2, _ := other.Issue(ctx, "addr1")
		foreign, _ := Solve(ch2)
		for name, bad := range map[string]string{
			"wrong number":      forge(func(p *Payload) { p.Number++ }),
			"longer expiry":     forge(func(p *Payload) { p.Salt = strings.Replace(p.Salt, "expires=", "expires=9", 1) }),
			"other algorithm":   forge(func(p *Payload) { p.Algorithm = "SHA-1" }),
			"foreign signature": foreign,
			"not base64":        "%%%",
			"not json":          base64.StdEncoding.EncodeToString([]byte("[1,2")),
			"no expiry":         forge(func(p *Payload) { p.Salt = "abc" }),
		} {
			if err := s.Use(ctx, bad, ""); codeOf(err) != "proof_of_work_invalid" {
				t.Errorf("%s: %v", name, err)
			}
		}
		if err := s.Use(ctx, "", ""); codeOf(err) != "proof_of_work_required" {
			t.Errorf("empty: %v", err)
		}

		ch3, _ := s.Issue(ctx, "addr1")
		late, _ := Solve(ch3)
		clk.Advance(TTL)
		if err := s.Use(ctx, late, ""); codeOf(err) != "proof_of_work_invalid" {
			t.Errorf("expired: %v", err)
		}
	})
}

// TestIdempotentRepeat: the same request repeated with its Idempotency-Key
// passes (the booking answers it from its record); another key does not.
func TestIdempotentRepeat(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := New([]byte("k"), st.Client, clock.NewSimulated(t0))
		ch, _ := s.Issue(ctx, "a")
		payload, _ := Solve(ch)
		if err := s.Use(ctx, payload, "key-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Use(ctx, payload, "key-1"); err != nil {
			t.Fatalf("repeat with the same key: %v", err)
		}
		for _, k := range []string{"key-2", ""} {
			if err := s.Use(ctx, payload, k); codeOf(err) != "proof_of_work_used" {
				t.Fatalf("reuse with key %q: %v", k, err)
			}
		}
	})
}

// TestDifficultyRises: an address that fetches many challenges gets harder
// ones; another address is not affected; the count lives VolumeWindow.
func TestDifficultyRises(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := New([]byte("k"), st.Client, clock.NewSimulated(t0))
		var last Challenge
		for range 11 {
			last, _ = s.Issue(ctx, "busy")
		}
		if last.MaxNumber != 4*BaseMaxNumber {
			t.Errorf("11th challenge: maxnumber %d", last.MaxNumber)
		}
		if c, _ := s.Issue(ctx, "calm"); c.MaxNumber != BaseMaxNumber {
			t.Errorf("other address: maxnumber %d", c.MaxNumber)
		}
		ttl, err := st.Client.PTTL(ctx, volumeKey("busy")).Result()
		if err != nil || ttl <= 0 || ttl > VolumeWindow {
			t.Errorf("volume TTL %v, %v", ttl, err)
		}
	})
}
