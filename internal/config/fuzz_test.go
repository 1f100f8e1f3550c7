package config

import "testing"

// FuzzParseRate: an accepted rate prints back to itself.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10/1h", "120/1m", "off", "0", "1/1s", "1000000/168h", "5/24h0m0s", " 3 / 10m ", "1/-1h", "9/1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %v; its String %q parses to %v, %v", s, r, r.String(), back, err)
		}
	})
}
