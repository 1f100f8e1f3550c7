package queue

import (
	"strings"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	tok, hash := newToken("geesthacht", "2026-10-01")
	if !strings.HasPrefix(tok, "geesthacht.20261001.") || len(tok) != len("geesthacht.20261001.")+22 {
		t.Fatalf("token %q has the wrong shape", tok)
	}
	office, day, h, ok := parseToken(tok)
	if !ok || office != "geesthacht" || day != "2026-10-01" || h != hash {
		t.Fatalf("parseToken = %q %q %q %v", office, day, h, ok)
	}
	other, _ := newToken("geesthacht", "2026-10-01")
	if other == tok {
		t.Fatal("two tokens are equal")
	}
}

func TestParseTokenRejects(t *testing.T) {
	for _, bad := range []string{"", "abc", "geesthacht.20261001", "geesthacht.2026-10-01.AAAAAAAAAAAAAAAAAAAAAA",
		"geesthacht.20261001.short", ".20261001.AAAAAAAAAAAAAAAAAAAAAA", "geesthacht.20261301.AAAAAAAAAAAAAAAAAAAAAA"} {
		if _, _, _, ok := parseToken(bad); ok {
			t.Errorf("parseToken(%q) accepted", bad)
		}
	}
}
