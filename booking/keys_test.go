package booking

import "testing"

func TestKeys(t *testing.T) {
	d := Date{2026, 10, 1}
	tests := []struct{ got, want string }{
		{capKey("geesthacht", d), "rathaus:{geesthacht}:cap:2026-10-01"},
		{apptKey("geesthacht", "ab12"), "rathaus:{geesthacht}:appt:ab12"},
		{dayKey("geesthacht", d), "rathaus:{geesthacht}:day:2026-10-01"},
		{emailsKey("geesthacht"), "rathaus:{geesthacht}:emails"},
		{remindersKey("geesthacht"), "rathaus:{geesthacht}:reminders:upto"},
		{holdKey("geesthacht", "h1"), "rathaus:{geesthacht}:hold:h1"},
		{holdsKey("geesthacht"), "rathaus:{geesthacht}:holds"},
		{unverifiedKey("geesthacht"), "rathaus:{geesthacht}:unverified"},
		{releasesKey("geesthacht"), "rathaus:{geesthacht}:releases"},
		{idemKey("geesthacht", "k1"), "rathaus:{geesthacht}:idem:k1"},
		{closuresKey("geesthacht"), "rathaus:{geesthacht}:closures"},
		{closuresVerKey("geesthacht"), "rathaus:{geesthacht}:closures:ver"},
		{dayVerKey("geesthacht"), "rathaus:{geesthacht}:dayver"},
		{capVerKey("geesthacht"), "rathaus:{geesthacht}:capver"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
