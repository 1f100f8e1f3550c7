package booking

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/notify"
)

// Get returns the appointment of a manage token.
func (s *Bookings) Get(ctx context.Context, token string) (Appointment, *Office, error) {
	officeID, id, ok := parseToken(token)
	if !ok {
		return Appointment{}, nil, ErrAppointmentNotFound
	}
	o, ok := s.dir.Office(officeID)
	if !ok {
		return Appointment{}, nil, ErrAppointmentNotFound
	}
	a, found, err := s.st.getAppointment(ctx, o, id)
	if err != nil {
		return Appointment{}, nil, err
	}
	if !found || subtle.ConstantTimeCompare([]byte(a.Token), []byte(token)) != 1 {
		return Appointment{}, nil, ErrAppointmentNotFound
	}
	return a, o, nil
}

// Cancel cancels the appointment of token; cancelling again is harmless.
func (s *Bookings) Cancel(ctx context.Context, token string) (Appointment, error) {
	return s.cancel(ctx, token, "citizen")
}

// CancelByStaff cancels appointment id of office officeID for a citizen who
// asked the office to (by phone, at the counter): the seats are freed and the
// citizen gets the same cancellation mail as after cancelling by link; the
// staff request is audited. Cancelling again is harmless.
func (s *Bookings) CancelByStaff(ctx context.Context, officeID, id string) (Appointment, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return Appointment{}, ErrOfficeNotFound
	}
	if !appointmentIDRE.MatchString(id) {
		return Appointment{}, ErrAppointmentNotFound
	}
	a, found, err := s.st.getAppointment(ctx, o, id)
	if err != nil {
		return Appointment{}, err
	}
	if !found {
		return Appointment{}, ErrAppointmentNotFound
	}
	if a.Active() && !a.End.After(s.clock.Now()) {
		return Appointment{}, ErrAppointmentOver // a cancellation mail afterwards would only confuse
	}
	return s.cancel(ctx, a.Token, ReasonOffice)
}

// ErrAppointmentOver refuses to cancel an appointment that has ended.
var ErrAppointmentOver = apperr.Conflict("appointment_over", "Dieser Termin ist schon vorbei und kann nicht mehr abgesagt werden.",
	"This appointment is over and can no longer be cancelled.")

// ReasonOffice is the cancel reason of an appointment the office cancelled
// at the citizen's request.
const ReasonOffice = "office"

// appointmentIDRE matches an appointment id (idOf: 12 bytes of a hash, hex).
var appointmentIDRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

func (s *Bookings) cancel(ctx context.Context, token, reason string) (Appointment, error) {
	for range maxRetries {
		a, o, err := s.Get(ctx, token)
		if err != nil {
			return Appointment{}, err
		}
		if !a.Active() {
			return a, nil
		}
		now := s.clock.Now()
		c := a
		c.Status, c.Seq, c.CancelReason = StatusCancelled, a.Seq+1, reason
		var outbox string
		switch {
		case a.Status != StatusConfirmed:
			// an unverified booking was never announced with an invite
		case a.Email == "":
			// booked by staff for a caller without an address
		case reason == "erased":
			// the record is deleted right after: the mail must carry its content
			raw, err := json.Marshal(s.message(o, c, notify.KindCancellation, now))
			if err != nil {
				return Appointment{}, err
			}
			outbox = string(raw)
		default:
			outbox = notify.Ref{Kind: notify.KindCancellation, Subject: a.ID, Seq: c.Seq}.Encode()
		}
		res, err := s.st.cancel(ctx, now, a, a.Start.After(now), outbox, reason, s.releaseAt(now))
		if err != nil {
			return Appointment{}, err
		}
		if res == "ok" || res == "inactive" {
			if res == "ok" {
				s.log.Info("booking: cancelled", "office", o.ID, "appointment", a.ID, "reason", reason)
			}
			a, _, err = s.Get(ctx, token)
			return a, err
		}
	}
	return Appointment{}, apperr.Conflict("try_again", "Bitte versuchen Sie es noch einmal.", "Please try again.")
}

// Reschedule moves the appointment of token to start. The new seats are won
// before the old ones are freed, or nothing changes.
func (s *Bookings) Reschedule(ctx context.Context, token, start string) (Appointment, error) {
	return s.reschedule(ctx, func() (Appointment, *Office, error) { return s.Get(ctx, token) }, start, "citizen")
}

// RescheduleByStaff moves appointment id of office officeID to start for a
// citizen who asked the office (by phone, at the counter). The rules are the
// citizen's own (lead time, horizon, closures, free seats); the citizen gets
// the same mail with the updated calendar entry as after moving by link, and
// the staff request is audited. An appointment cancelled by a closure is
// booked again, as from its link.
func (s *Bookings) RescheduleByStaff(ctx context.Context, officeID, id, start string) (Appointment, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return Appointment{}, ErrOfficeNotFound
	}
	if !appointmentIDRE.MatchString(id) {
		return Appointment{}, ErrAppointmentNotFound
	}
	return s.reschedule(ctx, func() (Appointment, *Office, error) {
		a, found, err := s.st.getAppointment(ctx, o, id)
		if err != nil {
			return Appointment{}, nil, err
		}
		if !found {
			return Appointment{}, nil, ErrAppointmentNotFound
		}
		if a.Active() && !a.End.After(s.clock.Now()) {
			return Appointment{}, nil, ErrAppointmentOverMove // a new booking keeps the missed one on record
		}
		return a, o, nil
	}, start, ReasonOffice)
}

