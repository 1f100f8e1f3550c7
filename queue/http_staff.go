package queue

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/httpx"
)

func who(c *gin.Context) string { return auth.MustPrincipal(c).User.Username }

// handleCounterIndex handles GET /api/v1/staff/offices/:office/counters.
func (h *HTTP) handleCounterIndex(c *gin.Context) {
	list, err := h.svc.Counters(c.Request.Context(), c.Param("office"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"counters": list})
}

type openRequest struct {
	Services []string `json:"services"`
}

// handleCounterOpen handles POST /api/v1/staff/offices/:office/counters/:counter/open;
// the body {"services": [...]} is optional (none: every service).
func (h *HTTP) handleCounterOpen(c *gin.Context) {
	var req openRequest
	if c.Request.ContentLength != 0 {
		if err := httpx.DecodeJSON(c, &req); err != nil {
			httpx.Error(c, err)
			return
		}
	}
	ctr, err := h.svc.OpenCounter(c.Request.Context(), c.Param("office"), c.Param("counter"), req.Services, who(c))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"counter": ctr})
}

// handleCounterClose handles POST /api/v1/staff/offices/:office/counters/:counter/close.
func (h *HTTP) handleCounterClose(c *gin.Context) {
	ctr, err := h.svc.CloseCounter(c.Request.Context(), c.Param("office"), c.Param("counter"), who(c))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"counter": ctr})
}

// handleCallNext handles POST /api/v1/staff/offices/:office/counters/:counter/call-next:
// 200 with the called ticket, 204 when nobody waits. A retry with the
// Idempotency-Key of a call whose ticket the counter still has called gets
// that ticket again (Idempotent-Replayed: true) instead of finishing it.
func (h *HTTP) handleCallNext(c *gin.Context) {
	key, err := httpx.IdempotencyKey(c)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	t, ok, replayed, err := h.svc.CallNextOnce(c.Request.Context(), c.Param("office"), c.Param("counter"), who(c), key)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	if !ok {
		c.Status(http.StatusNoContent)
		return
	}
	if replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

// handleTicketIndex handles GET /api/v1/staff/offices/:office/tickets?status=S: today's tickets.
func (h *HTTP) handleTicketIndex(c *gin.Context) {
	list, err := h.svc.Tickets(c.Request.Context(), c.Param("office"), c.Query("status"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"tickets": list})
}

// handleTicketView handles GET /api/v1/staff/offices/:office/tickets/:ticket.
func (h *HTTP) handleTicketView(c *gin.Context) {
	t, err := h.svc.Ticket(c.Request.Context(), c.Param("office"), c.Param("ticket"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

type transferRequest struct {
	Service string `json:"service"`
}

// handleTicketAction handles POST /api/v1/staff/offices/:office/tickets/:ticket/:action
// (recall, no-show, finish, transfer with {"service"}, park, unpark).
func (h *HTTP) handleTicketAction(c *gin.Context) {
	action := c.Param("action")
	var req transferRequest
	if action == ActionTransfer {
		if err := httpx.DecodeJSON(c, &req); err != nil {
			httpx.Error(c, err)
			return
		}
		if req.Service == "" {
			httpx.Error(c, errServiceRequired)
			return
		}
	}
	t, err := h.svc.Act(c.Request.Context(), c.Param("office"), c.Param("ticket"), action, req.Service, who(c))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

// handleStats handles GET /api/v1/staff/offices/:office/stats?from=D&to=D as
// JSON (per day and service, and per hour of the day), or the daily rows as
// CSV with format=csv or Accept: text/csv.
func (h *HTTP) handleStats(c *gin.Context) {
	rows, hours, err := h.svc.Report(c.Request.Context(), c.Param("office"), c.Query("from"), c.Query("to"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	if c.Query("format") != "csv" && !strings.Contains(c.GetHeader("Accept"), "text/csv") {
		c.JSON(http.StatusOK, gin.H{"from": c.Query("from"), "to": c.Query("to"), "days": rows, "hours": hours})
		return
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="stats-`+c.Param("office")+`.csv"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"date", "service", "tickets", "walk_ins", "appointments", "served", "no_shows", "open",
		"wait_p50_minutes", "wait_p90_minutes", "service_time_p50_minutes"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{r.Date, r.Service, strconv.Itoa(r.Tickets), strconv.Itoa(r.WalkIns),
			strconv.Itoa(r.Appointments), strconv.Itoa(r.Served), strconv.Itoa(r.NoShows), strconv.Itoa(r.Open),
			f(r.WaitP50Minutes), f(r.WaitP90Minutes), f(r.ServiceTimeP50Minute)})
	}
	w.Flush()
}
