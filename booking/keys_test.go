package booking

import "testing"

func TestKeys(t *testing.T) {
	d := Date{2026, 10, 1}
	tests := []struct{ got, want string }{
		{capKey("geesthacht", d), "rathaus:{geesthacht}:cap:2026-10-01"},
		{apptKey("geesthacht", "ab12"), "rathaus:{geesthacht}:appt:ab12"},
		{codesKey("geesthacht"), "rathaus:{geesthacht}:codes"},
		{dayKey("geesthacht", d), "rathaus:{geesthacht}:day:2026-10-01"},
		{apptsKey("geesthacht"), "rathaus:{geesthacht}:appts"},
		{emailKey("geesthacht", "e3b0"), "rathaus:{geesthacht}:email:e3b0"},
		{holdKey("geesthacht", "h1"), "rathaus:{geesthacht}:hold:h1"},
		{holdsKey("geesthacht"), "rathaus:{geesthacht}:holds"},
		{unverifiedKey("geesthacht"), "rathaus:{geesthacht}:unverified"},
		{releasesKey("geesthacht"), "rathaus:{geesthacht}:releases"},
		{idemKey("geesthacht", "k1"), "rathaus:{geesthacht}:idem:k1"},
		{closuresKey("geesthacht"), "rathaus:{geesthacht}:closures"},
		{closuresVerKey("geesthacht"), "rathaus:{geesthacht}:closures:ver"},
		{dayVerKey("geesthacht"), "rathaus:{geesthacht}:dayver"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