// ErrCheckedIn refuses to move an appointment whose holder has checked in:
// the ticket drawn for it is in today's queue.
var ErrCheckedIn = apperr.Conflict("checked_in", "Zu diesem Termin ist schon eingecheckt; er kann nicht mehr verlegt werden. Bitte buchen Sie einen neuen.",
	"This appointment is checked in already and can no longer be moved; please book a new one.")

// ErrAppointmentOverMove refuses to move an appointment that has ended.
var ErrAppointmentOverMove = apperr.Conflict("appointment_over", "Dieser Termin ist schon vorbei und kann nicht mehr verlegt werden; bitte buchen Sie einen neuen.",
	"This appointment is over and can no longer be moved; please book a new one.")

// reschedule moves the appointment that load reads (again on every try) to
// start; by says who asked, for the log.
func (s *Bookings) reschedule(ctx context.Context, load func() (Appointment, *Office, error), start, by string) (Appointment, error) {
	lastRes := ""
	for attempt := range maxRetries {
		a, o, err := load()
		if err != nil {
			return Appointment{}, err
		}
		rebook := a.Status == StatusCancelled && strings.HasPrefix(a.CancelReason, "closure:")
		if !a.Active() && !rebook {
			return Appointment{}, ErrAppointmentInactive
		}
		if a.Active() && !a.CheckedIn.IsZero() {
			return Appointment{}, ErrCheckedIn // its ticket waits in today's queue
		}
		svc, _ := o.Service(a.Service)
		t, err := o.parseStart(start)
		if err != nil {
			return Appointment{}, err
		}
		if t.Equal(a.Start) {
			return a, nil
		}
		now := s.clock.Now()
		snap, err := s.st.readDays(ctx, o.ID, nil)
		if err != nil {
			return Appointment{}, err
		}
		ref, err := s.checkStart(o, svc, t, snap, now)
		if err != nil {
			return Appointment{}, err
		}
		n := a
		n.Start, n.End, n.Date, n.Unit, n.Units, n.Seq, n.Changed = ref.start, ref.end, ref.date, ref.unit, ref.units, a.Seq+1, now
		out := notify.Ref{Kind: notify.KindReschedule, Subject: a.ID, Seq: n.Seq, Extra: unixText(a.Start)}
		switch {
		case rebook:
			n.Status, n.CancelReason = StatusConfirmed, ""
			out = notify.Ref{Kind: notify.KindConfirmation, Subject: a.ID, Seq: n.Seq}
		case a.Status == StatusUnverified:
			out = notify.Ref{Kind: notify.KindVerification, Subject: a.ID, Seq: n.Seq}
		}
		if attempt > 0 && lastRes == "code_taken" {
			n.Code = newCode() // the new day has another appointment with this code
		}
		r := rescheduleArgs{old: a, new: n, closuresVer: snap.closuresVer, seats: ref.seats,
			releaseOld: a.Start.After(now), outbox: out, capExpiry: capExpiry(o, n.Date), releaseAt: s.releaseAt(now)}
		res, err := s.st.reschedule(ctx, now, r)
		if err != nil {
			return Appointment{}, err
		}
		lastRes = res
		switch res {
		case "ok":
			s.log.Info("booking: rescheduled", "office", o.ID, "appointment", a.ID, "by", by)
			return n, nil
		case "slot_taken":
			return Appointment{}, ErrSlotTaken
		case "inactive":
			return Appointment{}, ErrAppointmentInactive
		case "checked_in":
			return Appointment{}, ErrCheckedIn
		}
	}
	return Appointment{}, apperr.Conflict("try_again", "Bitte versuchen Sie es noch einmal.", "Please try again.")
}

// Confirm confirms the e-mail address of an unverified appointment.
func (s *Bookings) Confirm(ctx context.Context, token string) (Appointment, error) {
	for range maxRetries {
		a, _, err := s.Get(ctx, token)
		if err != nil {
			return Appointment{}, err
		}
		switch a.Status {
		case StatusConfirmed:
			return a, nil
		case StatusUnverified:
		default:
			return Appointment{}, ErrAppointmentInactive
		}
		now := s.clock.Now()
		res, err := s.st.confirm(ctx, now, a, notify.Ref{Kind: notify.KindConfirmation, Subject: a.ID, Seq: a.Seq})
		if err != nil {
			return Appointment{}, err
		}
		if res == "ok" || res == "confirmed" {
			c, _, err := s.Get(ctx, token)
			return c, err
		}
		if res == "inactive" {
			return Appointment{}, ErrAppointmentInactive
		}
	}
	return Appointment{}, apperr.Conflict("try_again", "Bitte versuchen Sie es noch einmal.", "Please try again.")
}

