package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// lang is the template language for a locale: "en" or else German.
func lang(locale string) string {
	if strings.HasPrefix(strings.ToLower(locale), "en") {
		return "en"
	}
	return "de"
}

// pick returns t in language l, falling back to the other language.
func pick(t Text, l string) string {
	if l == "en" && t.En != "" {
		return t.En
	}
	if t.De != "" {
		return t.De
	}
	return t.En
}

func pickStr(l, de, en string) string {
	if l == "en" {
		return en
	}
	return de
}

func docsFor(a *Appointment, l string) []string {
	if l == "en" && len(a.Documents.En) > 0 {
		return a.Documents.En
	}
	if len(a.Documents.De) > 0 {
		return a.Documents.De
	}
	return a.Documents.En
}

// oneLine removes every control character (CR, LF, TAB, NEL, line and
// paragraph separators …) and collapses white space, so that s can go into
// a header or a content line without starting a new one.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

var (
	weekdaysDe = [...]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
	monthsDe   = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
		"Oktober", "November", "Dezember"}
)

// formatDate writes a local date the way a letter would: "Montag, 30. März
// 2026" or "Monday, 30 March 2026".
func formatDate(t time.Time, l string) string {
	if l == "en" {
		return t.Format("Monday, 2 January 2006")
	}
	return fmt.Sprintf("%s, %d. %s %d", weekdaysDe[t.Weekday()], t.Day(), monthsDe[t.Month()-1], t.Year())
}

// formatWhen writes a local date and time: "Montag, 30. März 2026, 09:00 Uhr".
func formatWhen(t time.Time, l string) string {
	if l == "en" {
		return formatDate(t, l) + ", " + t.Format("15:04")
	}
	return formatDate(t, l) + ", " + t.Format("15:04") + " Uhr"
}

// formatDay writes a YYYY-MM-DD date; an unparsable one is returned as is.
func formatDay(day, l string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return formatDate(t, l)
}
