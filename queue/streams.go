package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rathaus/rathaus/internal/apperr"
)

// backlogPage is how many events one XRANGE of a resuming stream reads.
const backlogPage = 500

// EventsAfter returns the office's events after the stream id after, oldest
// first, all of them (page by page): what a display missed while away.
func (s *Service) EventsAfter(ctx context.Context, officeID, after string) ([]Event, error) {
	evs, _, err := s.eventsAfter(ctx, officeID, after)
	return evs, err
}

// eventsAfter is EventsAfter that also reports a gap: the stream was trimmed
// (MAXLEN) past the id after, so events may be lost and the display must
// reload its snapshot.
func (s *Service) eventsAfter(ctx context.Context, officeID, after string) ([]Event, bool, error) {
	first, err := s.st.firstEventID(ctx, officeID)
	if err != nil {
		return nil, false, err
	}
	gap := first != "" && after != "0-0" && eventAfter(first, after)
	var out []Event
	for {
		evs, err := s.st.rangeEvents(ctx, officeID, after, backlogPage)
		if err != nil {
			return nil, false, err
		}
		out = append(out, evs...)
		if len(evs) < backlogPage {
			return out, gap, nil
		}
		after = evs[len(evs)-1].ID
	}
}

// subscribeWait is how long a new stream waits for the office's reader to
// start (the store may be down); then it fails with 503 and the client retries.
const subscribeWait = 5 * time.Second

// SubscribeOffice subscribes to the office's events in this process.
func (s *Service) SubscribeOffice(ctx context.Context, officeID string) (*Subscription, error) {
	if _, err := s.office(officeID); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, subscribeWait)
	defer cancel()
	sub, err := s.hub.Subscribe(wctx, officeID)
	if err != nil && ctx.Err() == nil && !errors.Is(err, errHubClosed) {
		return nil, apperr.Unavailable(fmt.Errorf("queue.SubscribeOffice: %w", err))
	}
	return sub, err
}

// Heartbeat is the interval of SSE heartbeats.
func (s *Service) Heartbeat() time.Duration { return s.opts.Heartbeat }

// DisplayEvent maps a stream event to what a display receives: the SSE event
// name and its data. Calls and recalls are both "called" {"number","counter"}.
func DisplayEvent(ev Event) (name, data string) {
	switch ev.Type {
	case "called", "recalled":
		return "called", ev.Data
	}
	return ev.Type, ev.Data
}

// displayFrame returns ev as one SSE frame for a display ("id", "event" and
// "data" lines): the frame the hub made when it has one, else a new one.
func displayFrame(ev *Event) []byte {
	if ev.frame != nil {
		return ev.frame
	}
	name, data := DisplayEvent(*ev)
	b := make([]byte, 0, len(ev.ID)+len(name)+len(data)+22)
	b = append(b, "id: "...)
	b = append(b, ev.ID...)
	b = append(b, "\nevent: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// ValidEventID reports whether id is a stream id ("ms-seq").
func ValidEventID(id string) bool {
	_, _, ok := parseEventID(id)
	return ok
}
