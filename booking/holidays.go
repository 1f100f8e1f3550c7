package booking

import (
	"slices"
	"strconv"
	"sync"
	"time"
)

// holiday is a public holiday rule: a fixed date or an offset from Easter
// Sunday, in the listed states (nil: all) from a first year on.
type holiday struct {
	de, en     string
	month, day int  // fixed date, or
	easter     *int // days after Easter Sunday
	weekdayRef bool // Buß- und Bettag: the Wednesday before 23 November
	states     []string
	from, to   int // years, inclusive; 0 means open
}

func easter(n int) *int { return &n }

// holidays are the public holidays of the German Länder that close a whole
// state (regional ones, such as Fronleichnam in parts of Saxony, are left to
// the offices file: closures or open_on_holidays).
var holidays = []holiday{
	{de: "Neujahr", en: "New Year's Day", month: 1, day: 1},
	{de: "Heilige Drei Könige", en: "Epiphany", month: 1, day: 6, states: []string{"BW", "BY", "ST"}},
	{de: "Internationaler Frauentag", en: "International Women's Day", month: 3, day: 8, states: []string{"BE"}, from: 2019},
	{de: "Internationaler Frauentag", en: "International Women's Day", month: 3, day: 8, states: []string{"MV"}, from: 2023},
	{de: "Karfreitag", en: "Good Friday", easter: easter(-2)},
	{de: "Ostersonntag", en: "Easter Sunday", easter: easter(0), states: []string{"BB"}},
	{de: "Ostermontag", en: "Easter Monday", easter: easter(1)},
	{de: "Tag der Arbeit", en: "Labour Day", month: 5, day: 1},
	{de: "Tag der Befreiung", en: "Liberation Day", month: 5, day: 8, states: []string{"BE"}, from: 2020, to: 2020},
	{de: "Tag der Befreiung", en: "Liberation Day", month: 5, day: 8, states: []string{"BE"}, from: 2025, to: 2025},
	{de: "Christi Himmelfahrt", en: "Ascension Day", easter: easter(39)},
	{de: "Pfingstsonntag", en: "Whit Sunday", easter: easter(49), states: []string{"BB"}},
	{de: "Pfingstmontag", en: "Whit Monday", easter: easter(50)},
	{de: "Fronleichnam", en: "Corpus Christi", easter: easter(60), states: []string{"BW", "BY", "HE", "NW", "RP", "SL"}},
	{de: "Mariä Himmelfahrt", en: "Assumption Day", month: 8, day: 15, states: []string{"SL"}},
	{de: "Weltkindertag", en: "World Children's Day", month: 9, day: 20, states: []string{"TH"}, from: 2019},
	{de: "Tag der Deutschen Einheit", en: "German Unity Day", month: 10, day: 3},
	{de: "Reformationstag", en: "Reformation Day", month: 10, day: 31, states: []string{"BB", "MV", "SN", "ST", "TH"}},
	{de: "Reformationstag", en: "Reformation Day", month: 10, day: 31, states: []string{"HB", "HH", "NI", "SH"}, from: 2018},
	{de: "Reformationstag", en: "Reformation Day", month: 10, day: 31, states: []string{"BE", "BW", "BY", "HE", "NW", "RP", "SL", "HB", "HH", "NI", "SH"}, from: 2017, to: 2017},
	{de: "Allerheiligen", en: "All Saints' Day", month: 11, day: 1, states: []string{"BW", "BY", "NW", "RP", "SL"}},
	{de: "Buß- und Bettag", en: "Day of Repentance and Prayer", weekdayRef: true, states: []string{"SN"}},
	{de: "1. Weihnachtstag", en: "Christmas Day", month: 12, day: 25},
	{de: "2. Weihnachtstag", en: "Boxing Day", month: 12, day: 26},
}

// EasterSunday returns the date of Easter Sunday in the Gregorian calendar
// (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
func EasterSunday(year int) Date {
	a, b, c := year%19, year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

// Holiday is a public holiday on a date.
type Holiday struct {
	Date Date
	Name Text
}

// holidayCache keeps the computed holidays per state and year.
var holidayCache sync.Map // "SH-2026" -> []Holiday

// Holidays returns the public holidays of state in year, sorted by date.
// The slice is shared: callers must not change it.
func Holidays(state string, year int) []Holiday {
	key := state + "-" + strconv.Itoa(year)
	if v, ok := holidayCache.Load(key); ok {
		return v.([]Holiday)
	}
	out := computeHolidays(state, year)
	holidayCache.Store(key, out)
	return out
}

func computeHolidays(state string, year int) []Holiday {
	var out []Holiday
	es := EasterSunday(year)
	for _, h := range holidays {
		if (h.states != nil && !slices.Contains(h.states, state)) || (h.from != 0 && year < h.from) || (h.to != 0 && year > h.to) {
			continue
		}
		var d Date
		switch {
		case h.easter != nil:
			d = es.AddDays(*h.easter)
		case h.weekdayRef:
			d = Date{year, time.November, 22}
			for d.Weekday() != time.Wednesday {
				d = d.AddDays(-1)
			}
		default:
			d = Date{year, time.Month(h.month), h.day}
		}
		if slices.ContainsFunc(out, func(x Holiday) bool { return x.Date == d }) {
			continue
		}
		out = append(out, Holiday{Date: d, Name: Text{De: h.de, En: h.en}})
	}
	slices.SortFunc(out, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return out
}

// HolidayClosures returns the holidays of the office between from and to
// (inclusive) as whole-day closures, leaving out the dates the office opens
// anyway.
func (o *Office) HolidayClosures(from, to Date) []Closure {
	var out []Closure
	for y := from.Y; y <= to.Y; y++ {
		for _, h := range Holidays(o.State, y) {
			if h.Date.Before(from) || to.Before(h.Date) || slices.Contains(o.OpenDates, h.Date.String()) {
				continue
			}
			out = append(out, Closure{From: h.Date, Until: h.Date, Title: h.Name, Holiday: true,
				Message: Text{De: "Gesetzlicher Feiertag: " + h.Name.De, En: "Public holiday: " + h.Name.En}})
		}
	}
	return out
}
