package events

import "testing"

func TestKey(t *testing.T) {
	for _, tc := range []struct{ office, want string }{
		{"geesthacht", "rathaus:{geesthacht}:events"},
		{"ratzeburg", "rathaus:{ratzeburg}:events"},
	} {
		if got := Key(tc.office); got != tc.want {
			t.Errorf("Key(%q) = %q, want %q", tc.office, got, tc.want)
		}
	}
}
