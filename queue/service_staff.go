package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/rathaus/rathaus/booking"
)

// StaffTicket is a ticket as staff see it: with its kind, recalls and the
// history of who changed it when (staff user names, never a citizen's name).
type StaffTicket struct {
	TicketView
	Kind    string   `json:"kind"`
	Recalls int      `json:"recalls"`
	History []Change `json:"history"`
}

func staffView(o *booking.Office, t *Ticket) *StaffTicket {
	v := TicketView{Number: t.Number, Service: t.Service, Status: t.Status, Counter: t.Counter}
	if t.Kind == KindAppointment && t.Due > 0 {
		v.AppointmentAt = time.UnixMilli(t.Due).In(o.Location).Format(time.RFC3339)
	}
	return &StaffTicket{TicketView: v, Kind: t.Kind, Recalls: t.Recalls, History: t.History}
}

func (s *Service) counter(o *booking.Office, id string) error {
	if !slices.Contains(o.Counters, id) {
		return ErrCounterNotFound
	}
	return nil
}

// OpenCounter opens counter for services (none: every service of the office).
func (s *Service) OpenCounter(ctx context.Context, officeID, counterID string, services []string, by string) (*Counter, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	if err := s.counter(o, counterID); err != nil {
		return nil, err
	}
	if len(services) == 0 {
		for _, sv := range o.Services {
			services = append(services, sv.ID)
		}
	}
	for _, id := range services {
		if _, ok := o.Service(id); !ok {
			e := *ErrUnknownService
			e.Field = "services"
			return nil, &e
		}
	}
	services = slices.Compact(slices.Sorted(slices.Values(services)))
	now := s.clock.Now()
	if err := s.st.openCounter(ctx, s.scope(o, now), now, counterID, services, by); err != nil {
		return nil, err
	}
	return s.findCounter(ctx, o, counterID)
}

// CloseCounter closes counter.
func (s *Service) CloseCounter(ctx context.Context, officeID, counterID, by string) (*Counter, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	if err := s.counter(o, counterID); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if err := s.st.closeCounter(ctx, s.scope(o, now), now, counterID, by); err != nil {
		return nil, err
	}
	return s.findCounter(ctx, o, counterID)
}

func (s *Service) findCounter(ctx context.Context, o *booking.Office, id string) (*Counter, error) {
	all, err := s.Counters(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.ID == id {
			return &c, nil
		}
	}
	return &Counter{ID: id, Services: []string{}}, nil
}

// Counters lists every configured counter of the office with its state.
func (s *Service) Counters(ctx context.Context, officeID string) ([]Counter, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	stored, err := s.st.counters(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Counter, 0, len(o.Counters))
	for _, id := range o.Counters {
		c := Counter{ID: id, Services: []string{}}
		if i := slices.IndexFunc(stored, func(c Counter) bool { return c.ID == id }); i >= 0 {
			c = stored[i]
		}
		out = append(out, c)
	}
	return out, nil
}

// CallNext calls the next ticket to counter; ok is false when nobody waits.
func (s *Service) CallNext(ctx context.Context, officeID, counterID, by string) (t *StaffTicket, ok bool, err error) {
	t, ok, _, err = s.CallNextOnce(ctx, officeID, counterID, by, "")
	return t, ok, err
}

// CallNextOnce is CallNext for a request that may be a retry: key (the
// request's Idempotency-Key; "" for none) marks the call. When the counter's
// current ticket was called with the same key and is still called there, the
// first answer was lost: nothing changes, and that ticket is returned with
// replayed set — a call without the key would finish it, unseen by the clerk.
func (s *Service) CallNextOnce(ctx context.Context, officeID, counterID, by, key string) (t *StaffTicket, ok, replayed bool, err error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, false, false, err
	}
	if err := s.counter(o, counterID); err != nil {
		return nil, false, false, err
	}
	if key != "" {
		sum := sha256.Sum256([]byte(key))
		key = hex.EncodeToString(sum[:16])
	}
	now := s.clock.Now()
	code, tk, err := s.st.callNext(ctx, s.scope(o, now), now, counterID, by, key)
	switch {
	case err != nil:
		return nil, false, false, err
	case code == -1:
		return nil, false, false, ErrCounterNotOpen
	case code == 0:
		return nil, false, false, nil
	case code == 2:
		return staffView(o, tk), true, true, nil
	}
	s.metrics.acted.WithLabelValues(o.ID, "call_next").Inc()
	return staffView(o, tk), true, false, nil
}

// Act applies a staff action to today's ticket number; service is the target of a transfer.
func (s *Service) Act(ctx context.Context, officeID, number, action, service, by string) (*StaffTicket, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	if _, ok := actionCmds[action]; !ok {
		return nil, ErrUnknownAction
	}
	var arg any = ""
	switch action {
	case ActionTransfer:
		if _, ok := o.Service(service); !ok {
			return nil, ErrUnknownService
		}
		arg = service
	case ActionRecall:
		arg = s.opts.MaxRecalls
	}
	now := s.clock.Now()
	code, t, err := s.st.action(ctx, action, s.scope(o, now), now, number, by, arg)
	switch {
	case err != nil:
		return nil, err
	case code == -4:
		return nil, ErrTicketNotFound
	case code == -3:
		return nil, ErrRecallLimit
	case code < 0:
		return nil, ErrTicketState
	}
	s.metrics.acted.WithLabelValues(o.ID, actionLabel(action)).Inc()
	return staffView(o, t), nil
}

// Ticket returns today's ticket number as staff see it.
func (s *Service) Ticket(ctx context.Context, officeID, number string) (*StaffTicket, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	t, err := s.st.ticket(ctx, o.ID, LocalDay(s.clock.Now(), o.Location), number)
	if err != nil {
		return nil, err
	}
	return staffView(o, t), nil
}

// Tickets lists today's tickets of the office as staff see them, in arrival
// order; status filters when not empty.
func (s *Service) Tickets(ctx context.Context, officeID, status string) ([]StaffTicket, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	all, err := s.st.tickets(ctx, o.ID, LocalDay(s.clock.Now(), o.Location))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b Ticket) int { return int(a.Arrival - b.Arrival) })
	out := []StaffTicket{}
	for i := range all {
		if status == "" || all[i].Status == status {
			out = append(out, *staffView(o, &all[i]))
		}
	}
	return out, nil
}
