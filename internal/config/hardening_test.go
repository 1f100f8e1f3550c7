package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		err  bool
	}{
		{"10/1h", Rate{10, time.Hour}, false},
		{" 120 / 1m ", Rate{120, time.Minute}, false},
		{"off", Rate{}, false},
		{"0", Rate{}, false},
		{"10", Rate{}, true},
		{"x/1h", Rate{}, true},
		{"-1/1h", Rate{}, true},
		{"10/1ms", Rate{}, true},
		{"10/200h", Rate{}, true},
		{"2000000/1h", Rate{}, true},
		{"10/", Rate{}, true},
	} {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// defaultLimits are the documented defaults of the RATHAUS_RATE_* variables.
var defaultLimits = Limits{Read: Rate{120, time.Minute}, Book: Rate{10, time.Hour}, Email: Rate{5, 24 * time.Hour},
	Office: Rate{300, time.Hour}, Ticket: Rate{120, time.Hour}, Login: Rate{30, 15 * time.Minute},
	Challenge: Rate{60, 10 * time.Minute}}

func TestHardeningDefaults(t *testing.T) {
	c := Default()
	if c.Limits != defaultLimits {
		t.Errorf("Limits = %+v, want %+v", c.Limits, defaultLimits)
	}
	if c.PowSecret != "" || c.ReleaseDelay != 30*time.Minute || c.ReleaseWindow != 30*time.Minute {
		t.Errorf("PowSecret %q, ReleaseDelay %v, ReleaseWindow %v", c.PowSecret, c.ReleaseDelay, c.ReleaseWindow)
	}
}

func TestHardeningVars(t *testing.T) {
	c, err := FromEnv(env("RATHAUS_RATE_BOOK", "3/10m", "RATHAUS_RATE_READ", "off",
		"RATHAUS_POW_SECRET", strings.Repeat("k", 32), "RATHAUS_RELEASE_DELAY", "0s", "RATHAUS_RELEASE_WINDOW", "2h"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.Book != (Rate{3, 10 * time.Minute}) || c.Limits.Read != (Rate{}) || c.PowSecret != strings.Repeat("k", 32) ||
		c.ReleaseDelay != 0 || c.ReleaseWindow != 2*time.Hour {
		t.Errorf("config = %+v", c)
	}
	for name, val := range map[string]string{"RATHAUS_RATE_TICKET": "many", "RATHAUS_POW_SECRET": "short",
		"RATHAUS_RELEASE_DELAY": "-1m", "RATHAUS_RELEASE_WINDOW": "soon", "RATHAUS_RATE_LOGIN": "5/1d"} {
		_, err := FromEnv(env(name, val))
		if err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s=%q: err = %v, want an error naming the variable", name, val, err)
		}
	}
}
