package notify

import (
	"bytes"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // office time zones must load on images without zoneinfo
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// iCalendar methods (RFC 5546).
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
	MethodPublish = "PUBLISH"
)

// ProductID is the PRODID of every calendar rathaus writes.
const ProductID = "-//rathaus//rathaus//DE"

// DefaultTimezone is used when an office names none.
const DefaultTimezone = "Europe/Berlin"

// maxLine is the longest content line allowed by RFC 5545, in octets, CRLF excluded.
const maxLine = 75

// MethodFor is the iCalendar method a mail of kind carries, "" for none.
func MethodFor(kind string) string {
	switch kind {
	case KindConfirmation, KindReschedule, KindReminder:
		return MethodRequest
	case KindCancellation, KindClosure:
		return MethodCancel
	}
	return ""
}

// AppointmentICS returns the iCalendar object (CRLF, folded) for msg's
// appointment with the given method: REQUEST for a booked or moved
// appointment, CANCEL for a cancelled one. The UID and SEQUENCE come from
// msg.Appointment, DTSTAMP from msg.Created; times are in the office time zone
// with a VTIMEZONE. Booking serves GET /api/v1/appointments/{token}/ics with it.
func AppointmentICS(msg Message, method string) ([]byte, error) {
	cal, err := appointmentCalendar(msg, method)
	if err != nil {
		return nil, fmt.Errorf("notify.AppointmentICS: %w", err)
	}
	b, err := EncodeCalendar(cal)
	if err != nil {
		return nil, fmt.Errorf("notify.AppointmentICS: %w", err)
	}
	return b, nil
}

func appointmentCalendar(msg Message, method string) (*ical.Calendar, error) {
	a := msg.Appointment
	if a == nil || a.UID == "" {
		return nil, fmt.Errorf("message %q has no appointment UID", msg.ID)
	}
	if method != MethodRequest && method != MethodCancel {
		return nil, fmt.Errorf("method %q is not REQUEST or CANCEL", method)
	}
	loc, err := officeLocation(msg.Office)
	if err != nil {
		return nil, err
	}
	calMethod := method
	if msg.To == "" {
		// No attendee (booked by staff for a caller without an address):
		// RFC 5546 wants one in a REQUEST or CANCEL, so the file only
		// publishes the event (STATUS says whether it is cancelled).
		calMethod = MethodPublish
	}
	cal := newCalendar(calMethod)
	cal.Children = append(cal.Children, VTimezone(loc, a.Start, a.End))
	ev, err := appointmentEvent(msg, method, loc)
	if err != nil {
		return nil, err
	}
	cal.Children = append(cal.Children, ev)
	return cal, nil
}

func newCalendar(method string) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, ProductID)
	setRaw(cal.Props, ical.PropCalendarScale, "GREGORIAN")
	setRaw(cal.Props, ical.PropMethod, method)
	return cal
}

func appointmentEvent(msg Message, method string, loc *time.Location) (*ical.Component, error) {
	a, l := msg.Appointment, lang(msg.Locale)
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, a.UID)
	setRaw(ev.Props, ical.PropSequence, fmt.Sprint(a.Sequence))
	ev.Props.SetDateTime(ical.PropDateTimeStamp, msg.Created.UTC())
	ev.Props.SetDateTime(ical.PropDateTimeStart, a.Start.In(loc))
	ev.Props.SetDateTime(ical.PropDateTimeEnd, a.End.In(loc))
	ev.Props.SetText(ical.PropSummary, oneLine(pick(a.Service, l)+" – "+msg.Office.Name))
	ev.Props.SetText(ical.PropLocation, oneLine(joinNonEmpty(", ", msg.Office.Name, msg.Office.Address)))
	ev.Props.SetText(ical.PropDescription, eventDescription(msg, l))
	if u, err := url.Parse(a.ManageURL); err == nil && a.ManageURL != "" {
		ev.Props.SetURI(ical.PropURL, u)
	}
	setRaw(ev.Props, ical.PropTransparency, "OPAQUE")
	org, err := organizer(msg)
	if err != nil {
		return nil, err
	}
	ev.Props.Set(org)
	if msg.To != "" { // booked by staff for a caller without an address: no attendee to name
		att := ical.NewProp(ical.PropAttendee)
		att.Value = "mailto:" + msg.To
		att.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
		att.Params.Set(ical.ParamParticipationStatus, "ACCEPTED")
		att.Params.Set(ical.ParamRSVP, "FALSE")
		ev.Props.Set(att)
	}
	if method == MethodCancel {
		ev.SetStatus(ical.EventCancelled)
		return ev.Component, nil
	}
	ev.SetStatus(ical.EventConfirmed)
	ev.Children = append(ev.Children, alarm(pick(a.Service, l)))
	return ev.Component, nil
}

