package queue

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/store"
)

// Config is what the queue service is built from.
type Config struct {
	Offices *booking.Directory
	Store   *store.Store
	Clock   clock.Clock
	Log     *slog.Logger
	// BaseURL is the public URL; ticket status URLs start with it.
	BaseURL string
	// Closures may be nil: then no closure is checked.
	Closures ClosureChecker
	// Appointments may be nil: then check-in is refused as unavailable.
	Appointments Appointments
	Options      Options
}

// Service is the walk-in queue of every office.
type Service struct {
	dir      *booking.Directory
	st       *redisStore
	hub      *Hub
	clock    clock.Clock
	log      *slog.Logger
	baseURL  string
	closures ClosureChecker
	appts    Appointments
	opts     Options
	metrics  *metrics
	shared   *sharedStates
}

// New returns the queue service. Close it to stop its event readers.
func New(cfg Config) *Service {
	opts := cfg.Options.withDefaults()
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	st := newRedisStore(cfg.Store, opts.Alpha)
	return &Service{dir: cfg.Offices, st: st, hub: newHub(st, log), clock: clk, log: log,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), closures: cfg.Closures, appts: cfg.Appointments, opts: opts,
		metrics: newMetrics(), shared: newSharedStates()}
}

// Close stops the event readers and ends every live stream.
func (s *Service) Close() { s.hub.Close() }

// Hub returns the service's event hub.
func (s *Service) Hub() *Hub { return s.hub }

// ErrOfficeNotFound is booking's error for an unknown office.
var ErrOfficeNotFound = booking.ErrOfficeNotFound

func (s *Service) office(id string) (*booking.Office, error) {
	o, ok := s.dir.Office(id)
	if !ok {
		return nil, ErrOfficeNotFound
	}
	return o, nil
}

func (s *Service) scope(o *booking.Office, now time.Time) scope {
	return scopeAt(o, LocalDay(now, o.Location))
}

func scopeAt(o *booking.Office, day string) scope {
	svcs := make([]string, len(o.Services))
	for i, sv := range o.Services {
		svcs[i] = sv.ID
	}
	return scope{office: o.ID, day: day, services: svcs}
}

// TicketView is a ticket as its holder and the kiosk see it: number, service,
// status, position and estimate — nothing that could carry a name.
type TicketView struct {
	Number               string `json:"number"`
	Service              string `json:"service"`
	Status               string `json:"status"`
	Position             int    `json:"position"`
	EstimatedWaitMinutes int    `json:"estimated_wait_minutes"`
	Counter              string `json:"counter,omitempty"`
	AppointmentAt        string `json:"appointment_at,omitempty"`
}

// Issued is a freshly drawn (or checked-in) ticket with its secret token and
// the address of the status page (/t/{token}) that the kiosk shows as a QR code.
type Issued struct {
	Ticket    TicketView `json:"ticket"`
	Token     string     `json:"token"`
	StatusURL string     `json:"status_url"`
	// Existing is true when a repeated check-in returned the appointment's ticket.
	Existing bool `json:"-"`
}

// Draw draws a walk-in ticket for service at office.
func (s *Service) Draw(ctx context.Context, officeID, serviceID string) (*Issued, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	svc, ok := o.Service(serviceID)
	if !ok {
		return nil, ErrUnknownService
	}
	now := s.clock.Now()
	if open, de, en := OpenAt(o, now); !open {
		return nil, errNotOpen(de, en)
	}
	if err := s.checkClosure(ctx, o, now); err != nil {
		return nil, err
	}
	return s.issue(ctx, o, now, issueRequest{Service: svc.ID, Letter: svc.Letter, Quota: svc.DailyTicketQuota,
		By: "kiosk", Kind: KindWalkIn})
}

func (s *Service) checkClosure(ctx context.Context, o *booking.Office, now time.Time) error {
	if s.closures == nil {
		return nil
	}
	c, err := s.closures.ClosedAt(ctx, o.ID, now)
	if err != nil {
		return fmt.Errorf("queue.closure: %w", err)
	}
	if c != nil {
		return errClosed(c)
	}
	return nil
}

func (s *Service) issue(ctx context.Context, o *booking.Office, now time.Time, r issueRequest) (*Issued, error) {
	sc := s.scope(o, now)
	token, hash := newToken(o.ID, sc.day)
	r.TokenHash = hash
	code, t, err := s.st.issue(ctx, sc, now, r, s.opts.TicketRetention)
	if err != nil {
		return nil, err
	}
	if code == -1 {
		e := *ErrQuotaReached
		e.Details = map[string]any{"service": r.Service, "quota": r.Quota}
		return nil, &e
	}
	if code != 2 { // 2: the ticket this appointment already has
		kind := "walk_in"
		if r.Kind == KindAppointment {
			kind = "appointment"
		}
		s.metrics.issued.WithLabelValues(o.ID, kind).Inc()
	}
	view, err := s.view(ctx, o, t, now)
	if err != nil {
		return nil, err
	}
	return &Issued{Ticket: *view, Token: token, StatusURL: s.baseURL + "/t/" + token, Existing: code == 2}, nil
}

