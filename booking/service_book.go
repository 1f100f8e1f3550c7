package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/notify"
)

// maxRetries bounds the retries after a concurrent closure change or a code collision.
const maxRetries = 5

// slotRef is a checked start: its date, first unit and units, and the seats.
type slotRef struct {
	date  Date
	unit  Unit
	units int
	start time.Time
	end   time.Time
	seats string
}

// checkStart validates a start for a service against the grid, the lead time,
// the horizon, the opening hours and the closures.
func (s *Bookings) checkStart(o *Office, svc Service, t time.Time, snap snapshot, now time.Time) (slotRef, error) {
	d, u, onGrid := o.UnitOf(t)
	n := o.Units(svc.DurationMinutes)
	switch {
	case !onGrid:
		return slotRef{}, apperr.Invalid("start", "start_not_on_grid",
			fmt.Sprintf("Termine beginnen im %d-Minuten-Raster (z. B. 09:00, 09:%02d).", o.SlotMinutes, o.SlotMinutes),
			fmt.Sprintf("Appointments start on the %d-minute grid (e.g. 09:00, 09:%02d).", o.SlotMinutes, o.SlotMinutes))
	case !t.After(now):
		return slotRef{}, apperr.Invalid("start", "start_in_past", "Dieser Zeitpunkt liegt in der Vergangenheit.", "This time is in the past.")
	case t.Before(o.Earliest(now)):
		return slotRef{}, apperr.Invalid("start", "start_too_soon",
			fmt.Sprintf("Termine können frühestens %d Minuten im Voraus gebucht werden.", o.LeadMinutes),
			fmt.Sprintf("Appointments must be booked at least %d minutes ahead.", o.LeadMinutes))
	case o.LastDate(now).Before(d):
		return slotRef{}, apperr.Invalid("start", "start_beyond_horizon",
			fmt.Sprintf("Termine können höchstens %d Tage im Voraus gebucht werden.", o.HorizonDays),
			fmt.Sprintf("Appointments can be booked at most %d days ahead.", o.HorizonDays))
	}
	closures := o.closuresOn(d, snap.closures)
	for i := range closures {
		if from, to, ok := closures[i].UnitsOn(o, d); ok && from < u+Unit(n) && u < to {
			return slotRef{}, ClosedError(&closures[i], o)
		}
	}
	p := o.Plan(d, closures)
	var win *Window
	for i := range p.Windows {
		if u >= p.Windows[i].From && u+Unit(n) <= p.Windows[i].To {
			win = &p.Windows[i]
		}
	}
	if win == nil {
		return slotRef{}, apperr.Invalid("start", "start_outside_opening_hours",
			"Zu dieser Zeit (mit der Dauer der Dienstleistung) werden keine Termine vergeben.",
			"No appointments are given at this time (for the length of the service).")
	}
	return slotRef{date: d, unit: u, units: n, start: t, end: t.Add(svc.Duration()), seats: seatList(p, u, n)}, nil
}

// ClosedError is the 409 office_closed error for a closure, carrying its message and phone.
func ClosedError(c *Closure, o *Office) *apperr.Error {
	de := fmt.Sprintf("%s ist am %s geschlossen: %s.", o.Name, germanRange(c), c.Title.De)
	en := fmt.Sprintf("%s is closed %s: %s.", o.Name, englishRange(c), c.Title.In("en"))
	if c.Holiday {
		de = fmt.Sprintf("%s ist am %s geschlossen (gesetzlicher Feiertag: %s).", o.Name, germanRange(c), c.Title.De)
		en = fmt.Sprintf("%s is closed %s (public holiday: %s).", o.Name, englishRange(c), c.Title.In("en"))
	} else if c.Message.De != "" {
		de += " " + c.Message.De
	}
	if m := c.Message.In("en"); m != "" && !c.Holiday {
		en += " " + m
	}
	phone := c.Phone
	if phone == "" && !c.Holiday {
		phone = o.Phone
	}
	if phone != "" {
		de += " Dringende Anliegen: Telefon " + phone + "."
		en += " Urgent matters: phone " + phone + "."
	}
	e := apperr.Conflict("office_closed", de, en)
	e.Details = map[string]any{"closure": closureSummary(c)}
	return e
}

func germanRange(c *Closure) string {
	f := func(d Date) string { return fmt.Sprintf("%02d.%02d.%d", d.D, d.M, d.Y) }
	if c.From == c.Until {
		return f(c.From)
	}
	return f(c.From) + " bis " + f(c.Until)
}

func englishRange(c *Closure) string {
	if c.From == c.Until {
		return "on " + c.From.String()
	}
	return "from " + c.From.String() + " to " + c.Until.String()
}

