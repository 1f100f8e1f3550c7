package booking

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// closureRecord is a closure as stored in Redis (JSON in the closures hash).
type closureRecord struct {
	ID          string    `json:"id"`
	From        string    `json:"from"`
	Until       string    `json:"until"`
	StartMin    int       `json:"start_min,omitempty"`
	EndMin      int       `json:"end_min,omitempty"`
	Title       Text      `json:"title"`
	Message     Text      `json:"message"`
	Phone       string    `json:"phone,omitempty"`
	Email       string    `json:"email,omitempty"`
	ComeBy      string    `json:"come_by,omitempty"`
	PublishedBy string    `json:"published_by,omitempty"`
	PublishedAt time.Time `json:"published_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Sequence    int       `json:"sequence"`
	Cancelled   bool      `json:"cancelled,omitempty"`
}

func (c Closure) record() closureRecord {
	return closureRecord{ID: c.ID, From: c.From.String(), Until: c.Until.String(), StartMin: c.StartMin, EndMin: c.EndMin,
		Title: c.Title, Message: c.Message, Phone: c.Phone, Email: c.Email, ComeBy: c.ComeBy,
		PublishedBy: c.PublishedBy, PublishedAt: c.PublishedAt, UpdatedAt: c.UpdatedAt, Sequence: c.Sequence,
		Cancelled: c.Cancelled}
}

func (r closureRecord) closure() (Closure, error) {
	from, err1 := ParseDate(r.From)
	until, err2 := ParseDate(r.Until)
	if err1 != nil || err2 != nil {
		return Closure{}, fmt.Errorf("booking: closure %s has malformed dates", r.ID)
	}
	return Closure{ID: r.ID, From: from, Until: until, StartMin: r.StartMin, EndMin: r.EndMin, Title: r.Title,
		Message: r.Message, Phone: r.Phone, Email: r.Email, ComeBy: r.ComeBy, PublishedBy: r.PublishedBy,
		PublishedAt: r.PublishedAt, UpdatedAt: r.UpdatedAt, Sequence: r.Sequence, Cancelled: r.Cancelled}, nil
}

// active leaves out cancelled closures.
func active(all []Closure) []Closure {
	out := make([]Closure, 0, len(all))
	for _, c := range all {
		if !c.Cancelled {
			out = append(out, c)
		}
	}
	return out
}

// decodeClosures decodes the closures hash (cancelled ones included), sorted by
// start, then publication, then id: a total order, so that every server
// reports the same closure on a day that two closures starting together cover
// (the hash comes back in no particular order).
func decodeClosures(m map[string]string) ([]Closure, error) {
	out := make([]Closure, 0, len(m))
	for _, v := range m {
		var r closureRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("booking.decodeClosures: %w", err)
		}
		c, err := r.closure()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Closure) int {
		if c := a.From.Compare(b.From); c != 0 {
			return c
		}
		if c := a.StartMin - b.StartMin; c != 0 {
			return c
		}
		if c := a.PublishedAt.Compare(b.PublishedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