// CheckIn makes the ticket of the office's appointment with code: called at
// its start ahead of walk-ins; a late arrival follows Options.Late.
func (s *Service) CheckIn(ctx context.Context, officeID, code string) (*Issued, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	if s.appts == nil {
		return nil, ErrCheckinUnavailable
	}
	a, found, err := s.appts.ForCheckin(ctx, o.ID, strings.TrimSpace(code))
	if err != nil {
		return nil, fmt.Errorf("queue.CheckIn: %w", err)
	}
	if !found {
		return nil, ErrAppointmentNotFound
	}
	svc, ok := o.Service(a.Service)
	if !ok || (a.Status != "confirmed" && a.Status != "checked_in") {
		return nil, ErrAppointmentNotActive
	}
	now := s.clock.Now()
	r := issueRequest{Service: svc.ID, Letter: svc.Letter, By: "checkin", Kind: KindAppointment,
		Due: a.Start, AppointmentID: a.ID}
	switch CheckinTiming(now, a.Start, o.Location, s.opts.CheckinEarly, s.opts.Grace) {
	case CheckinWrongDay:
		return nil, ErrCheckinWrongDay
	case CheckinEarly:
		return nil, ErrCheckinTooEarly
	case CheckinLate:
		if s.opts.Late == LateRefuse {
			return nil, ErrCheckinTooLate
		}
		r.Kind, r.Due = KindWalkIn, time.Time{}
	}
	iss, err := s.issue(ctx, o, now, r)
	if err != nil {
		return nil, err
	}
	if err := s.appts.MarkCheckedIn(ctx, o.ID, a.ID, now); err != nil {
		return nil, fmt.Errorf("queue.CheckIn: mark checked in: %w", err)
	}
	return iss, nil
}

// ErrCheckinUnavailable is returned while no appointment source is wired.
var ErrCheckinUnavailable = apperr.Conflict("checkin_unavailable",
	"Die Anmeldung mit Termin ist hier gerade nicht möglich.", "Checking in with an appointment is not available here right now.")

// Status returns the ticket of a token.
func (s *Service) Status(ctx context.Context, token string) (*TicketView, string, error) {
	return s.StatusAfter(ctx, token, "", "")
}

// StatusAfter is Status for a ticket stream that has just seen the office's
// event after: the office-wide part of the view (counters, service times) comes
// from one read shared by every stream of this process that saw the same
// event; the ticket and its rank are read for this ticket alone. number, when
// not "", is the ticket's number from an earlier status of the same token (it
// never changes), which saves looking it up. after "" reads everything anew.
func (s *Service) StatusAfter(ctx context.Context, token, number, after string) (*TicketView, string, error) {
	officeID, day, hash, ok := parseToken(token)
	if !ok {
		return nil, "", ErrTokenNotFound
	}
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, "", ErrTokenNotFound
	}
	var t *Ticket
	var err error
	if number != "" {
		t, err = s.st.ticket(ctx, o.ID, day, number)
	} else {
		t, err = s.st.ticketByToken(ctx, o.ID, day, hash)
	}
	if err != nil {
		return nil, "", err
	}
	v, err := s.viewAfter(ctx, o, t, s.clock.Now(), after)
	return v, o.ID, err
}

// view computes a ticket's public view: position and estimate when waiting.
func (s *Service) view(ctx context.Context, o *booking.Office, t *Ticket, now time.Time) (*TicketView, error) {
	return s.viewAfter(ctx, o, t, now, "")
}

// viewAfter is view with the office's state shared among the streams that saw
// event after (see sharedStates); after "" reads it for this view alone.
func (s *Service) viewAfter(ctx context.Context, o *booking.Office, t *Ticket, now time.Time, after string) (*TicketView, error) {
	v := &TicketView{Number: t.Number, Service: t.Service, Status: t.Status}
	if t.Status == StatusCalled {
		v.Counter = t.Counter
	}
	if t.Kind == KindAppointment && t.Due > 0 {
		v.AppointmentAt = time.UnixMilli(t.Due).In(o.Location).Format(time.RFC3339)
	}
	if t.Status != StatusWaiting {
		return v, nil
	}
	day := LocalDay(time.UnixMilli(t.Issued), o.Location)
	ahead, err := s.st.ahead(ctx, o.ID, day, t, now)
	if err != nil {
		return nil, err
	}
	var st *queueState
	if after == "" {
		st, err = s.st.estimateInputs(ctx, o.ID)
	} else {
		st, err = s.shared.get(ctx, o.ID, after, func(ctx context.Context) (*queueState, error) { return s.st.estimateInputs(ctx, o.ID) })
	}
	if err != nil {
		return nil, err
	}
	v.Position = ahead + 1
	v.EstimatedWaitMinutes = EstimateWaitMinutes(ahead, avgServiceSeconds(o, st, t.Service), openServing(st.Counters, t.Service))
	if t.Kind == KindAppointment && t.Due > now.UnixMilli() {
		v.EstimatedWaitMinutes = max(v.EstimatedWaitMinutes, int((t.Due-now.UnixMilli()+59_999)/60_000))
	}
	return v, nil
}

// avgServiceSeconds is the observed moving average, else the service's planned duration.
func avgServiceSeconds(o *booking.Office, st *queueState, service string) float64 {
	if avg := st.ServiceTimes[service]; avg > 0 {
		return avg
	}
	if svc, ok := o.Service(service); ok {
		return float64(svc.DurationMinutes * 60)
	}
	return 600
}

// openServing counts the open counters that serve service.
func openServing(counters []Counter, service string) int {
	n := 0
	for _, c := range counters {
		if c.Open && slices.Contains(c.Services, service) {
			n++
		}
	}
	return n
}
