package booking

import "time"

// Closure is a period in which an office does not serve: a range of whole
// office-local days, or part of one day. Public holidays are closures too
// (Holiday set, no ID).
type Closure struct {
	ID    string `json:"id"`
	From  Date   `json:"-"`
	Until Date   `json:"-"`
	// StartMin and EndMin bound a partial-day closure (From == Until) in
	// office-local minutes after midnight; both zero means whole days.
	StartMin, EndMin int
	Title            Text
	Message          Text
	Phone            string
	Email            string
	ComeBy           string // YYYY-MM-DD or empty
	PublishedBy      string
	PublishedAt      time.Time
	UpdatedAt        time.Time
	Sequence         int
	Holiday          bool
	// Cancelled closures stay stored so that calendar feeds can tell
	// subscribers (STATUS:CANCELLED); nothing else sees them.
	Cancelled bool
}

// Partial reports whether the closure covers only part of a day.
func (c *Closure) Partial() bool { return c.StartMin != 0 || c.EndMin != 0 }

// Covers reports whether the closure touches date d.
func (c *Closure) Covers(d Date) bool { return !d.Before(c.From) && !c.Until.Before(d) }

// UnitsOn returns the units [from, to) the closure blocks on d.
func (c *Closure) UnitsOn(o *Office, d Date) (from, to Unit, ok bool) {
	if !c.Covers(d) {
		return 0, 0, false
	}
	if !c.Partial() {
		return 0, Unit(1440 / o.SlotMinutes), true
	}
	return Unit(c.StartMin / o.SlotMinutes), Unit((c.EndMin + o.SlotMinutes - 1) / o.SlotMinutes), true
}
