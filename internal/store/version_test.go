package store

import "testing"

func TestMajorVersion(t *testing.T) {
	for v, want := range map[string]int{"7.0.15": 7, "6.2.14": 6, "10.1.0": 10, "": 0, "x.y": 0} {
		if got := majorVersion(v); got != want {
			t.Errorf("majorVersion(%q) = %d, want %d", v, got, want)
		}
	}
}