// DayList returns an office's appointments of a day, for staff.
func (s *Bookings) DayList(ctx context.Context, officeID string, d Date) ([]Appointment, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, ErrOfficeNotFound
	}
	return s.st.dayAppointments(ctx, o, d)
}

// Sweep gives back the seats of expired holds, of unverified appointments
// that were not confirmed in time and of cancellations whose delayed release
// is due, in every office. Each release is its own
// script that checks the expiry again, so replicas may sweep at once.
func (s *Bookings) Sweep(ctx context.Context) error {
	now := s.clock.Now()
	var errs []error
	for _, o := range s.dir.Offices {
		errs = append(errs, s.SweepOffice(ctx, o.ID, now))
	}
	return errors.Join(errs...)
}

// SweepOffice is Sweep for one office at now; the scheduler runs it every
// minute (see cmd/rathaus/jobs.go).
func (s *Bookings) SweepOffice(ctx context.Context, officeID string, now time.Time) error {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return ErrOfficeNotFound
	}
	return errors.Join(s.sweepHolds(ctx, o, now), s.sweepUnverified(ctx, o, now), s.sweepReleases(ctx, o, now))
}

func (s *Bookings) sweepHolds(ctx context.Context, o *Office, now time.Time) error {
	ids, err := s.st.expiredHolds(ctx, o.ID, now, 500)
	if err != nil {
		return err
	}
	for _, id := range ids {
		d, ok, err := s.st.holdDate(ctx, o.ID, id)
		if err != nil {
			return err
		}
		if !ok {
			d = o.Today(now) // gone already; the script only cleans the index
		}
		if _, err := s.st.releaseHold(ctx, now, o.ID, id, d, false); err != nil {
			return err
		}
	}
	return nil
}

func (s *Bookings) sweepUnverified(ctx context.Context, o *Office, now time.Time) error {
	ids, err := s.st.expiredUnverified(ctx, o.ID, now, 500)
	if err != nil {
		return err
	}
	appts, err := s.st.appointments(ctx, o, ids)
	if err != nil {
		return err
	}
	for _, a := range appts {
		if _, err := s.st.expire(ctx, now, a); err != nil {
			return err
		}
	}
	return nil
}

// ICS returns the appointment's current iCalendar object.
func (s *Bookings) ICS(ctx context.Context, token string) ([]byte, error) {
	a, o, err := s.Get(ctx, token)
	if err != nil {
		return nil, err
	}
	kind, method := notify.KindConfirmation, notify.MethodRequest
	if !a.Active() {
		kind, method = notify.KindCancellation, notify.MethodCancel
	}
	return notify.AppointmentICS(s.message(o, a, kind, s.clock.Now()), method)
}

// ByCode returns the office's appointment with a code as the citizen typed
// it; found is false when there is none.
func (s *Bookings) ByCode(ctx context.Context, officeID, code string) (Appointment, bool, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return Appointment{}, false, ErrOfficeNotFound
	}
	c := NormalizeCode(code)
	if c == "" {
		return Appointment{}, false, nil
	}
	ids, err := s.st.codeIDs(ctx, o, c, s.codeDates(o), true)
	if err != nil || len(ids) == 0 {
		return Appointment{}, false, err
	}
	return s.st.getAppointment(ctx, o, ids[0])
}

// FindByCode returns every appointment of the office with a code as the
// citizen reads it out (on the phone, at the counter), for staff: a code is
// unique within its day, so on different days there may be more than one.
// Today's comes first, then the days ahead, then the days kept behind.
func (s *Bookings) FindByCode(ctx context.Context, officeID, code string) ([]Appointment, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, ErrOfficeNotFound
	}
	c := NormalizeCode(code)
	if c == "" {
		return nil, ErrInvalidCode
	}
	ids, err := s.st.codeIDs(ctx, o, c, s.codeDates(o), false)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return s.st.appointments(ctx, o, ids)
}

// ErrInvalidCode refuses a search for something that cannot be a code.
var ErrInvalidCode = func() *apperr.Error {
	e := apperr.Malformed("invalid_code", "Ein Termincode hat sechs Zeichen, etwa WCA-TEQ.",
		"An appointment code has six characters, such as WCA-TEQ.")
	e.Field = "code"
	return e
}()

// codeDates are the days whose indexes a code is looked up in: today first,
// then the days ahead (someone early by a day), then the days kept behind.
func (s *Bookings) codeDates(o *Office) []Date {
	now := s.clock.Now()
	today := o.Today(now)
	dates := []Date{today}
	for d := today.AddDays(1); !o.LastDate(now).Before(d); d = d.AddDays(1) {
		dates = append(dates, d)
	}
	for i := 1; i <= o.RetentionDays+1; i++ {
		dates = append(dates, today.AddDays(-i))
	}
	return dates
}

// MarkCheckedIn records that the appointment's holder arrived at at; doing
// it again keeps the first arrival.
func (s *Bookings) MarkCheckedIn(ctx context.Context, officeID, id string, at time.Time) error {
	if _, ok := s.dir.Office(officeID); !ok {
		return ErrOfficeNotFound
	}
	return s.st.markCheckedIn(ctx, officeID, id, at)
}
