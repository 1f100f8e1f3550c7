// Package booking owns offices, services, opening hours, closures and public
// holidays, availability, holds and appointments: their rules, their Redis keys
// and Lua scripts, and their HTTP handlers.
package booking

import (
	"slices"
	"time"
)

// Text is a text in German and English.
type Text struct {
	De string `json:"de" yaml:"de"`
	En string `json:"en" yaml:"en"`
}

// In returns the text in lang ("en", else German), falling back to the other.
func (t Text) In(lang string) string {
	if lang == "en" && t.En != "" {
		return t.En
	}
	if t.De == "" {
		return t.En
	}
	return t.De
}

// TextList is a list of texts in German and English.
type TextList struct {
	De []string `json:"de" yaml:"de"`
	En []string `json:"en" yaml:"en"`
}

// In returns the list in lang, falling back to the other language.
func (t TextList) In(lang string) []string {
	if lang == "en" && len(t.En) > 0 {
		return t.En
	}
	if len(t.De) == 0 {
		return t.En
	}
	return t.De
}

// Service is something citizens come for.
type Service struct {
	ID              string
	Name            Text
	DurationMinutes int
	Documents       TextList
	Fee             Text
	// Letter prefixes the service's walk-in ticket numbers (A001).
	Letter string
	// DailyTicketQuota caps the walk-in tickets per day; 0 means no cap.
	DailyTicketQuota int
}

// TimeRange is an opening range of one weekday in office-local minutes after
// midnight, with how many seats (counters × online share) serve bookings.
type TimeRange struct {
	Start, End int // minutes after local midnight; End may be 1440
	Counters   int // counters serving appointments in this range
	Seats      int // of those, bookable online
}

// Office is a citizen office with its services and hours.
type Office struct {
	ID                string
	Name              string
	Timezone          string
	Location          *time.Location
	State             string
	Phone             string
	Email             string
	Address           string
	Counters          []string
	SlotMinutes       int
	LeadMinutes       int
	HorizonDays       int
	HoldMinutes       int
	MaxActivePerEmail int
	ConfirmByEmail    bool
	ConfirmMinutes    int
	// ProofOfWork asks bookings and walk-in tickets for a solved proof-of-work challenge.
	ProofOfWork bool
	// RetentionDays is how long after an appointment its personal data is kept.
	RetentionDays int
	// ReminderLeads are how long before an appointment its reminders go out,
	// longest first (reminder_hours; default one, 24 hours before; none when
	// the office lists none).
	ReminderLeads []time.Duration
	Services      []Service
	// Hours holds the opening ranges per weekday (time.Sunday = 0), sorted.
	Hours [7][]TimeRange
	// OpenDates are public holidays on which the office opens anyway.
	OpenDates []string
}

// Service returns the service with id.
func (o *Office) Service(id string) (Service, bool) {
	i := slices.IndexFunc(o.Services, func(s Service) bool { return s.ID == id })
	if i < 0 {
		return Service{}, false
	}
	return o.Services[i], true
}

// Units returns how many slot units a service of d minutes takes.
func (o *Office) Units(durationMinutes int) int {
	return (durationMinutes + o.SlotMinutes - 1) / o.SlotMinutes
}

// Directory is the set of configured offices, in configuration order.
type Directory struct {
	Offices []*Office
	byID    map[string]*Office
}

// NewDirectory indexes offices by id.
func NewDirectory(offices []*Office) *Directory {
	d := &Directory{Offices: offices, byID: make(map[string]*Office, len(offices))}
	for _, o := range offices {
		d.byID[o.ID] = o
	}
	return d
}

// Office returns the office with id.
func (d *Directory) Office(id string) (*Office, bool) {
	o, ok := d.byID[id]
	return o, ok
}
