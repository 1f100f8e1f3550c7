package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a request limit: at most N requests per Per, with bursts up to N.
// Zero N means no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// String gives the rate in the form ParseRate reads.
func (r Rate) String() string {
	if r.N == 0 {
		return "off"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// ParseRate reads "N/duration" (e.g. "10/1h", "120/1m") or "off".
func ParseRate(v string) (Rate, error) {
	v = strings.TrimSpace(v)
	if v == "off" || v == "0" {
		return Rate{}, nil
	}
	ns, ds, ok := strings.Cut(v, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not N/duration (e.g. 10/1h) or off", v)
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n < 1 || n > 1_000_000 {
		return Rate{}, fmt.Errorf("%q: the count must be a number from 1 to 1000000", v)
	}
	d, err := time.ParseDuration(strings.TrimSpace(ds))
	if err != nil || d < time.Second || d > 7*24*time.Hour {
		return Rate{}, fmt.Errorf("%q: the period must be a duration from 1s to 168h", v)
	}
	return Rate{N: n, Per: d}, nil
}

// Limits are the rate limits of the public routes. Per address limits count
// by client address (X-Forwarded-For only from RATHAUS_TRUSTED_PROXIES).
type Limits struct {
	// Read limits availability and slot queries per address (RATHAUS_RATE_READ).
	Read Rate
	// Book limits bookings, holds and reschedules per address (RATHAUS_RATE_BOOK).
	Book Rate
	// Email limits bookings per e-mail address (RATHAUS_RATE_EMAIL).
	Email Rate
	// Office limits bookings per office from all addresses together (RATHAUS_RATE_OFFICE).
	Office Rate
	// Ticket limits tickets and check-ins per address (RATHAUS_RATE_TICKET); a kiosk is one address.
	Ticket Rate
	// Login limits login attempts per address (RATHAUS_RATE_LOGIN); each account has its own lock as well.
	Login Rate
	// Challenge limits proof-of-work challenges per address (RATHAUS_RATE_CHALLENGE).
	Challenge Rate
}

func rateSetter(field func(c *Config) *Rate) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		r, err := ParseRate(v)
		if err != nil {
			return err
		}
		*field(c) = r
		return nil
	}
}

func setPowSecret(c *Config, v string) error {
	if v != "" && len(v) < 32 {
		return fmt.Errorf("must be at least 32 characters long")
	}
	c.PowSecret = v
	return nil
}

func setReleaseDelay(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 24*time.Hour {
		return fmt.Errorf("%q is not a duration from 0s to 24h", v)
	}
	c.ReleaseDelay = d
	return nil
}

func setReleaseWindow(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 24*time.Hour {
		return fmt.Errorf("%q is not a duration from 0s to 24h", v)
	}
	c.ReleaseWindow = d
	return nil
}

// hardeningVars are the variables of rate limits, proof of work and the
// delayed release of cancelled slots.
var hardeningVars = []Var{
	{"RATHAUS_RATE_READ", "120/1m", "availability and slot queries per client address (N/duration or off)",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Read })},
	{"RATHAUS_RATE_BOOK", "10/1h", "bookings, holds and reschedules per client address",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Book })},
	{"RATHAUS_RATE_EMAIL", "5/24h", "bookings per e-mail address",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Email })},
	{"RATHAUS_RATE_OFFICE", "300/1h", "bookings per office from all addresses together",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Office })},
	{"RATHAUS_RATE_TICKET", "120/1h", "walk-in tickets and check-ins per client address (a kiosk is one address)",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Ticket })},
	{"RATHAUS_RATE_LOGIN", "30/15m", "login attempts per client address (each account also locks after 10 failures in 15 minutes)",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Login })},
	{"RATHAUS_RATE_CHALLENGE", "60/10m", "proof-of-work challenges per client address",
		rateSetter(func(c *Config) *Rate { return &c.Limits.Challenge })},
	{"RATHAUS_POW_SECRET", "", "HMAC key of proof-of-work challenges and address hashes (at least 32 characters); unset: random per start", setPowSecret},
	{"RATHAUS_RELEASE_DELAY", "30m", "a cancelled slot returns to the pool no sooner than this", setReleaseDelay},
	{"RATHAUS_RELEASE_WINDOW", "30m", "… and then at a random moment within this window", setReleaseWindow},
}
