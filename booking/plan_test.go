package booking

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testOffice parses a one-office YAML with the given extra lines.
func testOffice(t testing.TB, extra string) *Office {
	t.Helper()
	y := `offices:
  - id: test
    name: Testamt
    timezone: Europe/Berlin
    state: SH
    counters: ["1", "2", "3"]
    slot_minutes: 10
    lead_minutes: 60
    horizon_days: 14
    services:
      - id: short
        name: {de: Kurz, en: Short}
        duration_minutes: 10
      - id: long
        name: {de: Lang, en: Long}
        duration_minutes: 25
` + extra
	offices, err := ParseOffices("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return offices[0]
}

var berlin, _ = time.LoadLocation("Europe/Berlin")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

func starts(o *Office, d Date, us []Unit) []string {
	out := []string{}
	for _, u := range us {
		t, _ := o.UnitTime(d, u)
		out = append(out, t.Format("15:04"))
	}
	return out
}

func TestFreeStarts(t *testing.T) {
	hours := `    opening_hours:
      mon: ["08:00-09:00", "10:00-10:30"]
      tue: ["08:00-08:30"]
      sun: ["01:00-04:00"]
`
	o := testOffice(t, hours)
	mon := Date{2026, 10, 5}
	now := at("2026-10-01 12:00")
	tests := []struct {
		name    string
		o       *Office
		d       Date
		service string
		used    Used
		now     time.Time
		want    []string
	}{
		{"two ranges with a break", o, mon, "short", nil, now,
			[]string{"08:00", "08:10", "08:20", "08:30", "08:40", "08:50", "10:00", "10:10", "10:20"}},
		{"multi-unit service stays inside a range", o, mon, "long", nil, now,
			[]string{"08:00", "08:10", "08:20", "08:30", "10:00"}},
		{"full units are skipped", o, mon, "short", Used{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 3},
			now, []string{"08:10", "08:30", "08:40", "08:50", "10:00", "10:10", "10:20"}},
		{"a full unit blocks multi-unit starts over it", o, mon, "long", func() Used { u := make(Used, 64); u[50] = 3; return u }(),
			now, []string{"08:30", "10:00"}},
		{"lead time cuts the morning", o, mon, "short", nil, at("2026-10-05 07:25"),
			[]string{"08:30", "08:40", "08:50", "10:00", "10:10", "10:20"}},
		{"closed weekday", o, Date{2026, 10, 7}, "short", nil, now, []string{}},
		{"spring forward: 02:00-03:00 does not exist", o, Date{2026, 3, 29}, "short", nil, at("2026-03-01 12:00"),
			[]string{"01:00", "01:10", "01:20", "01:30", "01:40", "01:50", "03:00", "03:10", "03:20", "03:30", "03:40", "03:50"}},
		{"fall back: the day has all its wall-clock units", o, Date{2026, 10, 25}, "short", nil, now,
			[]string{"01:00", "01:10", "01:20", "01:30", "01:40", "01:50", "02:00", "02:10", "02:20", "02:30", "02:40", "02:50",
				"03:00", "03:10", "03:20", "03:30", "03:40", "03:50"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := tt.o.Service(tt.service)
			p := tt.o.Plan(tt.d, nil)
			got := starts(tt.o, tt.d, tt.o.FreeStarts(p, tt.used, tt.o.Units(svc.DurationMinutes), tt.o.Earliest(tt.now)))
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestOnlineShare(t *testing.T) {
	o := testOffice(t, `    appointment_counters: 2
    online_share: 0.5
    opening_hours:
      mon: ["08:00-09:00", {time: "14:00-15:00", counters: 3, online_share: 1}]
`)
	p := o.Plan(Date{2026, 10, 5}, nil)
	want := []Window{{From: 48, To: 54, Seats: 1}, {From: 84, To: 90, Seats: 3}}
	if d := cmp.Diff(want, p.Windows); d != "" {
		t.Fatalf("windows (-want +got):\n%s", d)
	}
}

func TestPlanWithClosures(t *testing.T) {
	o := testOffice(t, `    opening_hours:
      mon: ["08:00-12:00"]
`)
	d := Date{2026, 10, 5}
	tests := []struct {
		name string
		c    Closure
		want []Window
	}{
		{"whole day", Closure{From: d, Until: d}, nil},
		{"range covering the day", Closure{From: Date{2026, 9, 27}, Until: Date{2026, 10, 6}}, nil},
		{"other day", Closure{From: Date{2026, 10, 6}, Until: Date{2026, 10, 6}}, []Window{{48, 72, 3}}},
		{"partial morning", Closure{From: d, Until: d, StartMin: 8 * 60, EndMin: 9*60 + 30}, []Window{{57, 72, 3}}},
		{"partial middle", Closure{From: d, Until: d, StartMin: 10 * 60, EndMin: 10*60 + 5}, []Window{{48, 60, 3}, {61, 72, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := o.Plan(d, []Closure{tt.c})
			if d := cmp.Diff(tt.want, p.Windows); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestHorizonAndToday(t *testing.T) {
	o := testOffice(t, "")
	// 23:30 UTC on 31 Oct is already 1 November in Berlin.
	now := time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC)
	if got := o.Today(now); got != (Date{2026, 11, 1}) {
		t.Fatalf("Today = %v", got)
	}
	if got := o.LastDate(now); got != (Date{2026, 11, 15}) {
		t.Fatalf("LastDate = %v", got)
	}
}

func TestParseStart(t *testing.T) {
	o := testOffice(t, "")
	tests := []struct {
		in   string
		code string // "" ok
	}{
		{"2026-10-01T09:30:00+02:00", ""},
		{"2026-12-01T09:30:00+01:00", ""},
		{"2026-10-01T07:30:00Z", ""},
		{"2026-03-29T02:30:00+01:00", "invalid_start"}, // does not exist in Berlin
		{"2026-03-29T02:30:00+02:00", "invalid_start"},
		{"2026-10-01T09:30:00+01:00", "invalid_start"}, // wrong offset for October
		{"2026-10-01 09:30", "malformed_start"},
		{"", "malformed_start"},
		{"2026-13-01T09:30:00+02:00", "malformed_start"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := o.parseStart(tt.in)
			got := ""
			if err != nil {
				got = codeOf(err)
			}
			if got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := newCode()
		if NormalizeCode(c) != c || len(c) != 7 {
			t.Fatalf("code %q does not normalize to itself", c)
		}
		seen[c] = true
	}
	if len(seen) < 990 {
		t.Fatalf("only %d distinct codes in 1000", len(seen))
	}
	for in, want := range map[string]string{"k7m 4qx": "K7M-4QX", "K7M4QX": "K7M-4QX", "K0M-4QX": "", "K7M-4Q": "", "": ""} {
		if got := NormalizeCode(in); got != want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokens(t *testing.T) {
	tok, id := newToken("geesthacht")
	office, got, ok := parseToken(tok)
	if !ok || office != "geesthacht" || got != id {
		t.Fatalf("parseToken(%q) = %q %q %v", tok, office, got, ok)
	}
	for _, bad := range []string{"", "geesthacht", "geesthacht.", "geesthacht.short", "Geest.AAAAAAAAAAAAAAAAAAAAAA", "geesthacht.AAAAAAAAAAAAAAAAAAAAA*"} {
		if _, _, ok := parseToken(bad); ok {
			t.Errorf("parseToken(%q) accepted", bad)
		}
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) (string, error)
		in   string
		ok   bool
	}{
		{"name", cleanName, "Anna Muster", true},
		{"name unicode", cleanName, "Ærøskøbing Çağlar 王秀英", true},
		{"name too short", cleanName, "A", false},
		{"name newline", cleanName, "Anna\r\nBcc: x@y.de", false},
		{"name NUL", cleanName, "Anna\x00", false},
		{"name RTL override", cleanName, "Anna \u202eevil", false},
		{"name overlong", cleanName, string(make([]rune, 101)), false},
		{"email", cleanEmail, "anna.muster@example.org", true},
		{"email no dot", cleanEmail, "anna@localhost", false},
		{"email display name", cleanEmail, "Anna <anna@example.org>", false},
		{"email header injection", cleanEmail, "anna@example.org\r\nBcc: x@y.de", false},
		{"email two at", cleanEmail, "a@b@example.org", false},
		{"phone", cleanPhone, "+49 4152 130", true},
		{"phone letters", cleanPhone, "call me", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
