package booking

import (
	"strconv"
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
	// Seq is the iCalendar SEQUENCE: it rises with every change.
	Seq int
	// CancelReason says who cancelled: citizen, closure:<id>, staff.
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

// fields returns the hash fields of a.
func (a Appointment) fields() map[string]string {
	m := map[string]string{
		"id": a.ID, "code": a.Code, "office": a.Office, "service": a.Service, "status": a.Status,
		"start": a.Start.Format(time.RFC3339), "end": a.End.Format(time.RFC3339), "date": a.Date.String(),
		"unit": strconv.Itoa(int(a.Unit)), "units": strconv.Itoa(a.Units), "name": a.Name, "email": a.Email,
		"phone": a.Phone, "locale": a.Locale, "token": a.Token, "created": a.Created.Format(time.RFC3339Nano),
		"seq": strconv.Itoa(a.Seq), "cancel_reason": a.CancelReason,
	}
	if !a.VerifyBy.IsZero() {
		m["verify_by"] = a.VerifyBy.Format(time.RFC3339)
	}
	if a.IdemKey != "" {
		m["idem"] = a.IdemKey
	}
	return m
}

// appointmentFrom reads an appointment hash; loc is the office's time zone.
func appointmentFrom(m map[string]string, loc *time.Location) (Appointment, bool) {
	if m["id"] == "" {
		return Appointment{}, false
	}
	a := Appointment{ID: m["id"], Code: m["code"], Office: m["office"], Service: m["service"], Status: m["status"],
		Name: m["name"], Email: m["email"], Phone: m["phone"], Locale: m["locale"], Token: m["token"],
		CancelReason: m["cancel_reason"], IdemKey: m["idem"]}
	a.Start, _ = time.Parse(time.RFC3339, m["start"])
	a.End, _ = time.Parse(time.RFC3339, m["end"])
	a.Start, a.End = a.Start.In(loc), a.End.In(loc)
	a.Date, _ = ParseDate(m["date"])
	u, _ := strconv.Atoi(m["unit"])
	a.Unit = Unit(u)
	a.Units, _ = strconv.Atoi(m["units"])
	a.Seq, _ = strconv.Atoi(m["seq"])
	a.Created, _ = time.Parse(time.RFC3339Nano, m["created"])
	if v := m["verify_by"]; v != "" {
		a.VerifyBy, _ = time.Parse(time.RFC3339, v)
	}
	if v := m["checked_in_at"]; v != "" {
		a.CheckedIn, _ = time.Parse(time.RFC3339, v)
	}
	return a, true
}
