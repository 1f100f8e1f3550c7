package main

import (
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
)

// TestCheckinAndClosureAcrossDomains walks the seams between booking and the
// queue through the whole server: a booked appointment checks in with its
// code, and a published closure stops walk-in tickets.
func TestCheckinAndClosureAcrossDomains(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 12, 0, 0, 0, berlin))
	s := startTestServerWith(t, testConfig(t, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123"), Options{Clock: clk})
	api := s.API

	var booked struct {
		Appointment struct{ Code string }
	}
	api.Post(t, "/api/v1/offices/geesthacht/appointments", map[string]any{"service": "ummeldung",
		"start": "2026-12-01T09:00:00+01:00", "name": "Anna Muster", "email": "anna@example.org"}).Want(t, 201).Decode(t, &booked)

	clk.Set(time.Date(2026, 12, 1, 8, 30, 0, 0, berlin))
	var ticket struct {
		Ticket struct{ Number, Service string }
	}
	api.Post(t, "/api/v1/offices/geesthacht/checkins", map[string]any{"code": booked.Appointment.Code}).Want(t, 201).Decode(t, &ticket)
	if ticket.Ticket.Service != "ummeldung" || ticket.Ticket.Number == "" {
		t.Fatalf("check-in ticket = %+v", ticket)
	}
	api.Post(t, "/api/v1/offices/geesthacht/checkins", map[string]any{"code": "AAA-AAA"}).Want(t, 404)

	var login struct{ Token string }
	api.Post(t, "/api/v1/auth/login", map[string]any{"username": "admin", "password": "admin-passwort-123"}).Want(t, 200).Decode(t, &login)
	api.WithBearer(login.Token).Post(t, "/api/v1/admin/offices/geesthacht/closures", map[string]any{
		"from": "2026-12-02", "until": "2026-12-02", "title": "Betriebsausflug", "message": "Morgen wieder für Sie da."}).Want(t, 201)
	clk.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, berlin))
	api.Post(t, "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}).WantError(t, 409, "office_closed")
	var display struct {
		Closure *struct{ Title string } `json:"closure"`
	}
	api.Get(t, "/api/v1/offices/geesthacht/display").Want(t, 200).Decode(t, &display)
	if display.Closure == nil || display.Closure.Title != "Betriebsausflug" {
		t.Fatalf("display closure = %+v", display.Closure)
	}
}
