package booking

import (
	"net/url"
	"time"

	"github.com/rathaus/rathaus/notify"
)

// reminderLead is how long before an appointment its reminder goes out.
const reminderLead = 24 * time.Hour

func (s *Bookings) manageURL(token string) string { return s.baseURL + "/a/" + url.PathEscape(token) }
func (s *Bookings) icsURL(token string) string {
	return s.baseURL + "/api/v1/appointments/" + url.PathEscape(token) + "/ics"
}

// uidHost is the host part of iCalendar UIDs.
func (s *Bookings) uidHost() string {
	if u, err := url.Parse(s.baseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "rathaus"
}

func officeInfo(o *Office) notify.Office {
	return notify.Office{ID: o.ID, Name: o.Name, Address: o.Address, Phone: o.Phone, Email: o.Email, Timezone: o.Timezone}
}

// message builds the outbox message of kind about a.
func (s *Bookings) message(o *Office, a Appointment, kind string, now time.Time) notify.Message {
	svc, _ := o.Service(a.Service)
	ap := &notify.Appointment{UID: a.ID + "@" + s.uidHost(), Sequence: a.Seq, Code: a.Code,
		Service: notify.Text{De: svc.Name.De, En: svc.Name.En}, Fee: notify.Text{De: svc.Fee.De, En: svc.Fee.En},
		Start: a.Start, End: a.End, ManageURL: s.manageURL(a.Token), ICSURL: s.icsURL(a.Token)}
	ap.Documents.De, ap.Documents.En = svc.Documents.De, svc.Documents.En
	m := notify.Message{ID: a.ID + "-" + kind + "-" + itoa(a.Seq), Kind: kind, Office: officeInfo(o), Locale: a.Locale,
		To: a.Email, ToName: a.Name, Appointment: ap, Created: now.UTC()}
	if kind == notify.KindVerification {
		m.VerifyURL = s.manageURL(a.Token) + "?verify=1"
	}
	return m
}

// reminder returns the reminder of a and its due time, or nil when the
// appointment is too close for one.
func (s *Bookings) reminder(o *Office, a Appointment, now time.Time) (*notify.Message, time.Time) {
	due := a.Start.Add(-reminderLead)
	if !due.After(now.Add(time.Minute)) {
		return nil, time.Time{}
	}
	m := s.message(o, a, notify.KindReminder, now)
	m.ID = reminderID(a)
	return &m, due
}

func reminderID(a Appointment) string { return a.ID + "-reminder-" + itoa(a.Seq) }
