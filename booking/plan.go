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
func (d Date) String() string { return d.Midnight(time.UTC).Format(time.DateOnly) }

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
		// full counts the full units in [s, s+n) as s slides along the window.
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
			if full > 0 || s < minUnit {
				continue
			}
			if !regular {
				t, exists := o.UnitTime(p.Date, s)
				if !exists || t.Before(earliest) {
					continue
				}
			}
			fn(s)
		}
	}
}

// firstUnit returns the first unit of d not before earliest (exact on
// ordinary days; on DST days eachFreeStart checks instants as well), and false
// when all of d lies before earliest.
func (o *Office) firstUnit(d Date, earliest time.Time) (Unit, bool) {
	e := earliest.In(o.Location)
	switch ed := DateOf(e); {
	case d.Before(ed):
		return 0, false
	case ed.Before(d):
		return 0, true
	}
	min := e.Hour()*60 + e.Minute()
	u := min / o.SlotMinutes
	if min%o.SlotMinutes != 0 || e.Second() != 0 || e.Nanosecond() != 0 {
		u++
	}
	return Unit(u), true
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
