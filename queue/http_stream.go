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

func writeEvent(c *gin.Context, id, name, data string) error {
	var err error
	if id != "" {
		_, err = fmt.Fprintf(c.Writer, "id: %s\nevent: %s\ndata: %s\n\n", id, name, data)
	} else {
		_, err = fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", name, data)
	}
	c.Writer.Flush()
	return err
}

func writeHeartbeat(c *gin.Context) error {
	_, err := fmt.Fprint(c.Writer, ": heartbeat\n\n")
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
	if gap && writeEvent(c, "", "reset", "{}") != nil {
		return // events after Last-Event-ID were trimmed: the display reloads the snapshot
	}
	sent := last
	send := func(ev Event) error {
		if sent != "" && !eventAfter(ev.ID, sent) {
			return nil
		}
		sent = ev.ID
		name, data := DisplayEvent(ev)
		return writeEvent(c, ev.ID, name, data)
	}
	for _, ev := range backlog {
		if send(ev) != nil {
			return
		}
	}
	beat := time.NewTicker(h.svc.Heartbeat())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C:
			if !ok || send(ev) != nil {
				return // dropped or stopping: the display reconnects with Last-Event-ID
			}
		case <-beat.C:
			if writeHeartbeat(c) != nil {
				return
			}
		}
	}
}

// handleTicketStream handles GET /api/v1/tickets/:token/stream: a "status"
// event with the ticket (as GET /api/v1/tickets/:token) whenever it changes,
// until it is finished or marked a no-show.
func (h *HTTP) handleTicketStream(c *gin.Context) {
	ctx := c.Request.Context()
	token := c.Param("token")
	v, office, err := h.svc.Status(ctx, token)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	sub, err := h.svc.SubscribeOffice(ctx, office)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	defer sub.Close()
	startSSE(c)
	var prev []byte
	send := func(v *TicketView) (done bool) {
		b, _ := json.Marshal(gin.H{"ticket": v})
		if string(b) != string(prev) {
			if writeEvent(c, "", "status", string(b)) != nil {
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
			drain(sub.C) // one status read for a burst of events
			if v, _, err = h.svc.Status(ctx, token); err != nil || send(v) {
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
func affects(ev Event, v *TicketView) bool {
	if ev.Type != "issued" {
		return true
	}
	var d struct {
		Service string `json:"service"`
	}
	return json.Unmarshal([]byte(ev.Data), &d) != nil || d.Service == v.Service
}

// drain empties what is queued in ch without waiting.
func drain(ch chan Event) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}