// organizer is the office (its address, or the manage link's host as a
// no-reply address when the office has none).
func organizer(msg Message) (*ical.Prop, error) {
	addr := msg.Office.Email
	if addr == "" {
		u, err := url.Parse(msg.Appointment.ManageURL)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("office %q has no e-mail and the manage link no host", msg.Office.ID)
		}
		addr = "noreply@" + u.Hostname()
	}
	if _, err := mail.ParseAddress(addr); err != nil || strings.ContainsAny(addr, "\r\n\"") {
		return nil, fmt.Errorf("organizer %q is not an e-mail address", addr)
	}
	p := ical.NewProp(ical.PropOrganizer)
	p.Value = "mailto:" + addr
	if n := paramValue(msg.Office.Name); n != "" {
		p.Params.Set(ical.ParamCommonName, n)
	}
	return p, nil
}

func alarm(what string) *ical.Component {
	c := ical.NewComponent(ical.CompAlarm)
	setRaw(c.Props, ical.PropAction, "DISPLAY")
	setRaw(c.Props, ical.PropTrigger, "-PT1H")
	c.Props.SetText(ical.PropDescription, oneLine(what))
	return c
}

func eventDescription(msg Message, l string) string {
	a := msg.Appointment
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", pickStr(l, "Vorgangsnummer", "Code"), a.Code)
	if docs := docsFor(a, l); len(docs) > 0 {
		fmt.Fprintf(&b, "%s: %s\n", pickStr(l, "Bitte mitbringen", "Please bring"), strings.Join(docs, ", "))
	}
	if a.ManageURL != "" {
		fmt.Fprintf(&b, "%s: %s\n", pickStr(l, "Termin verwalten", "Manage appointment"), a.ManageURL)
	}
	return strings.TrimRight(b.String(), "\n")
}

// ClosureEvent is one closure in an office's closures feed.
type ClosureEvent struct {
	// UID is the closure's iCalendar UID, stable for its life.
	UID      string
	Sequence int
	// From and Until are local dates (YYYY-MM-DD), both inclusive.
	From, Until string
	Title       Text
	Message     Text
	// Start and End, when set, make a timed event (a partial-day closure)
	// instead of an all-day one; they must be in the office time zone.
	Start, End *time.Time
	// Cancelled withdraws the closure: STATUS:CANCELLED with a higher
	// SEQUENCE tells subscribed calendars to drop it.
	Cancelled bool
}

// ClosuresICS returns a subscribable calendar (METHOD:PUBLISH) of an
// office's closures as all-day events, in locale ("de" or "en"). now becomes
// every DTSTAMP. An empty list gives a valid calendar with only the VTIMEZONE.
func ClosuresICS(office Office, closures []ClosureEvent, locale string, now time.Time) ([]byte, error) {
	loc, err := officeLocation(office)
	if err != nil {
		return nil, fmt.Errorf("notify.ClosuresICS: %w", err)
	}
	l := lang(locale)
	cal := newCalendar(MethodPublish)
	cal.Props.SetText("X-WR-CALNAME", oneLine(office.Name+" – "+pickStr(l, "Schließtage", "Closures")))
	cal.Props.SetText("X-WR-TIMEZONE", loc.String())
	cal.Children = append(cal.Children, VTimezone(loc, now, now))
	for _, c := range closures {
		ev, err := closureEvent(c, l, now)
		if err != nil {
			return nil, fmt.Errorf("notify.ClosuresICS: %w", err)
		}
		cal.Children = append(cal.Children, ev)
	}
	b, err := EncodeCalendar(cal)
	if err != nil {
		return nil, fmt.Errorf("notify.ClosuresICS: %w", err)
	}
	return b, nil
}