// closureSummary is the closure as shown in errors and availability.
func closureSummary(c *Closure) map[string]any {
	m := map[string]any{"from": c.From.String(), "until": c.Until.String(), "title": c.Title, "message": c.Message,
		"holiday": c.Holiday}
	if c.ID != "" {
		m["id"] = c.ID
	}
	if c.Partial() {
		m["from_time"], m["until_time"] = clockText(c.StartMin), clockText(c.EndMin)
	}
	if c.Phone != "" {
		m["phone"] = c.Phone
	}
	if c.Email != "" {
		m["email"] = c.Email
	}
	if c.ComeBy != "" {
		m["come_by"] = c.ComeBy
	}
	return m
}

// capExpiry is when a day's capacity record may go: two days after the day.
func capExpiry(o *Office, d Date) time.Time { return d.AddDays(2).Midnight(o.Location) }

// Hold is a short reservation of a start.
type Hold struct {
	ID      string
	Office  string
	Service string
	Start   time.Time
	End     time.Time
	Expires time.Time
}

// Hold reserves a start for the office's hold time.
func (s *Bookings) Hold(ctx context.Context, officeID, serviceID, start string) (Hold, error) {
	o, svc, err := s.lookup(officeID, serviceID)
	if err != nil {
		return Hold{}, err
	}
	t, err := o.parseStart(start)
	if err != nil {
		return Hold{}, err
	}
	for range maxRetries {
		now := s.clock.Now()
		d, _, _ := o.UnitOf(t)
		snap, err := s.st.readDays(ctx, o.ID, nil)
		if err != nil {
			return Hold{}, err
		}
		ref, err := s.checkStart(o, svc, t, snap, now)
		if err != nil {
			return Hold{}, err
		}
		h := Hold{ID: newSecret(), Office: o.ID, Service: svc.ID, Start: ref.start, End: ref.end,
			Expires: now.Add(time.Duration(o.HoldMinutes) * time.Minute)}
		res, err := s.st.hold(ctx, now, holdArgs{office: o.ID, id: h.ID, service: svc.ID, date: d, unit: ref.unit,
			units: ref.units, start: ref.start, expires: h.Expires, closuresVer: snap.closuresVer, seats: ref.seats,
			capExpiry: capExpiry(o, d)})
		if err != nil {
			return Hold{}, err
		}
		switch res {
		case "ok":
			return h, nil
		case "slot_taken":
			return Hold{}, ErrSlotTaken
		}
	}
	return Hold{}, apperr.Conflict("try_again", "Die Öffnungszeiten haben sich gerade geändert. Bitte versuchen Sie es noch einmal.",
		"The opening times changed just now. Please try again.")
}

// ReleaseHold gives a hold's seats back at once.
func (s *Bookings) ReleaseHold(ctx context.Context, officeID, holdID string) error {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return ErrOfficeNotFound
	}
	d, ok, err := s.st.holdDate(ctx, o.ID, holdID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrHoldNotFound
	}
	_, err = s.st.releaseHold(ctx, s.clock.Now(), o.ID, holdID, d, true)
	return err
}

// BookRequest is a citizen's booking.
type BookRequest struct {
	Service string
	Start   string
	Name    string
	Email   string
	Phone   string
	Locale  string
	Hold    string
}

// Booked is the result of a booking.
type Booked struct {
	Appointment Appointment
	Token       string
	ManageURL   string
	ICSURL      string
}

// Idempotency carries an Idempotency-Key claim into Book: the response the
// script stores on success.
type Idempotency struct {
	KeyHash  string
	Response func(Booked) []byte
}

// Book books an appointment atomically. lang is the request's language, the
// default for the appointment's locale.
func (s *Bookings) Book(ctx context.Context, officeID string, req BookRequest, lang string, idem *Idempotency) (Booked, error) {
	return s.book(ctx, officeID, req, lang, idem, false)
}

// BookByStaff books for a citizen who asked the office (by phone, at the
// counter) by the citizen's rules, with two differences: the e-mail address
// may be left out when a phone number is given — the citizen then gets no
// mail, and the office calls if a closure affects the appointment — and the
// appointment is confirmed at once, also where the office asks citizens to
// confirm their address. The staff request is audited.
func (s *Bookings) BookByStaff(ctx context.Context, officeID string, req BookRequest, lang string) (Booked, error) {
	req.Hold = ""
	return s.book(ctx, officeID, req, lang, nil, true)
}

