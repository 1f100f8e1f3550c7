package main

import (
	"context"
	"time"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/queue"
)

// bookingForQueue lets the queue ask booking about closures and appointment
// codes; it lives here because queue defines the interfaces and booking must
// not import queue.
type bookingForQueue struct{ b *booking.Bookings }

// ClosedAt implements queue.ClosureChecker.
func (x bookingForQueue) ClosedAt(ctx context.Context, officeID string, t time.Time) (*queue.Closure, error) {
	c, err := x.b.ClosureAt(ctx, officeID, t)
	if err != nil || c == nil {
		return nil, err
	}
	return &queue.Closure{ID: c.ID, From: c.From.String(), Until: c.Until.String(), Title: c.Title.De, TitleEn: c.Title.En,
		Message: c.Message.De, MessageEn: c.Message.En}, nil
}

// ForCheckin implements queue.Appointments.
func (x bookingForQueue) ForCheckin(ctx context.Context, officeID, code string) (queue.CheckinAppointment, bool, error) {
	a, ok, err := x.b.ByCode(ctx, officeID, code)
	if err != nil || !ok {
		return queue.CheckinAppointment{}, false, err
	}
	status := a.Status
	if status == booking.StatusConfirmed && !a.CheckedIn.IsZero() {
		status = "checked_in"
	}
	return queue.CheckinAppointment{ID: a.ID, Code: a.Code, Service: a.Service, Start: a.Start, End: a.End, Status: status}, true, nil
}

// MarkCheckedIn implements queue.Appointments.
func (x bookingForQueue) MarkCheckedIn(ctx context.Context, officeID, appointmentID string, at time.Time) error {
	return x.b.MarkCheckedIn(ctx, officeID, appointmentID, at)
}
