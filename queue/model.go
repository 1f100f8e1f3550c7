package queue

import (
	"context"
	"time"
)

// Ticket statuses.
const (
	StatusWaiting  = "waiting"
	StatusCalled   = "called"
	StatusParked   = "parked"
	StatusFinished = "finished"
	StatusNoShow   = "no_show"
)

// Ticket kinds.
const (
	KindWalkIn      = "walkin"
	KindAppointment = "appointment"
)

// Ticket is a ticket as stored (one JSON value per ticket in the day's hash).
// It holds no personal data: the appointment is referenced by its id only.
type Ticket struct {
	Number  string `json:"number"`
	Service string `json:"service"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	// Arrival orders walk-ins (a daily sequence across all services).
	Arrival int64 `json:"arrival"`
	// Due is the appointment start (Unix ms); appointments are called from then on.
	Due int64 `json:"due,omitempty"`
	// Issued, Called (first call), LastCall and Finished are Unix ms.
	Issued   int64  `json:"issued"`
	Called   int64  `json:"called,omitempty"`
	LastCall int64  `json:"last_call,omitempty"`
	Finished int64  `json:"finished,omitempty"`
	Counter  string `json:"counter,omitempty"`
	Recalls  int    `json:"recalls,omitempty"`
	// Appointment is the id of the checked-in appointment.
	Appointment string `json:"appointment,omitempty"`
	// History records every change: what, who (staff user name or "kiosk") and when.
	History []Change `json:"history"`
}

// Change is one entry of a ticket's history.
type Change struct {
	Action  string `json:"action"`
	By      string `json:"by"`
	At      int64  `json:"at"`
	Counter string `json:"counter,omitempty"`
}

// Counter is a counter's state as stored.
type Counter struct {
	ID       string   `json:"id"`
	Open     bool     `json:"open"`
	Services []string `json:"services"`
	Current  string   `json:"current,omitempty"`
	By       string   `json:"by,omitempty"`
	Since    int64    `json:"since,omitempty"`
}

// Closure is what the booking package tells about a closure in force.
type Closure struct {
	ID    string
	From  string // YYYY-MM-DD, inclusive
	Until string // YYYY-MM-DD, inclusive
	// Title and Message are German; TitleEn and MessageEn English (optional:
	// empty means the German text is shown to English readers too).
	Title, TitleEn     string
	Message, MessageEn string
}

// in returns the closure's title and message in lang.
func (c *Closure) in(lang string) (title, message string) {
	title, message = c.Title, c.Message
	if lang == "en" {
		title, message = cmpOr(c.TitleEn, title), cmpOr(c.MessageEn, message)
	}
	return title, message
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ClosureChecker tells whether an office is closed at a moment. The booking
// package implements it; with none configured the queue checks no closures.
type ClosureChecker interface {
	// ClosedAt returns the closure in force at t, or nil when there is none.
	ClosedAt(ctx context.Context, officeID string, t time.Time) (*Closure, error)
}

// CheckinAppointment is the part of an appointment that check-in needs.
type CheckinAppointment struct {
	ID      string
	Code    string
	Service string
	Start   time.Time
	End     time.Time
	// Status is booking's status: "confirmed" and "checked_in" may check in.
	Status string
}

// Appointments is what check-in needs from the booking package.
type Appointments interface {
	// ForCheckin returns the office's appointment with code; found is false
	// when there is none (an error is only for a failing store).
	ForCheckin(ctx context.Context, officeID, code string) (appt CheckinAppointment, found bool, err error)
	// MarkCheckedIn records that the appointment arrived at at. Calling it
	// again for the same appointment must be harmless.
	MarkCheckedIn(ctx context.Context, officeID, appointmentID string, at time.Time) error
}

// LatePolicy says what happens to an appointment checked in after its grace period.
type LatePolicy string

// Late policies.
const (
	// LateWalkIn queues a late arrival as a walk-in (by arrival order).
	LateWalkIn LatePolicy = "walkin"
	// LateRefuse refuses the check-in with a message.
	LateRefuse LatePolicy = "refuse"
)

// Options tune the queue; the zero value of a field means its default.
type Options struct {
	// MaxRecalls is how often a called ticket may be recalled (default 3).
	MaxRecalls int
	// CheckinEarly is how long before its start an appointment may check in (default 60 min).
	CheckinEarly time.Duration
	// Grace is how late after its start an appointment still counts as on time (default 10 min).
	Grace time.Duration
	// Late is what happens after the grace period (default LateWalkIn).
	Late LatePolicy
	// Heartbeat is the interval of SSE comment lines (default 15 s).
	Heartbeat time.Duration
	// Alpha is the weight of a new observation in the service-time moving average (default 0.2).
	Alpha float64
	// TicketRetention is how long a day's tickets are kept for statistics (default 400 days).
	TicketRetention time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxRecalls <= 0 {
		o.MaxRecalls = 3
	}
	if o.CheckinEarly <= 0 {
		o.CheckinEarly = 60 * time.Minute
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Minute
	}
	if o.Late == "" {
		o.Late = LateWalkIn
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Alpha <= 0 || o.Alpha > 1 {
		o.Alpha = 0.2
	}
	if o.TicketRetention <= 0 {
		o.TicketRetention = 400 * 24 * time.Hour
	}
	return o
}

// Ticket actions of staff, as in POST …/tickets/{ticket}/{action}.
const (
	ActionRecall   = "recall"
	ActionNoShow   = "no-show"
	ActionFinish   = "finish"
	ActionTransfer = "transfer"
	ActionPark     = "park"
	ActionUnpark   = "unpark"
)
