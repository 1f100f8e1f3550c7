package queue

import (
	"fmt"

	"github.com/rathaus/rathaus/internal/apperr"
)

// Errors of the queue.
var (
	ErrUnknownService = apperr.Invalid("service", "unknown_service",
		"Diese Dienstleistung gibt es in diesem Amt nicht.", "This office does not offer this service.")
	ErrQuotaReached = apperr.Conflict("quota_reached",
		"Für diese Dienstleistung sind heute keine Wartenummern mehr verfügbar.",
		"No more tickets are available for this service today.")
	ErrTicketNotFound = apperr.NotFound("ticket_not_found",
		"Diese Wartenummer gibt es heute nicht.", "There is no such ticket today.")
	ErrTokenNotFound = apperr.NotFound("ticket_not_found",
		"Diese Wartenummer ist unbekannt oder abgelaufen.", "This ticket is unknown or has expired.")
	ErrCounterNotFound = apperr.NotFound("counter_not_found",
		"Diesen Schalter gibt es in diesem Amt nicht.", "This office has no such counter.")
	ErrCounterNotOpen = apperr.Conflict("counter_not_open",
		"Dieser Schalter ist nicht geöffnet.", "This counter is not open.")
	ErrTicketState = apperr.Conflict("ticket_state_changed",
		"Das ist bei dieser Wartenummer in ihrem jetzigen Zustand nicht möglich.",
		"This is not possible for the ticket in its current state.")
	ErrRecallLimit = apperr.Conflict("recall_limit",
		"Diese Wartenummer wurde schon zu oft aufgerufen; sie kann als nicht erschienen markiert werden.",
		"This ticket has been recalled too often; it may be marked as a no-show.")
	ErrUnknownAction = apperr.NotFound("unknown_action",
		"Diese Aktion gibt es nicht.", "There is no such action.")
	ErrAppointmentNotFound = apperr.NotFound("appointment_not_found",
		"Zu diesem Code gibt es in diesem Amt keinen Termin.", "There is no appointment with this code at this office.")
	ErrAppointmentNotActive = apperr.Conflict("appointment_not_active",
		"Dieser Termin ist nicht (mehr) gültig.", "This appointment is not (or no longer) valid.")
	ErrCheckinWrongDay = apperr.Conflict("checkin_wrong_day",
		"Dieser Termin ist nicht heute.", "This appointment is not today.")
	ErrCheckinTooEarly = apperr.Conflict("checkin_too_early",
		"Sie sind zu früh. Bitte melden Sie sich frühestens eine Stunde vor Ihrem Termin an.",
		"You are too early. Please check in at most one hour before your appointment.")
	ErrCheckinTooLate = apperr.Conflict("checkin_too_late",
		"Ihr Termin ist verstrichen. Bitte ziehen Sie eine Wartenummer oder buchen Sie einen neuen Termin.",
		"Your appointment has passed. Please draw a ticket or book a new appointment.")
	ErrBadRange = apperr.Invalid("from", "invalid_range",
		"Der Zeitraum ist ungültig (from und to als JJJJ-MM-TT, höchstens 366 Tage).",
		"The range is invalid (from and to as YYYY-MM-DD, at most 366 days).")
)

// errNotOpen is the 409 for a ticket outside opening hours, with the reason.
func errNotOpen(reasonDe, reasonEn string) error {
	e := apperr.Conflict("office_not_open",
		"Das Amt ist gerade nicht geöffnet: "+reasonDe, "The office is not open right now: "+reasonEn)
	e.Details = map[string]any{"reason": reasonEn}
	return e
}

// errClosed is the 409 for a ticket during a closure, with the closure's message.
func errClosed(c *Closure) error {
	text := func(lang string) string {
		title, msg := c.in(lang)
		return cmpOr(msg, title)
	}
	e := apperr.Conflict("office_closed",
		fmt.Sprintf("Das Amt ist geschlossen: %s", text("de")), fmt.Sprintf("The office is closed: %s", text("en")))
	e.Details = map[string]any{"closure": map[string]any{"id": c.ID, "from": c.From, "until": c.Until,
		"title": c.Title, "message": c.Message}}
	return e
}
