package booking

import (
	"strconv"
	"strings"
	"time"
)

// Appointment statuses.
const (
	StatusConfirmed  = "confirmed"
	StatusUnverified = "unverified"
	StatusCancelled  = "cancelled"
	StatusExpired    = "expired" // unverified and not confirmed in time
)

// Appointment is a booked time of a citizen.
type Appointment struct {
	ID      string
	Code    string
	Office  string
	Service string
	Status  string
	Start   time.Time
	End     time.Time
	Date    Date
	Unit    Unit
	Units   int
	Name    string
	Email   string
	Phone   string
	Locale  string
	Token   string
	Created time.Time
	// Changed is the last booking, move or confirmation: a reminder whose due
	// time had passed by then is not sent (see SendDueReminders).
	Changed time.Time
	// Seq is the iCalendar SEQUENCE: it rises with every change.
	Seq int
	// CancelReason says who cancelled: citizen, office (staff, at the
	// citizen's request), closure:<id>, erased, unverified.
	CancelReason string
	// VerifyBy is the deadline of an unverified appointment.
	VerifyBy time.Time
	// CheckedIn is when the holder checked in at the office (zero: not yet).
	CheckedIn time.Time
	// IdemKey is the hash of the Idempotency-Key the booking came with: its
	// stored answer holds the name and address, so it goes with the appointment.
	IdemKey string
}

// Active reports whether the appointment holds seats.
func (a Appointment) Active() bool {
	return a.Status == StatusConfirmed || a.Status == StatusUnverified
}

// The appointment record is a Redis hash kept small, because a city holds
// hundreds of thousands of them (about 330 bytes each with its key, instead
// of 560 with readable field names and RFC 3339 times): one-letter field
// names, no field that the key or another field already says (id and office
// are in the key, the date follows from the start), times as Unix seconds
// (Redis stores such integers in 5 bytes), and empty fields left out. The
// scripts use the same letters; recordNames gives the readable names (an
// export shows those).
const (
	fCode         = "c"  // code, e.g. K7M-4QX
	fService      = "v"  // service id
	fStatus       = "s"  // confirmed, unverified, cancelled, expired
	fStart        = "t"  // Unix s
	fEnd          = "e"  // Unix s
	fUnit         = "u"  // first slot unit of the day
	fUnits        = "n"  // slot units taken
	fName         = "m"  // holder's name
	fEmail        = "a"  // holder's address
	fPhone        = "p"  // holder's phone (absent: none)
	fLocale       = "l"  // de or en
	fSecret       = "k"  // the manage token's secret (the token is "<office>.<secret>")
	fCreated      = "r"  // Unix s
	fChanged      = "g"  // Unix s of the last move or confirmation (absent: created)
	fSeq          = "q"  // iCalendar SEQUENCE
	fCancelReason = "x"  // citizen, office, erased, closure:<id>, unverified
	fCancelledAt  = "xa" // Unix ms
	fConfirmedAt  = "ca" // Unix ms
	fVerifyBy     = "vb" // Unix s
	fIdem         = "i"  // hash of the Idempotency-Key
	fCheckedIn    = "ci" // RFC 3339
)

// recordNames are the readable names of the record's fields.
var recordNames = map[string]string{fCode: "code", fService: "service", fStatus: "status", fStart: "start", fEnd: "end",
	fUnit: "unit", fUnits: "units", fName: "name", fEmail: "email", fPhone: "phone", fLocale: "locale", fSecret: "token",
	fCreated: "created", fChanged: "changed", fSeq: "seq", fCancelReason: "cancel_reason", fCancelledAt: "cancelled_at",
	fConfirmedAt: "confirmed_at", fVerifyBy: "verify_by", fIdem: "idem", fCheckedIn: "checked_in_at"}

// unixText is t as Unix seconds.
func unixText(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// unixTime reads Unix seconds; zero when s is empty or malformed.
func unixTime(s string, loc *time.Location) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" {
		return time.Time{}
	}
	return time.Unix(n, 0).In(loc)
}

// appendFields appends the hash fields of a to args as name, value, name,
// value … (the booking script's HSET arguments).
func (a Appointment) appendFields(args []any) []any {
	_, secret, _ := strings.Cut(a.Token, ".")
	args = append(args,
		fCode, a.Code, fService, a.Service, fStatus, a.Status, fStart, unixText(a.Start), fEnd, unixText(a.End),
		fUnit, strconv.Itoa(int(a.Unit)), fUnits, strconv.Itoa(a.Units), fName, a.Name, fEmail, a.Email,
		fLocale, a.Locale, fSecret, secret, fCreated, unixText(a.Created), fSeq, strconv.Itoa(a.Seq))
	if !a.Changed.IsZero() && a.Changed.Unix() != a.Created.Unix() {
		args = append(args, fChanged, unixText(a.Changed))
	}
	if a.Phone != "" {
		args = append(args, fPhone, a.Phone)
	}
	if a.CancelReason != "" {
		args = append(args, fCancelReason, a.CancelReason)
	}
	if !a.VerifyBy.IsZero() {
		args = append(args, fVerifyBy, unixText(a.VerifyBy))
	}
	if a.IdemKey != "" {
		args = append(args, fIdem, a.IdemKey)
	}
	return args
}

// appointmentFrom reads the appointment hash of id at office o.
func appointmentFrom(m map[string]string, o *Office, id string) (Appointment, bool) {
	if m[fCode] == "" || m[fStart] == "" {
		return Appointment{}, false
	}
	loc := o.Location
	a := Appointment{ID: id, Code: m[fCode], Office: o.ID, Service: m[fService], Status: m[fStatus],
		Name: m[fName], Email: m[fEmail], Phone: m[fPhone], Locale: m[fLocale], Token: o.ID + "." + m[fSecret],
		CancelReason: m[fCancelReason], IdemKey: m[fIdem]}
	a.Start, a.End = unixTime(m[fStart], loc), unixTime(m[fEnd], loc)
	a.Date, _, _ = o.UnitOf(a.Start)
	u, _ := strconv.Atoi(m[fUnit])
	a.Unit = Unit(u)
	a.Units, _ = strconv.Atoi(m[fUnits])
	a.Seq, _ = strconv.Atoi(m[fSeq])
	a.Created, a.Changed = unixTime(m[fCreated], loc), unixTime(m[fChanged], loc)
	if a.Changed.IsZero() {
		a.Changed = a.Created
	}
	a.VerifyBy = unixTime(m[fVerifyBy], loc)
	if v := m[fCheckedIn]; v != "" {
		a.CheckedIn, _ = time.Parse(time.RFC3339, v)
	}
	return a, true
}

// exportFields is the record as a citizen reads it in an export: readable
// names, times in RFC 3339 in the office's time zone, the whole token.
func exportFields(m map[string]string, office string, loc *time.Location) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch k {
		case fStart, fEnd, fCreated, fChanged, fVerifyBy:
			if t := unixTime(v, loc); !t.IsZero() {
				v = t.Format(time.RFC3339)
			}
		case fCancelledAt, fConfirmedAt:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				v = time.UnixMilli(n).In(loc).Format(time.RFC3339)
			}
		case fSecret:
			v = office + "." + v
		}
		if name, ok := recordNames[k]; ok {
			k = name
		}
		out[k] = v
	}
	return out
}
