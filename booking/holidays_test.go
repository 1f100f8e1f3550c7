package booking

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func holidayDates(state string, year int) []string {
	var out []string
	for _, h := range Holidays(state, year) {
		out = append(out, h.Date.String()+" "+h.Name.De)
	}
	return out
}

func TestHolidays(t *testing.T) {
	tests := []struct {
		state string
		year  int
		want  []string
	}{
		{"SH", 2026, []string{"2026-01-01 Neujahr", "2026-04-03 Karfreitag", "2026-04-06 Ostermontag", "2026-05-01 Tag der Arbeit",
			"2026-05-14 Christi Himmelfahrt", "2026-05-25 Pfingstmontag", "2026-10-03 Tag der Deutschen Einheit",
			"2026-10-31 Reformationstag", "2026-12-25 1. Weihnachtstag", "2026-12-26 2. Weihnachtstag"}},
		{"SH", 2016, []string{"2016-01-01 Neujahr", "2016-03-25 Karfreitag", "2016-03-28 Ostermontag", "2016-05-01 Tag der Arbeit",
			"2016-05-05 Christi Himmelfahrt", "2016-05-16 Pfingstmontag", "2016-10-03 Tag der Deutschen Einheit",
			"2016-12-25 1. Weihnachtstag", "2016-12-26 2. Weihnachtstag"}},
		{"BY", 2026, []string{"2026-01-01 Neujahr", "2026-01-06 Heilige Drei Könige", "2026-04-03 Karfreitag", "2026-04-06 Ostermontag",
			"2026-05-01 Tag der Arbeit", "2026-05-14 Christi Himmelfahrt", "2026-05-25 Pfingstmontag", "2026-06-04 Fronleichnam",
			"2026-10-03 Tag der Deutschen Einheit", "2026-11-01 Allerheiligen", "2026-12-25 1. Weihnachtstag", "2026-12-26 2. Weihnachtstag"}},
		{"BE", 2026, []string{"2026-01-01 Neujahr", "2026-03-08 Internationaler Frauentag", "2026-04-03 Karfreitag", "2026-04-06 Ostermontag",
			"2026-05-01 Tag der Arbeit", "2026-05-14 Christi Himmelfahrt", "2026-05-25 Pfingstmontag",
			"2026-10-03 Tag der Deutschen Einheit", "2026-12-25 1. Weihnachtstag", "2026-12-26 2. Weihnachtstag"}},
		{"SN", 2026, []string{"2026-01-01 Neujahr", "2026-04-03 Karfreitag", "2026-04-06 Ostermontag", "2026-05-01 Tag der Arbeit",
			"2026-05-14 Christi Himmelfahrt", "2026-05-25 Pfingstmontag", "2026-10-03 Tag der Deutschen Einheit",
			"2026-10-31 Reformationstag", "2026-11-18 Buß- und Bettag", "2026-12-25 1. Weihnachtstag", "2026-12-26 2. Weihnachtstag"}},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			if d := cmp.Diff(tt.want, holidayDates(tt.state, tt.year)); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestEasterSunday(t *testing.T) {
	for year, want := range map[int]Date{2024: {2024, 3, 31}, 2025: {2025, 4, 20}, 2026: {2026, 4, 5}, 2027: {2027, 3, 28}, 2038: {2038, 4, 25}, 2285: {2285, 3, 22}} {
		if got := EasterSunday(year); got != want {
			t.Errorf("EasterSunday(%d) = %v, want %v", year, got, want)
		}
	}
}

func TestHolidayClosuresOpenDates(t *testing.T) {
	o := testOffice(t, `    open_on_holidays: ["2026-10-31"]
`)
	cl := o.HolidayClosures(Date{2026, 10, 1}, Date{2026, 11, 30})
	if len(cl) != 1 || cl[0].From != (Date{2026, 10, 3}) {
		t.Fatalf("closures = %+v, want only 3 October", cl)
	}
}
