package queue

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/httpx"
)

// HTTP is the queue's HTTP side.
type HTTP struct {
	svc *Service
}

// NewHTTP returns the handlers over svc.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc} }

// Register adds the queue routes to api (the /api/v1 group); staff routes
// are guarded by authHTTP and bound to the route's office.
func (h *HTTP) Register(api *gin.RouterGroup, authHTTP *auth.HTTP) {
	api.POST("/offices/:office/tickets", h.handleTicketCreate)
	api.POST("/offices/:office/checkins", h.handleCheckinCreate)
	api.GET("/offices/:office/display", h.handleDisplay)
	api.GET("/offices/:office/display/stream", h.handleDisplayStream)
	api.GET("/tickets/:token", httpx.NoStore(), h.handleTicketStatus)
	api.GET("/tickets/:token/stream", httpx.NoStore(), h.handleTicketStream)

	staff := api.Group("/staff/offices/:office", authHTTP.Require(), auth.RequireOffice())
	staff.GET("/counters", h.handleCounterIndex)
	staff.POST("/counters/:counter/open", h.handleCounterOpen)
	staff.POST("/counters/:counter/close", h.handleCounterClose)
	staff.POST("/counters/:counter/call-next", h.handleCallNext)
	staff.GET("/tickets", h.handleTicketIndex)
	staff.GET("/tickets/:ticket", h.handleTicketView)
	staff.POST("/tickets/:ticket/:action", h.handleTicketAction)
	staff.GET("/stats", h.handleStats)
}

var errServiceRequired = apperr.Invalid("service", "service_required",
	"Bitte wählen Sie eine Dienstleistung.", "Please choose a service.")

var errCodeRequired = apperr.Invalid("code", "code_required",
	"Bitte geben Sie Ihren Termincode ein.", "Please enter your appointment code.")

type ticketRequest struct {
	Service string `json:"service"`
}

// handleTicketCreate handles POST /api/v1/offices/:office/tickets.
func (h *HTTP) handleTicketCreate(c *gin.Context) {
	var req ticketRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	if strings.TrimSpace(req.Service) == "" {
		httpx.Error(c, errServiceRequired)
		return
	}
	iss, err := h.svc.Draw(c.Request.Context(), c.Param("office"), strings.TrimSpace(req.Service))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, iss)
}

type checkinRequest struct {
	Code string `json:"code"`
}

// handleCheckinCreate handles POST /api/v1/offices/:office/checkins: 201 with
// the appointment's ticket, 200 when it had checked in already.
func (h *HTTP) handleCheckinCreate(c *gin.Context) {
	var req checkinRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	if strings.TrimSpace(req.Code) == "" {
		httpx.Error(c, errCodeRequired)
		return
	}
	iss, err := h.svc.CheckIn(c.Request.Context(), c.Param("office"), req.Code)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	status := http.StatusCreated
	if iss.Existing {
		status = http.StatusOK
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, iss)
}

// handleTicketStatus handles GET /api/v1/tickets/:token.
func (h *HTTP) handleTicketStatus(c *gin.Context) {
	v, _, err := h.svc.Status(c.Request.Context(), c.Param("token"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": v})
}

// handleDisplay handles GET /api/v1/offices/:office/display.
func (h *HTTP) handleDisplay(c *gin.Context) {
	d, err := h.svc.Display(c.Request.Context(), c.Param("office"), httpx.Lang(c))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.JSON(http.StatusOK, d)
}
