package booking

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rathaus/rathaus/examples"
	"github.com/rathaus/rathaus/internal/apperr"
)

// FuzzParseDate: a parsed date prints back to a string that parses to it.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-10-01", "2026-02-29", "2024-02-29", "0000-01-01", "9999-12-31", "2026-13-01", "2026-1-1", "+2026-10-01", "２０２６-10-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		back, err := ParseDate(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %v, whose String %q parses to %v, %v", s, d, d.String(), back, err)
		}
	})
}

// FuzzParseStart: a start either parses to a time in the office's zone whose
// offset is the office's, or fails with a 400/422 apperr.
func FuzzParseStart(f *testing.F) {
	for _, s := range []string{"2026-10-01T09:30:00+02:00", "2026-03-29T02:30:00+01:00", "2026-10-25T02:30:00+01:00", "2026-10-25T02:30:00+02:00",
		"2026-10-01T07:30:00Z", "2026-10-01T09:30:00+99:99", "9999-12-31T23:59:59+14:00", "0000-01-01T00:00:00Z", " 2026-10-01T09:30:00+02:00 ", ""} {
		f.Add(s)
	}
	o := DemoOffices()[0]
	f.Fuzz(func(t *testing.T, s string) {
		got, err := o.parseStart(s)
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.KindMalformed && k != apperr.KindInvalid {
				t.Fatalf("parseStart(%q): %v (kind %v)", s, err, k)
			}
			return
		}
		if got.Location() != o.Location {
			t.Fatalf("parseStart(%q) = %v, not in the office's zone", s, got)
		}
		in, _ := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if !in.Equal(got) {
			t.Fatalf("parseStart(%q) = %v, a different instant from %v", s, got, in)
		}
	})
}

// FuzzNormalizeCode: normalising is idempotent and yields "" or XXX-XXX
// of the code alphabet.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"k7m 4qx", "K7M-4QX", "k7m4qx", "ABC-DEF-", "ß", "k7m\x004qx", "", "-------", "\u202ek7m4qx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := NormalizeCode(s)
		if c == "" {
			return
		}
		if NormalizeCode(c) != c || len(c) != 7 || c[3] != '-' {
			t.Fatalf("NormalizeCode(%q) = %q, not a fixed point of the form XXX-XXX", s, c)
		}
		for i, r := range strings.ReplaceAll(c, "-", "") {
			if !strings.ContainsRune(codeAlphabet, r) {
				t.Fatalf("NormalizeCode(%q) = %q: character %d %q outside the alphabet", s, c, i, r)
			}
		}
	})
}

// FuzzParseToken: a token that parses names a valid office id and a 24-hex id
// derived from its secret; the same secret gives the same id.
func FuzzParseToken(f *testing.F) {
	tok, _ := newToken("geesthacht")
	for _, s := range []string{tok, "geesthacht.", ".AAAAAAAAAAAAAAAAAAAAAA", "geesthacht.AAAAAAAAAAAAAAAAAAAAA=", "a.b.c", "x.%00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		office, id, ok := parseToken(s)
		if !ok {
			if office != "" || id != "" {
				t.Fatalf("parseToken(%q) failed but returned %q, %q", s, office, id)
			}
			return
		}
		if !idRE.MatchString(office) || len(id) != 24 || !utf8.ValidString(s) {
			t.Fatalf("parseToken(%q) = %q, %q", s, office, id)
		}
		if o2, id2, ok2 := parseToken(s); !ok2 || o2 != office || id2 != id {
			t.Fatal("parseToken is not deterministic")
		}
	})
}

// FuzzParseOffices: any file parses into valid offices or fails with an
// error; it never panics.
func FuzzParseOffices(f *testing.F) {
	f.Add(demoYAML())
	f.Add("offices: []\n")
	f.Add("offices:\n  - id: x\n    name: X\n    opening_hours: {mon: [\"24:00-08:00\"]}\n")
	f.Add("offices:\n  - &a {id: x}\n  - *a\n")
	f.Add("offices: [{id: x, name: X, timezone: Mars/Olympus}]\n")
	f.Add(":\n\t- [")
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > 64<<10 {
			return
		}
		offices, err := ParseOffices("fuzz.yaml", []byte(data))
		if err != nil {
			return
		}
		for _, o := range offices {
			if o.ID == "" || o.Location == nil || o.SlotMinutes <= 0 || len(o.Services) == 0 {
				t.Fatalf("ParseOffices accepted an invalid office: %+v", o)
			}
		}
	})
}

func demoYAML() string { return string(examples.OfficesYAML) }
