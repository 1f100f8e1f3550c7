package booking

import (
	"net/url"
	"time"

	"github.com/rathaus/rathaus/notify"
)

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
