package queue

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/httpx"
)

// startSSE writes the headers of an event stream.
func startSSE(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	_, _ = fmt.Fprint(c.Writer, "retry: 2000\n\n")
	c.Writer.Flush()
}

// writeEvent writes one event without id (a reset, a ticket's status).
func writeEvent(c *gin.Context, name, data string) error {
	_, err := fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", name, data)
	c.Writer.Flush()
	return err
}

var heartbeat = []byte(": heartbeat\n\n")

func writeHeartbeat(c *gin.Context) error {
	_, err := c.Writer.Write(heartbeat)
	c.Writer.Flush()
	return err
}

// handleDisplayStream handles GET /api/v1/offices/:office/display/stream.
// With Last-Event-ID (header, or the last_event_id query parameter for the
// first connection) it first replays what came after it, then follows live;
// events already replayed are skipped, so nothing is missed or doubled. When
// the stream was trimmed past that id, a "reset" event tells the display to
// reload the snapshot first.
func (h *HTTP) handleDisplayStream(c *gin.Context) {
	ctx := c.Request.Context()
	office := c.Param("office")
	last := c.GetHeader("Last-Event-ID")
	if last == "" {
		last = c.Query("last_event_id")
	}
	if !ValidEventID(last) {
		last = ""
	}
	sub, err := h.svc.SubscribeOffice(ctx, office)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	defer sub.Close()
	var backlog []Event
	gap := false
	if last != "" {
		if backlog, gap, err = h.svc.eventsAfter(ctx, office, last); err != nil {
			httpx.Error(c, err)
			return
		}
	}
	startSSE(c)
	if gap && writeEvent(c, "reset", "{}") != nil {
		return // events after Last-Event-ID were trimmed: the display reloads the snapshot
	}
	sent := last
	// write adds ev's frame (made once by the hub for every display) to the
	// response unless it was replayed already; the caller flushes.
	write := func(ev *Event) error {
		if sent != "" && !eventAfter(ev.ID, sent) {
			return nil
		}
		sent = ev.ID
		_, err := c.Writer.Write(displayFrame(ev))
		return err
	}
	for i := range backlog {
		if write(&backlog[i]) != nil {
			return
		}
	}
	c.Writer.Flush()
	beat := time.NewTicker(h.svc.Heartbeat())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok || write(ev) != nil {
				return // dropped or stopping: the display reconnects with Last-Event-ID
			}
			// events that queued up meanwhile go out with it, in one write
			ok = writeQueued(sub.C, write)
			c.Writer.Flush()
			if !ok {
				return
			}
		case <-beat.C:
			if writeHeartbeat(c) != nil {
				return
			}
		}
	}
}

// writeQueued writes what is queued in ch without waiting; it is false when
// ch was closed or a write failed.
func writeQueued(ch chan *Event, write func(*Event) error) bool {
	for {
		select {
		case ev, ok := <-ch:
			if !ok || write(ev) != nil {
				return false
			}
		default:
			return true
		}
	}
}

// handleTicketStream handles GET /api/v1/tickets/:token/stream: a "status"
// event with the ticket (as GET /api/v1/tickets/:token) whenever it changes,
// until it is finished or marked a no-show.
func (h *HTTP) handleTicketStream(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.Param("token")
	// Subscribe before the first read, so that no event between the two
	// goes unseen; a token that names no office is not found.
	office, _, _, ok := parseToken(token)
	if !ok {
		httpx.Error(c, ErrTokenNotFound)
		return
	}
	if _, err := h.svc.office(office); err != nil {
		httpx.Error(c, ErrTokenNotFound)
		return
	}
	sub, err := h.svc.SubscribeOffice(ctx, office)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	defer sub.Close()
	v, _, err := h.svc.Status(ctx, token)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	startSSE(c)
	var prev []byte
	send := func(v *TicketView) (done bool) {
		b, _ := json.Marshal(gin.H{"ticket": v})
		if string(b) != string(prev) {
			if writeEvent(c, "status", string(b)) != nil {
				return true
			}
			prev = b
		}
		return v.Status == StatusFinished || v.Status == StatusNoShow
	}
	if send(v) {
		return
	}
	beat := time.NewTicker(h.svc.Heartbeat())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if !affects(ev, v) {
				continue
			}
			// One status read for a burst of events; its office-wide part is
			// shared with the other ticket streams that saw the same events.
			last := drain(sub.C, ev)
			if v, _, err = h.svc.StatusAfter(ctx, token, v.Number, last.ID); err != nil || send(v) {
				return
			}
		case <-beat.C:
			if writeHeartbeat(c) != nil {
				return
			}
		}
	}
}

// affects reports whether ev may change the status of ticket v: a new ticket
// of another service cannot (it queues elsewhere); everything else may.
func affects(ev *Event, v *TicketView) bool {
	if ev.Type != "issued" {
		return true
	}
	var d struct {
		Service string `json:"service"`
	}
	return json.Unmarshal([]byte(ev.Data), &d) != nil || d.Service == v.Service
}

// drain empties what is queued in ch without waiting and returns the last
// event it took, or last when there was none.
func drain(ch chan *Event, last *Event) *Event {
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return last
			}
			last = ev
		default:
			return last
		}
	}
}