func closureEvent(c ClosureEvent, l string, now time.Time) (*ical.Component, error) {
	from, err := time.Parse(time.DateOnly, c.From)
	if err != nil {
		return nil, fmt.Errorf("closure %q: from: %w", c.UID, err)
	}
	until, err := time.Parse(time.DateOnly, c.Until)
	if err != nil || until.Before(from) {
		return nil, fmt.Errorf("closure %q: until %q is not a date on or after from", c.UID, c.Until)
	}
	ev := ical.NewEvent()
	ev.Props.SetText(ical.PropUID, c.UID)
	setRaw(ev.Props, ical.PropSequence, fmt.Sprint(c.Sequence))
	ev.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
	if c.Start != nil && c.End != nil {
		ev.Props.SetDateTime(ical.PropDateTimeStart, *c.Start)
		ev.Props.SetDateTime(ical.PropDateTimeEnd, *c.End)
	} else {
		ev.Props.SetDate(ical.PropDateTimeStart, from)
		ev.Props.SetDate(ical.PropDateTimeEnd, until.AddDate(0, 0, 1)) // DTEND of a date is exclusive
	}
	status := "CONFIRMED"
	if c.Cancelled {
		status = "CANCELLED"
	}
	setRaw(ev.Props, ical.PropStatus, status)
	ev.Props.SetText(ical.PropSummary, oneLine(pick(c.Title, l)))
	if m := pick(c.Message, l); m != "" {
		ev.Props.SetText(ical.PropDescription, m)
	}
	setRaw(ev.Props, ical.PropTransparency, "TRANSPARENT")
	return ev.Component, nil
}

// EncodeCalendar writes cal as RFC 5545 text: CRLF line ends and content
// lines folded at 75 octets (go-ical does neither fold nor add a VTIMEZONE;
// add one with VTimezone).
func EncodeCalendar(cal *ical.Calendar) ([]byte, error) {
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("notify.EncodeCalendar: %w", err)
	}
	return Fold(buf.Bytes()), nil
}

// Fold folds every content line of an iCalendar text longer than 75 octets
// (RFC 5545 3.1): a CRLF and one space are inserted, never inside a UTF-8
// sequence. Line ends become CRLF.
func Fold(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/60*3)
	for _, line := range bytes.Split(bytes.TrimRight(b, "\r\n"), []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		limit := maxLine
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			out.Write(line[:cut])
			out.WriteString("\r\n ")
			line = line[cut:]
			limit = maxLine - 1 // the leading space counts
		}
		out.Write(line)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

// officeLocation loads the office time zone (Europe/Berlin when unset).
func officeLocation(o Office) (*time.Location, error) {
	name := o.Timezone
	if name == "" {
		name = DefaultTimezone
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name) // reads and parses the zone file each time
	if err != nil {
		return nil, fmt.Errorf("office %q: time zone: %w", o.ID, err)
	}
	locations.Store(name, loc)
	return loc, nil
}

// locations keeps the time zones loaded, by name: a *time.Location is
// immutable and safe to share.
var locations sync.Map

// paramValue makes s safe as a quoted iCalendar parameter value: no control
// characters and no double quote (which RFC 5545 cannot express there).
func paramValue(s string) string {
	return strings.ReplaceAll(oneLine(s), `"`, "'")
}
