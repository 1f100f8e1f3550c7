package booking

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rathaus/rathaus/internal/apperr"
)

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// cleanText checks a free-text field: trimmed, 1..max runes, valid UTF-8, no
// control characters (so no line breaks) and no bidirectional overrides.
func cleanText(field, v string, minLen, max int) (string, error) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if !utf8.ValidString(v) {
		return "", apperr.Invalid(field, "invalid_"+field, "Der Text ist kein gültiges UTF-8.", "The text is not valid UTF-8.")
	}
	if n < minLen || n > max {
		return "", apperr.Invalid(field, "invalid_"+field,
			"Bitte geben Sie "+strconv.Itoa(minLen)+" bis "+strconv.Itoa(max)+" Zeichen ein.",
			"Please enter "+strconv.Itoa(minLen)+" to "+strconv.Itoa(max)+" characters.")
	}
	for _, r := range v {
		if unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0xFEFF || r == 0x200B {
			return "", apperr.Invalid(field, "invalid_"+field, "Der Text enthält Steuerzeichen oder Zeilenumbrüche.",
				"The text contains control characters or line breaks.")
		}
	}
	return v, nil
}

// cleanName validates a citizen's name.
func cleanName(v string) (string, error) { return cleanText("name", v, 2, 100) }

// cleanEmail validates a plausible e-mail address and returns it as given
// (trimmed); the comparison form is lower-case.
func cleanEmail(v string) (string, error) {
	bad := apperr.Invalid("email", "invalid_email", "Bitte geben Sie eine gültige E-Mail-Adresse an.", "Please enter a valid e-mail address.")
	v = strings.TrimSpace(v)
	if len(v) < 3 || len(v) > 254 || strings.ContainsAny(v, " \t\r\n\"<>,;()[]\\") {
		return "", bad
	}
	for _, r := range v {
		if unicode.IsControl(r) || r > 0x7e && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			return "", bad
		}
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v || addr.Name != "" {
		return "", bad
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || len(local) > 64 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") || strings.Contains(domain, "@") {
		return "", bad
	}
	return v, nil
}

// cleanPhone validates an optional phone number.
func cleanPhone(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if len(v) > 30 || strings.IndexFunc(v, func(r rune) bool { return !strings.ContainsRune("0123456789 +()/-.", r) }) >= 0 ||
		strings.IndexFunc(v, unicode.IsDigit) < 0 {
		return "", apperr.Invalid("phone", "invalid_phone", "Die Telefonnummer darf nur Ziffern, Leerzeichen und + ( ) / - . enthalten (höchstens 30 Zeichen).",
			"The phone number may contain only digits, spaces and + ( ) / - . (at most 30 characters).")
	}
	return v, nil
}

// cleanLocale validates the locale; empty takes def.
func cleanLocale(v, def string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return def, nil
	case "de":
		return "de", nil
	case "en":
		return "en", nil
	}
	return "", apperr.Invalid("locale", "invalid_locale", "Die Sprache ist de oder en.", "The locale is de or en.")
}

// emailField is the form in which an address is indexed in emailsKey: 96
// bits of its SHA-256 (a collision merely shares a limit), 16 characters.
func emailField(email string) string {
	if email == "" {
		return "" // booked by staff without an address: not indexed, no limit
	}
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// codeAlphabet leaves out letters and digits that are easily confused
// (0/O, 1/I/L, 2/Z, 5/S, 8/B).
const codeAlphabet = "ACDEFGHJKMNPQRTUVWXY34679"

// newCode returns a short human code such as K7M-4QX.
func newCode() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic("booking: crypto/rand: " + err.Error())
	}
	out := make([]byte, 0, 7)
	for i, x := range b {
		if i == 3 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[int(x)%len(codeAlphabet)])
	}
	return string(out)
}

// NormalizeCode turns what a citizen typed ("k7m 4qx") into the code form, or "".
func NormalizeCode(s string) string {
	var b []byte
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r < 128 && strings.IndexByte(codeAlphabet, byte(r)) >= 0:
			b = append(b, byte(r))
		default:
			return ""
		}
	}
	if len(b) != 6 {
		return ""
	}
	return string(b[:3]) + "-" + string(b[3:])
}

// newSecret returns 128 random bits, URL-safe.
func newSecret() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("booking: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// A manage token is "<office>.<secret>": it names the office (the API path
// has none) and the appointment id is derived from the secret, so no lookup
// table is needed and the id reveals nothing of the token.
func newToken(office string) (token, id string) {
	secret := newSecret()
	return office + "." + secret, idOf(secret)
}

func idOf(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:12])
}

// parseToken splits a manage token; ok is false when it is malformed.
func parseToken(token string) (office, id string, ok bool) {
	office, secret, found := strings.Cut(token, ".")
	if !found || !idRE.MatchString(office) || len(secret) != 22 {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return "", "", false
	}
	return office, idOf(secret), true
}

// Errors about times.
var (
	errStartMalformed = apperr.Malformed("malformed_start", "Die Startzeit ist keine Zeit nach RFC 3339 (z. B. 2026-10-01T09:30:00+02:00).",
		"The start is not an RFC 3339 time (e.g. 2026-10-01T09:30:00+02:00).")
	errDateMalformed = apperr.Malformed("malformed_date", "Das Datum hat nicht die Form JJJJ-MM-TT.", "The date is not of the form YYYY-MM-DD.")
)

// parseStart parses a start time. The offset must be the office's offset at
// that instant (or Z): a time such as 02:30+01:00 on the spring-forward day
// names a local time that does not exist and is refused.
func (o *Office) parseStart(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, errStartMalformed.With(err)
	}
	_, off := t.Zone()
	_, officeOff := t.In(o.Location).Zone()
	if off != officeOff && !(off == 0 && strings.HasSuffix(strings.ToUpper(s), "Z")) {
		return time.Time{}, apperr.Invalid("start", "invalid_start",
			"Diese Ortszeit gibt es im Amt nicht (falscher Zeitversatz, z. B. in der Zeitumstellung).",
			"This local time does not exist at the office (wrong UTC offset, e.g. during a DST change).")
	}
	return t.In(o.Location), nil
}

// parseDateParam parses a YYYY-MM-DD query parameter.
func parseDateParam(field, s string) (Date, error) {
	d, err := ParseDate(s)
	if err != nil || len(s) != 10 {
		e := errDateMalformed.With(err)
		e.Field = field
		return Date{}, e
	}
	return d, nil
}
