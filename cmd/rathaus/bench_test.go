package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBenchCommand runs a small "rathaus bench" on the embedded store: the
// scenarios run, the rush books exactly its 100 seats and every ticket is
// called once. It checks outcomes, never speed.
func TestBenchCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--quiet", "--duration", "300ms", "--rush-clients", "300",
		"--scenarios", "baseline-get,baseline-evalsha,booking,availability,mixed,rush,queue"},
		func(string) string { return "" }, nil, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"baseline-gin-get", "baseline-evalsha-book", "availability-8w", "mixed-citizens",
		"OK   booked = capacity: 100 = 100, 5xx: 0", "OK   called once each: 900 of 900 drawn, 0 twice", "% of adjacent baseline-gin-get"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}