// ErrContactRequired refuses a staff booking without any way to reach the citizen.
var ErrContactRequired = apperr.Invalid("phone", "contact_required",
	"Ohne E-Mail-Adresse brauchen wir eine Telefonnummer, um bei einer Schließung Bescheid zu geben.",
	"Without an e-mail address a phone number is needed, to tell the citizen about a closure.")

func (s *Bookings) book(ctx context.Context, officeID string, req BookRequest, lang string, idem *Idempotency, byStaff bool) (Booked, error) {
	o, svc, err := s.lookup(officeID, req.Service)
	if err != nil {
		return Booked{}, err
	}
	a := Appointment{Office: o.ID, Service: svc.ID, Status: StatusConfirmed}
	if a.Name, err = cleanName(req.Name); err != nil {
		return Booked{}, err
	}
	if !byStaff || strings.TrimSpace(req.Email) != "" {
		if a.Email, err = cleanEmail(req.Email); err != nil {
			return Booked{}, err
		}
	}
	if a.Phone, err = cleanPhone(req.Phone); err != nil {
		return Booked{}, err
	}
	if a.Email == "" && a.Phone == "" {
		return Booked{}, ErrContactRequired
	}
	if a.Locale, err = cleanLocale(req.Locale, lang); err != nil {
		return Booked{}, err
	}
	t, err := o.parseStart(req.Start)
	if err != nil {
		return Booked{}, err
	}
	a.Token, a.ID = newToken(o.ID)
	fresh := false // the first try may start from the closures last read
	for range maxRetries {
		res, b, err := s.tryBook(ctx, o, svc, t, a, req.Hold, idem, fresh, byStaff)
		if err != nil || res == "ok" {
			return b, err
		}
		fresh = fresh || res == "closures_changed"
	}
	return Booked{}, apperr.Conflict("try_again", "Bitte versuchen Sie es noch einmal.", "Please try again.")
}

// tryBook makes one attempt. Unless fresh, it starts from the closures last
// read (the script refuses with "closures_changed" if they are stale), so
// that a booking is one round trip to Redis.
func (s *Bookings) tryBook(ctx context.Context, o *Office, svc Service, t time.Time, a Appointment, hold string, idem *Idempotency, fresh, byStaff bool) (string, Booked, error) {
	now := s.clock.Now()
	snap, cached := s.st.cachedClosures(o.ID)
	if fresh || !cached {
		var err error
		if snap, err = s.st.readDays(ctx, o.ID, nil); err != nil {
			return "", Booked{}, err
		}
	}
	ref, err := s.checkStart(o, svc, t, snap, now)
	if err != nil && cached && !fresh {
		// A refusal is never based on closures that may be stale.
		if snap, err = s.st.readDays(ctx, o.ID, nil); err != nil {
			return "", Booked{}, err
		}
		ref, err = s.checkStart(o, svc, t, snap, now)
	}
	if err != nil {
		return "", Booked{}, err
	}
	a.Code, a.Created, a.Changed = newCode(), now, now
	a.Start, a.End, a.Date, a.Unit, a.Units = ref.start, ref.end, ref.date, ref.unit, ref.units
	kind := notify.KindConfirmation
	if o.ConfirmByEmail && !byStaff {
		a.Status, a.VerifyBy, kind = StatusUnverified, now.Add(time.Duration(o.ConfirmMinutes)*time.Minute), notify.KindVerification
	}
	b := Booked{Appointment: a, Token: a.Token, ManageURL: s.manageURL(a.Token), ICSURL: s.icsURL(a.Token)}
	args := bookArgs{appt: a, closuresVer: snap.closuresVer, seats: ref.seats, emailLimit: o.MaxActivePerEmail,
		outbox: notify.Ref{Kind: kind, Subject: a.ID, Seq: a.Seq}, holdID: hold, capExpiry: capExpiry(o, a.Date)}
	if idem != nil {
		args.appt.IdemKey = idem.KeyHash
		args.idemKeyHash, args.idemResponse = idem.KeyHash, idem.Response(b)
	}
	res, err := s.st.book(ctx, now, args)
	if err != nil {
		return "", Booked{}, err
	}
	switch res {
	case "ok":
		s.log.Info("booking: booked", "office", o.ID, "service", svc.ID, "appointment", a.ID)
		return res, b, nil
	case "slot_taken":
		return res, Booked{}, ErrSlotTaken
	case "email_limit":
		return res, Booked{}, ErrEmailLimit
	case "hold_mismatch":
		return res, Booked{}, ErrHoldMismatch
	}
	return res, Booked{}, nil // closures_changed or code_taken: try again
}

// HashKey hashes an Idempotency-Key or a body for storage.
func HashKey(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
