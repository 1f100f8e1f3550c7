package queue

import (
	"context"
	"time"
)

// Display is the waiting-room snapshot: latest calls, waiting counts and
// estimates per service, the closure notice. Numbers and counters only.
type Display struct {
	Office       string        `json:"office"`
	Called       []DisplayCall `json:"called"`
	Waiting      int           `json:"waiting"`
	Services     []ServiceWait `json:"services"`
	OpenCounters int           `json:"open_counters"`
	Closure      *Notice       `json:"closure"`
	// LastEventID is where a display's stream continues from this snapshot (Last-Event-ID).
	LastEventID string `json:"last_event_id"`
}

// DisplayCall is one call on the display.
type DisplayCall struct {
	Number   string `json:"number"`
	Counter  string `json:"counter"`
	CalledAt string `json:"called_at"`
}

// ServiceWait is the queue of one service.
type ServiceWait struct {
	Service              string `json:"service"`
	Name                 string `json:"service_name"`
	Letter               string `json:"letter"`
	Waiting              int    `json:"waiting"`
	EstimatedWaitMinutes int    `json:"estimated_wait_minutes"`
}

// Notice is the closure notice shown on the display.
type Notice struct {
	Title   string `json:"title"`
	Message string `json:"message"`
	From    string `json:"from"`
	Until   string `json:"until"`
}

// displayCalls is how many recent calls the snapshot shows.
const displayCalls = 10

// Display returns the office's display snapshot in lang.
func (s *Service) Display(ctx context.Context, officeID, lang string) (*Display, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	st, err := s.st.state(ctx, s.scope(o, now), displayCalls)
	if err != nil {
		return nil, err
	}
	d := &Display{Office: o.ID, Called: []DisplayCall{}, Services: []ServiceWait{}, LastEventID: st.LastEventID}
	if d.LastEventID == "" {
		d.LastEventID = "0-0"
	}
	today := LocalDay(now, o.Location)
	for _, c := range st.Calls {
		at := time.UnixMilli(c.CalledAt).In(o.Location)
		if LocalDay(at, o.Location) != today {
			break // newest first: the rest is from an earlier day
		}
		d.Called = append(d.Called, DisplayCall{Number: c.Number, Counter: c.Counter, CalledAt: at.Format(time.RFC3339)})
	}
	for _, c := range st.Counters {
		if c.Open {
			d.OpenCounters++
		}
	}
	for _, sv := range o.Services {
		n := st.Waiting[sv.ID]
		d.Waiting += n
		d.Services = append(d.Services, ServiceWait{Service: sv.ID, Name: sv.Name.In(lang), Letter: sv.Letter, Waiting: n,
			EstimatedWaitMinutes: EstimateWaitMinutes(n, avgServiceSeconds(o, st, sv.ID), openServing(st.Counters, sv.ID))})
	}
	if s.closures != nil {
		c, err := s.closures.ClosedAt(ctx, o.ID, now)
		if err != nil {
			s.log.Warn("queue: closure check for the display failed", "office", o.ID, "err", err)
		} else if c != nil {
			title, msg := c.in(lang)
			d.Closure = &Notice{Title: title, Message: msg, From: c.From, Until: c.Until}
		}
	}
	return d, nil
}
