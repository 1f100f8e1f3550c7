package booking

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
)

// Bookings is the booking domain's service: availability, holds and appointments.
type Bookings struct {
	dir     *Directory
	st      *redisStore
	clock   clock.Clock
	baseURL string
	log     *slog.Logger
	release releasePolicy
	plans   planCache
	answers answerCache
}

// NewBookings returns the booking service on rdb. baseURL is the public URL
// used in links (without trailing slash).
func NewBookings(dir *Directory, rdb redis.UniversalClient, clk clock.Clock, baseURL string, log *slog.Logger) *Bookings {
	return &Bookings{dir: dir, st: &redisStore{rdb: rdb}, clock: clk, baseURL: baseURL, log: log}
}

// Errors of the booking domain.
var (
	ErrServiceNotFound = apperr.NotFound("service_not_found", "Diese Dienstleistung gibt es in diesem Amt nicht.",
		"This office does not offer that service.")
	ErrSlotTaken = apperr.Conflict("slot_taken", "Dieser Termin ist leider nicht mehr frei. Bitte wählen Sie eine andere Zeit.",
		"This time is no longer available. Please choose another.")
	ErrAppointmentNotFound = apperr.NotFound("appointment_not_found", "Diesen Termin gibt es nicht.", "There is no such appointment.")
	ErrAppointmentInactive = apperr.Conflict("appointment_inactive", "Dieser Termin ist abgesagt oder abgelaufen und kann nicht mehr geändert werden.",
		"This appointment is cancelled or expired and can no longer be changed.")
	ErrHoldNotFound = apperr.NotFound("hold_not_found", "Diese Reservierung gibt es nicht (mehr).", "There is no such hold (any more).")
	ErrHoldMismatch = apperr.Invalid("hold", "hold_mismatch", "Die Reservierung gilt für eine andere Zeit oder Dienstleistung.",
		"The hold is for another time or service.")
	ErrEmailLimit = apperr.RateLimited("too_many_appointments", "Mit dieser E-Mail-Adresse sind bereits so viele Termine gebucht, wie erlaubt sind. Bitte sagen Sie zuerst einen ab.",
		"This e-mail address already has as many appointments as allowed. Please cancel one first.", time.Hour)
	ErrRangeTooLong  = apperr.Invalid("to", "range_too_long", "Der Zeitraum darf höchstens 92 Tage umfassen.", "The range may span at most 92 days.")
	ErrRangeReversed = apperr.Invalid("to", "range_reversed", "Das Ende liegt vor dem Anfang.", "The end is before the start.")
)

// lookup returns the office and service or a 404 error.
func (s *Bookings) lookup(officeID, serviceID string) (*Office, Service, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, Service{}, ErrOfficeNotFound
	}
	svc, ok := o.Service(serviceID)
	if !ok {
		return nil, Service{}, ErrServiceNotFound
	}
	return o, svc, nil
}

// Office returns the office with id.
func (s *Bookings) Office(id string) (*Office, bool) { return s.dir.Office(id) }

// DayStatus values.
const (
	DayOpen   = "open"
	DayFull   = "full"
	DayClosed = "closed"
)

// DayAvailability is one day of an availability answer.
type DayAvailability struct {
	Date      Date
	Status    string
	FreeSlots int
	// Closure shapes the day (nil: none). It is shared with other answers
	// (see planCache): read it, never change it.
	Closure *Closure
	// Starts are the free start times (only filled by Slots).
	Starts []time.Time
}

// Availability returns the days from..to (inclusive) for a service, read in
// one round trip (see answerCache).
func (s *Bookings) Availability(ctx context.Context, officeID, serviceID string, from, to Date) ([]DayAvailability, error) {
	a, _, err := s.availability(ctx, officeID, serviceID, from, to)
	if err != nil {
		return nil, err
	}
	return slices.Clone(a.days), nil
}

