package auth

import (
	"fmt"
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("ein sehr geheimes Passwort")
	if err != nil {
		t.Fatal(err)
	}
	var m, tm, p int
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" {
		t.Fatalf("hash %q is not PHC argon2id v=19", h)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		t.Fatal(err)
	}
	if m < 19*1024 || tm < 2 || p != 1 {
		t.Fatalf("parameters m=%d t=%d p=%d, want m ≥ 19456 KiB, t ≥ 2, p = 1", m, tm, p)
	}
	t.Run("RoundTrip", func(t *testing.T) {
		ok, err := CheckPassword(h, "ein sehr geheimes Passwort")
		if err != nil || !ok {
			t.Fatalf("CheckPassword = %v, %v", ok, err)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		ok, err := CheckPassword(h, "ein sehr geheimes passwort")
		if err != nil || ok {
			t.Fatalf("CheckPassword = %v, %v", ok, err)
		}
	})
	t.Run("Salted", func(t *testing.T) {
		h2, err := HashPassword("ein sehr geheimes Passwort")
		if err != nil {
			t.Fatal(err)
		}
		if h2 == h {
			t.Fatal("two hashes of one password are equal: no salt")
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$a2V5",
			"$argon2id$v=18$m=19456,t=2,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=2,p=1$c2FsdA$a2V5",
			"$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"} {
			if ok, err := CheckPassword(bad, "x"); err == nil || ok {
				t.Errorf("CheckPassword(%q) = %v, %v; want an error", bad, ok, err)
			}
		}
	})
}
