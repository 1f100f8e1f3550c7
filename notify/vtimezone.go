package notify

import (
	"fmt"
	"time"

	"github.com/emersion/go-ical"
)

// transition is one change of a zone's UTC offset.
type transition struct {
	at       time.Time // the instant of the change
	fromOff  int       // offset in seconds before it
	toOff    int       // offset in seconds after it
	name     string    // abbreviation after it, e.g. "CEST"
	daylight bool      // whether the zone after it is summer time
}

// local is the wall-clock time at which the transition happens, in the
// offset that was in force before it (what VTIMEZONE's DTSTART means).
func (t transition) local() time.Time {
	return t.at.In(time.FixedZone("", t.fromOff))
}

// VTimezone builds a VTIMEZONE component for loc that is correct for every
// instant from one year before from to one year after to. go-ical does not
// write one, so it is derived from the Go zone data: each yearly rule that
// holds across the range ("last Sunday of March at 02:00") becomes one
// observance with an RRULE, any other change an observance of its own. A zone
// without changes (UTC, a fixed offset) gets one STANDARD observance.
func VTimezone(loc *time.Location, from, to time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	end := to.AddDate(2, 0, 0) // a year beyond what must be covered, to see whether a rule goes on
	trs := transitions(loc, from.AddDate(-1, 0, 0), end)
	if len(trs) == 0 {
		name, off := from.In(loc).Zone()
		tz.Children = append(tz.Children, observance(transition{
			at:      time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(off) * time.Second),
			fromOff: off, toOff: off, name: name}, ""))
		return tz
	}
	for _, group := range groupTransitions(trs) {
		if rule := yearlyRule(group, end); rule != "" {
			tz.Children = append(tz.Children, observance(group[0], rule))
			continue
		}
		for _, t := range group {
			tz.Children = append(tz.Children, observance(t, ""))
		}
	}
	return tz
}

// transitions lists the offset changes of loc between from and to, starting
// with the last change before from so that from itself is covered.
func transitions(loc *time.Location, from, to time.Time) []transition {
	var out []transition
	t := from.In(loc)
	start, _ := t.ZoneBounds()
	if !start.IsZero() {
		t = start
	}
	for i := 0; i < 1000; i++ {
		start, end := t.ZoneBounds()
		if !start.IsZero() && start.Equal(t) {
			_, before := start.Add(-time.Second).Zone()
			name, after := start.Zone()
			if before != after {
				out = append(out, transition{at: start.UTC(), fromOff: before, toOff: after, name: name, daylight: start.IsDST()})
			}
		}
		if end.IsZero() || end.After(to) {
			break
		}
		t = end.In(loc)
	}
	return out
}

// groupTransitions groups transitions of the same kind (same offsets, name
// and summer-time flag), keeping their order.
func groupTransitions(trs []transition) [][]transition {
	type kind struct {
		from, to int
		name     string
		dst      bool
	}
	var order []kind
	groups := map[kind][]transition{}
	for _, t := range trs {
		k := kind{t.fromOff, t.toOff, t.name, t.daylight}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	out := make([][]transition, 0, len(order))
	for _, k := range order {
		out = append(out, groups[k])
	}
	return out
}

// yearlyRule returns an RRULE when the group's transitions fall in
// consecutive years on the same weekday of the same month at the same wall
// time, either always the last such weekday or always the n-th; else "".
// A rule whose next change would have fallen before end has stopped and
// gets an UNTIL.
func yearlyRule(group []transition, end time.Time) string {
	if len(group) < 2 {
		return ""
	}
	first := group[0].local()
	allLast, nth := true, ordinal(first)
	for i, t := range group {
		l := t.local()
		if l.Year() != first.Year()+i || l.Month() != first.Month() || l.Weekday() != first.Weekday() ||
			l.Hour() != first.Hour() || l.Minute() != first.Minute() || l.Second() != first.Second() {
			return ""
		}
		allLast = allLast && l.AddDate(0, 0, 7).Month() != l.Month()
		if ordinal(l) != nth {
			nth = 0
		}
	}
	day := [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}[first.Weekday()]
	var rule string
	switch {
	case allLast:
		rule = fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=-1%s", first.Month(), day)
	case nth > 0:
		rule = fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", first.Month(), nth, day)
	default:
		return ""
	}
	if last := group[len(group)-1].at; !last.AddDate(1, 0, 7).After(end) {
		rule += ";UNTIL=" + last.UTC().Format("20060102T150405Z")
	}
	return rule
}

// ordinal is which occurrence of its weekday in its month t is (1..5).
func ordinal(t time.Time) int { return (t.Day()-1)/7 + 1 }

// observance builds a STANDARD or DAYLIGHT sub-component.
func observance(t transition, rrule string) *ical.Component {
	name := ical.CompTimezoneStandard
	if t.daylight {
		name = ical.CompTimezoneDaylight
	}
	c := ical.NewComponent(name)
	setRaw(c.Props, ical.PropDateTimeStart, t.local().Format("20060102T150405"))
	setRaw(c.Props, ical.PropTimezoneOffsetFrom, utcOffset(t.fromOff))
	setRaw(c.Props, ical.PropTimezoneOffsetTo, utcOffset(t.toOff))
	if t.name != "" {
		c.Props.SetText(ical.PropTimezoneName, t.name)
	}
	if rrule != "" {
		setRaw(c.Props, ical.PropRecurrenceRule, rrule)
	}
	return c
}

// utcOffset formats seconds east of UTC as an iCalendar UTC-OFFSET (+0100).
func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	s := fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec%3600/60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}

// setRaw sets a property whose value is already in iCalendar form.
func setRaw(props ical.Props, name, value string) {
	p := ical.NewProp(name)
	p.Value = value
	props.Set(p)
}