// availability returns the answer for from..to, the cached one when it is
// still current, and its cache key.
func (s *Bookings) availability(ctx context.Context, officeID, serviceID string, from, to Date) (*answer, answerKey, error) {
	o, svc, err := s.lookup(officeID, serviceID)
	if err != nil {
		return nil, answerKey{}, err
	}
	if to.Before(from) {
		return nil, answerKey{}, ErrRangeReversed
	}
	if from.DaysUntil(to) > 91 {
		return nil, answerKey{}, ErrRangeTooLong
	}
	now := s.clock.Now()
	q := s.dayQuery(o, svc, now)
	key := answerKey{office: o, service: svc.ID, from: from, to: to}
	prev := s.answers.get(key)
	var known string
	var keys []string
	var read []Date
	if prev != nil && prev.today == q.today && prev.last == q.last {
		keys, read = prev.keys, prev.dates
	} else {
		read = openDates(o, s.bookableDates(o, datesOf(from, to), now))
		keys = availKeys(o.ID, read)
	}
	stable := true
	if prev != nil && prev.fits(q, now) {
		if prev.stable.Load() {
			v, err := s.st.availVersion(ctx, o.ID)
			if err != nil {
				return nil, answerKey{}, err
			}
			if v == prev.version {
				return prev, key, nil
			}
			stable = false
		} else {
			known = prev.version
		}
	}
	r, err := s.st.readAvailability(ctx, o.ID, keys, read, known)
	if err != nil {
		return nil, answerKey{}, err
	}
	if r.unchanged {
		prev.stable.Store(true)
		return prev, key, nil
	}
	if known != "" {
		stable = false
	}
	dates := datesOf(from, to)
	plans := s.plans.plans(o, r.closuresVer, r.closures, dates)
	a := &answer{closuresVer: r.closuresVer, version: r.capVer, today: q.today, last: q.last, bound: q.bound,
		earliest: q.earliest, made: now, keys: keys, dates: read, days: make([]DayAvailability, len(dates))}
	a.stable.Store(stable)
	for i, d := range dates {
		a.days[i] = q.day(plans[i], r.used[d], false)
		if d == q.bound.date && !plans[i].regular {
			a.exact = true
		}
	}
	s.answers.put(key, a)
	return a, key, nil
}

// datesOf lists the dates from..to.
func datesOf(from, to Date) []Date {
	dates := make([]Date, 0, from.DaysUntil(to)+1)
	for d := from; !to.Before(d); d = d.AddDays(1) {
		dates = append(dates, d)
	}
	return dates
}

// bookableDates keeps the dates between today and the horizon: only those
// need a capacity record.
func (s *Bookings) bookableDates(o *Office, dates []Date, now time.Time) []Date {
	today, last := o.Today(now), o.LastDate(now)
	var out []Date
	for _, d := range dates {
		if !d.Before(today) && !last.Before(d) {
			out = append(out, d)
		}
	}
	return out
}

// openDates keeps the dates whose weekday has opening hours with seats:
// closures only take hours away, so the other dates are closed whatever the
// closures say, and their capacity records need not be read.
func openDates(o *Office, dates []Date) []Date {
	out := dates[:0:0]
	for _, d := range dates {
		if slices.ContainsFunc(o.Hours[d.Weekday()], func(r TimeRange) bool { return r.Seats != 0 }) {
			out = append(out, d)
		}
	}
	return out
}

// closuresOf returns the stored closures plus the holidays around d.
func (o *Office) closuresOn(d Date, stored []Closure) []Closure {
	cl := o.HolidayClosures(d, d)
	for _, c := range stored {
		if c.Covers(d) {
			cl = append(cl, c)
		}
	}
	return cl
}

// dayQuery is what the days of one availability answer share: computed
// once per request rather than once per day.
type dayQuery struct {
	o           *Office
	today, last Date
	earliest    time.Time
	bound       startBound
	units       int
}

func (s *Bookings) dayQuery(o *Office, svc Service, now time.Time) dayQuery {
	earliest := o.Earliest(now)
	return dayQuery{o: o, today: o.Today(now), last: o.LastDate(now), earliest: earliest,
		bound: o.boundOf(earliest), units: o.Units(svc.DurationMinutes)}
}

// day computes one day's availability from its plan and capacity record.
func (q dayQuery) day(p *cachedPlan, used Used, withStarts bool) DayAvailability {
	d, o := p.Date, q.o
	da := DayAvailability{Date: d, Closure: p.Closure}
	if len(p.Windows) == 0 {
		da.Status = DayClosed
		return da
	}
	if d.Before(q.today) || q.last.Before(d) {
		da.Status = DayFull
		return da
	}
	if withStarts {
		for _, u := range o.FreeStarts(p.DayPlan, used, q.units, q.earliest) {
			t, _ := o.UnitTime(d, u)
			da.Starts = append(da.Starts, t)
		}
		da.FreeSlots = len(da.Starts)
	} else {
		da.FreeSlots = o.countFree(p.DayPlan, p.regular, p.starts, used, q.units, q.earliest, q.bound)
	}
	da.Status = DayOpen
	if da.FreeSlots == 0 {
		da.Status = DayFull
	}
	return da
}

// Slots returns the free start times of one day.
func (s *Bookings) Slots(ctx context.Context, officeID, serviceID string, d Date) (DayAvailability, error) {
	o, svc, err := s.lookup(officeID, serviceID)
	if err != nil {
		return DayAvailability{}, err
	}
	now := s.clock.Now()
	snap, err := s.st.readDays(ctx, o.ID, s.bookableDates(o, []Date{d}, now))
	if err != nil {
		return DayAvailability{}, err
	}
	p := s.plans.plans(o, snap.closuresVer, snap.closures, []Date{d})[0]
	return s.dayQuery(o, svc, now).day(p, snap.used[d], true), nil
}

// Duration returns a service's length.
func (svc Service) Duration() time.Duration { return time.Duration(svc.DurationMinutes) * time.Minute }
