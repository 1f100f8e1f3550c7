package booking

import (
	"time"
)

// Date is an office-local calendar date.
type Date struct {
	Y int
	M time.Month
	D int
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	if d, ok := parseDateFast(s); ok {
		return d, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string {
	if d.valid() {
		var b [10]byte
		return string(d.appendTo(b[:0]))
	}
	return d.Midnight(time.UTC).Format(time.DateOnly)
}

// appendString appends what String returns to b.
func (d Date) appendString(b []byte) []byte {
	if d.valid() {
		return d.appendTo(b)
	}
	return append(b, d.String()...)
}

// valid reports whether d is a real date of the years 0000 to 9999: the
// dates that String can write digit by digit (the others go through time).
func (d Date) valid() bool {
	return d.Y >= 0 && d.Y <= 9999 && d.M >= time.January && d.M <= time.December && d.D >= 1 && d.D <= daysIn(d.Y, d.M)
}

// appendTo writes a valid date as YYYY-MM-DD without going through time.Time:
// availability writes two per day (capacity key and answer).
func (d Date) appendTo(b []byte) []byte {
	y, m, dd := d.Y, int(d.M), d.D
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+dd/10), byte('0'+dd%10))
}

// daysIn returns the number of days of month m in year y (proleptic Gregorian).
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// parseDateFast parses exactly YYYY-MM-DD of a real date, as time.Parse with
// time.DateOnly would, without its generic layout machinery; anything else is
// left to time.Parse (and its error message).
func parseDateFast(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	num := func(t string) (int, bool) {
		n := 0
		for i := 0; i < len(t); i++ {
			c := t[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, false
	}
	out := Date{y, time.Month(m), d}
	return out, out.valid()
}

// Midnight returns the first instant of the date in loc.
func (d Date) Midnight(loc *time.Location) time.Time {
	return time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, loc)
}

// AddDays returns the date n days later.
func (d Date) AddDays(n int) Date { return DateOf(time.Date(d.Y, d.M, d.D+n, 12, 0, 0, 0, time.UTC)) }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Y, d.M, d.D, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// Compare returns -1, 0 or 1.
func (d Date) Compare(e Date) int {
	a, b := d.Y*10000+int(d.M)*100+d.D, e.Y*10000+int(e.M)*100+e.D
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DaysUntil returns the number of days from d to e (negative when e is before d).
func (d Date) DaysUntil(e Date) int {
	a := time.Date(d.Y, d.M, d.D, 12, 0, 0, 0, time.UTC)
	b := time.Date(e.Y, e.M, e.D, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// Unit is a slot unit of a day: its index is the office-local wall-clock
// minute of its start divided by the slot length. Wall-clock indexing keeps
// opening hours and units aligned on the 23- and 25-hour days of DST changes.
type Unit int

// UnitTime returns the instant at which unit u of date d starts in the office,
// and false when that local time does not exist (the spring-forward gap).
func (o *Office) UnitTime(d Date, u Unit) (time.Time, bool) {
	min := int(u) * o.SlotMinutes
	t := time.Date(d.Y, d.M, d.D, min/60, min%60, 0, 0, o.Location)
	return t, t.Hour() == min/60 && t.Minute() == min%60 && DateOf(t) == d
}

// UnitOf returns the date and unit of instant t in the office, and whether t
// lies exactly on the slot grid.
func (o *Office) UnitOf(t time.Time) (Date, Unit, bool) {
	lt := t.In(o.Location)
	min := lt.Hour()*60 + lt.Minute()
	onGrid := lt.Second() == 0 && lt.Nanosecond() == 0 && min%o.SlotMinutes == 0
	return DateOf(lt), Unit(min / o.SlotMinutes), onGrid
}

// Window is a span of units [From, To) with Seats bookable seats each.
type Window struct {
	From, To Unit
	Seats    int
}

// DayPlan is the bookable shape of one date before bookings: the windows of
// opening hours minus closures. A closed day has no windows.
type DayPlan struct {
	Date    Date
	Windows []Window
	// Closure is set when a closure or holiday shapes the day.
	Closure *Closure
}

// Seats returns the bookable seats of unit u.
func (p DayPlan) Seats(u Unit) int {
	for _, w := range p.Windows {
		if u >= w.From && u < w.To {
			return w.Seats
		}
	}
	return 0
}

// Plan returns the day plan of d: opening ranges cut by the closures that
// touch d. Holidays are closures too (see Calendar).
func (o *Office) Plan(d Date, closures []Closure) DayPlan {
	p := DayPlan{Date: d}
	var wins []Window
	for _, r := range o.Hours[d.Weekday()] {
		if r.Seats == 0 {
			continue
		}
		wins = append(wins, Window{From: Unit(r.Start / o.SlotMinutes), To: Unit(r.End / o.SlotMinutes), Seats: r.Seats})
	}
	for i := range closures {
		c := &closures[i]
		from, to, ok := c.UnitsOn(o, d)
		if !ok {
			continue
		}
		p.Closure = c
		wins = cut(wins, from, to)
	}
	p.Windows = wins
	return p
}

// cut removes [from, to) from the windows.
func cut(wins []Window, from, to Unit) []Window {
	var out []Window
	for _, w := range wins {
		if to <= w.From || from >= w.To {
			out = append(out, w)
			continue
		}
		if w.From < from {
			out = append(out, Window{From: w.From, To: from, Seats: w.Seats})
		}
		if to < w.To {
			out = append(out, Window{From: to, To: w.To, Seats: w.Seats})
		}
	}
	return out
}

// Used is a day's record of seats taken per unit; index = unit. A missing
// byte means zero. It is the compact per-day capacity record kept in Redis.
type Used []byte

// At returns the seats taken at unit u.
func (r Used) At(u Unit) int {
	if int(u) < len(r) && u >= 0 {
		return int(r[u])
	}
	return 0
}

// FreeStarts returns the start units of d at which a service needing n units
// can be booked: all n units inside one window with a free seat each, the
// start not before earliest and existing as a local time.
func (o *Office) FreeStarts(p DayPlan, used Used, n int, earliest time.Time) []Unit {
	var out []Unit
	o.eachFreeStart(p, used, n, earliest, func(u Unit) { out = append(out, u) })
	return out
}

// CountFreeStarts is len(FreeStarts(…)) without building the list.
func (o *Office) CountFreeStarts(p DayPlan, used Used, n int, earliest time.Time) int {
	c := 0
	o.eachFreeStart(p, used, n, earliest, func(Unit) { c++ })
	return c
}

// eachFreeStart calls fn for each free start of the day plan. On ordinary days
// it works on wall-clock units alone; on the two DST days (23 and 25 hours)
// it checks every start as an instant.
func (o *Office) eachFreeStart(p DayPlan, used Used, n int, earliest time.Time, fn func(Unit)) {
	minUnit, ok := o.firstUnit(p.Date, earliest)
	if !ok {
		return
	}
	regular := o.dayHours(p.Date) == 24
	for _, w := range p.Windows {
		eachOpenStart(w, used, n, minUnit, func(s Unit) {
			if !regular {
				if t, exists := o.UnitTime(p.Date, s); !exists || t.Before(earliest) {
					return
				}
			}
			fn(s)
		})
	}
}

// eachOpenStart calls fn for each start s ≥ lo of window w whose n units
// [s, s+n) all lie in w and have a free seat each, counting the full units
// under a window that slides along w.
func eachOpenStart(w Window, used Used, n int, lo Unit, fn func(Unit)) {
	full := 0
	for u := w.From; u < w.From+Unit(n) && u < w.To; u++ {
		if used.At(u) >= w.Seats {
			full++
		}
	}
	for s := w.From; s+Unit(n) <= w.To; s++ {
		if s > w.From {
			if used.At(s-1) >= w.Seats {
				full--
			}
			if used.At(s+Unit(n)-1) >= w.Seats {
				full++
			}
		}
		if full == 0 && s >= lo {
			fn(s)
		}
	}
}

// firstUnit returns the first unit of d not before earliest (exact on
// ordinary days; on DST days eachFreeStart checks instants as well), and false
// when all of d lies before earliest.
func (o *Office) firstUnit(d Date, earliest time.Time) (Unit, bool) {
	return o.boundOf(earliest).on(d)
}

// startBound is earliest as an office-local date and the first unit of that
// date not before it: computed once, it answers firstUnit for every day.
type startBound struct {
	date Date
	unit Unit
}

// boundOf returns the start bound of earliest.
func (o *Office) boundOf(earliest time.Time) startBound {
	e := earliest.In(o.Location)
	min := e.Hour()*60 + e.Minute()
	u := min / o.SlotMinutes
	if min%o.SlotMinutes != 0 || e.Second() != 0 || e.Nanosecond() != 0 {
		u++
	}
	return startBound{date: DateOf(e), unit: Unit(u)}
}

// on returns the first unit of d not before the bound, and false when all
// of d lies before it.
func (b startBound) on(d Date) (Unit, bool) {
	switch {
	case d.Before(b.date):
		return 0, false
	case b.date.Before(d):
		return 0, true
	}
	return b.unit, true
}

// countFree is CountFreeStarts with what is known of the day beforehand:
// the bound of earliest and, on days that are not 24 hours long (regular
// false), the instants of its units (see unitStarts). On regular days every
// unit exists as a local time and the bound decides alone which starts are
// late enough.
func (o *Office) countFree(p DayPlan, regular bool, starts []unitStart, used Used, n int, earliest time.Time, b startBound) int {
	if n < 1 || !regular && len(starts) != o.unitsPerDay() {
		return o.CountFreeStarts(p, used, n, earliest)
	}
	lo, ok := b.on(p.Date)
	if !ok {
		return 0
	}
	c := 0
	for _, w := range p.Windows {
		if regular {
			c += countFreeIn(w, used, n, lo)
		} else {
			c += countFreeDST(w, used, n, lo, starts, earliest)
		}
	}
	return c
}

// unitStart is a unit's instant and whether it exists (UnitTime).
type unitStart struct {
	t      time.Time
	exists bool
}

// unitsPerDay returns the number of wall-clock units of a day.
func (o *Office) unitsPerDay() int { return 1440 / o.SlotMinutes }

// unitStarts returns UnitTime of every unit of d.
func (o *Office) unitStarts(d Date) []unitStart {
	out := make([]unitStart, o.unitsPerDay())
	for u := range out {
		out[u].t, out[u].exists = o.UnitTime(d, Unit(u))
	}
	return out
}

// countFreeDST counts the free starts of w on a DST day as eachFreeStart
// does, with the instants of the units looked up rather than computed.
func countFreeDST(w Window, used Used, n int, lo Unit, starts []unitStart, earliest time.Time) int {
	c := 0
	eachOpenStart(w, used, n, lo, func(s Unit) {
		if int(s) < len(starts) && starts[s].exists && !starts[s].t.Before(earliest) {
			c++
		}
	})
	return c
}

// countFreeIn counts the starts s ≥ lo of window w whose n units [s, s+n)
// all lie in w and have a free seat each: a run of L free units between two
// full ones (or the bounds) holds L-n+1 of them. Units beyond the record are
// free, so the last run reaches the window's end.
func countFreeIn(w Window, used Used, n int, lo Unit) int {
	if lo < w.From {
		lo = w.From
	}
	if w.Seats <= 0 || int(w.To-lo) < n {
		return 0
	}
	c, run := 0, lo // run: the first unit of the current run of free units
	for u, end := lo, min(w.To, Unit(len(used))); u < end; u++ {
		if int(used[u]) >= w.Seats {
			c += startsIn(int(u-run), n)
			run = u + 1
		}
	}
	return c + startsIn(int(w.To-run), n)
}

// startsIn is the number of starts of n units in a run of l free units.
func startsIn(l, n int) int {
	if l < n {
		return 0
	}
	return l - n + 1
}

// dayHours returns the length of d in the office's time zone in hours.
func (o *Office) dayHours(d Date) int {
	return int(d.AddDays(1).Midnight(o.Location).Sub(d.Midnight(o.Location)).Hours())
}

// Earliest returns the earliest bookable instant from now (the lead time).
func (o *Office) Earliest(now time.Time) time.Time {
	return now.Add(time.Duration(o.LeadMinutes) * time.Minute)
}

// LastDate returns the last bookable date from now (the horizon).
func (o *Office) LastDate(now time.Time) Date {
	return DateOf(now.In(o.Location)).AddDays(o.HorizonDays)
}

// Today returns the office-local date of now.
func (o *Office) Today(now time.Time) Date { return DateOf(now.In(o.Location)) }
