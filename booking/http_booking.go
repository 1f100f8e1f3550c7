package booking

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/audit"
	"github.com/rathaus/rathaus/internal/httpx"
)

// registerBooking adds the citizen booking routes.
func (h *HTTP) registerBooking(api *gin.RouterGroup) {
	api.GET("/offices/:office/availability", h.handleAvailability)
	api.GET("/offices/:office/slots", h.handleSlots)
	api.POST("/offices/:office/holds", h.handleHoldCreate)
	api.DELETE("/offices/:office/holds/:hold", h.handleHoldDelete)
	api.POST("/offices/:office/appointments", h.handleBook)
	personal := api.Group("/appointments/:token", httpx.NoStore())
	personal.GET("", h.handleAppointmentView)
	personal.DELETE("", h.handleAppointmentCancel)
	personal.POST("/reschedule", h.handleAppointmentReschedule)
	personal.POST("/confirm", h.handleAppointmentConfirm)
	personal.GET("/ics", h.handleAppointmentICS)
	h.registerPrivacy(personal)
}

// registerStaff adds the staff routes; guard authenticates and checks the office.
func (h *HTTP) registerStaff(api *gin.RouterGroup, guard ...gin.HandlerFunc) {
	staff := api.Group("/staff/offices/:office", guard...)
	staff.GET("/appointments", h.handleStaffDay)
	staff.POST("/appointments", h.handleStaffBook)
	staff.POST("/appointments/:id/cancel", h.handleStaffCancel)
	staff.POST("/appointments/:id/reschedule", h.handleStaffReschedule)
}

// handleAvailability handles GET /api/v1/offices/:office/availability.
func (h *HTTP) handleAvailability(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	today := o.Today(h.bookings.clock.Now())
	from, to := today, today.AddDays(27)
	var err error
	if v := c.Query("from"); v != "" {
		if from, err = parseDateParam("from", v); err != nil {
			httpx.Error(c, err)
			return
		}
		to = from.AddDays(27)
	}
	if v := c.Query("to"); v != "" {
		if to, err = parseDateParam("to", v); err != nil {
			httpx.Error(c, err)
			return
		}
	}
	a, key, err := h.bookings.availability(c.Request.Context(), o.ID, requireService(c), from, to)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", a.JSON(key))
}

// requireService returns the service query parameter ("" is an unknown service).
func requireService(c *gin.Context) string { return c.Query("service") }

type slotJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// handleSlots handles GET /api/v1/offices/:office/slots.
func (h *HTTP) handleSlots(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	d, err := parseDateParam("date", c.Query("date"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	day, err := h.bookings.Slots(c.Request.Context(), o.ID, requireService(c), d)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	svc, _ := o.Service(c.Query("service"))
	slots := make([]slotJSON, len(day.Starts))
	for i, t := range day.Starts {
		slots[i] = slotJSON{Start: t.Format(time.RFC3339), End: t.Add(svc.Duration()).Format(time.RFC3339)}
	}
	out := gin.H{"date": d.String(), "status": day.Status, "slots": slots}
	if day.Closure != nil {
		out["closure"] = closureSummary(day.Closure)
	}
	c.JSON(http.StatusOK, out)
}

type holdRequest struct {
	Service string `json:"service"`
	Start   string `json:"start"`
}

// handleHoldCreate handles POST /api/v1/offices/:office/holds.
func (h *HTTP) handleHoldCreate(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	var req holdRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	hold, err := h.bookings.Hold(c.Request.Context(), o.ID, req.Service, req.Start)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"hold": gin.H{"id": hold.ID, "service": hold.Service,
		"start": hold.Start.Format(time.RFC3339), "end": hold.End.Format(time.RFC3339),
		"expires_at": hold.Expires.In(o.Location).Format(time.RFC3339)}})
}

// handleHoldDelete handles DELETE /api/v1/offices/:office/holds/:hold.
func (h *HTTP) handleHoldDelete(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	if err := h.bookings.ReleaseHold(c.Request.Context(), o.ID, c.Param("hold")); err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"released": true})
}

// bookRequestJSON is a citizen's booking: the staff booking's fields and a hold.
type bookRequestJSON struct {
	staffBookRequestJSON
	Hold string `json:"hold"`
}

// AppointmentJSON is an appointment as the API shows it to its holder.
type AppointmentJSON struct {
	Code    string `json:"code"`
	Status  string `json:"status"`
	Office  string `json:"office"`
	Service string `json:"service"`
	Start   string `json:"start"`
	End     string `json:"end"`
	Name    string `json:"name"`
	Email   string `json:"email,omitempty"` // empty only when staff booked for a caller without an address
	Phone   string `json:"phone,omitempty"`
	Locale  string `json:"locale"`
	// VerifyBy is the deadline of an unverified appointment.
	VerifyBy string `json:"verify_by,omitempty"`
}

func toAppointmentJSON(a Appointment) AppointmentJSON {
	out := AppointmentJSON{Code: a.Code, Status: a.Status, Office: a.Office, Service: a.Service,
		Start: a.Start.Format(time.RFC3339), End: a.End.Format(time.RFC3339), Name: a.Name, Email: a.Email,
		Phone: a.Phone, Locale: a.Locale}
	if a.Status == StatusUnverified && !a.VerifyBy.IsZero() {
		out.VerifyBy = a.VerifyBy.In(a.Start.Location()).Format(time.RFC3339)
	}
	return out
}

type bookedJSON struct {
	Appointment AppointmentJSON `json:"appointment"`
	Token       string          `json:"token"`
	ManageURL   string          `json:"manage_url"`
	ICSURL      string          `json:"ics_url"`
}

func bookedBody(b Booked) []byte {
	out, _ := json.Marshal(bookedJSON{Appointment: toAppointmentJSON(b.Appointment), Token: b.Token,
		ManageURL: b.ManageURL, ICSURL: b.ICSURL})
	return out
}

var (
	errIdemReused = apperr.Invalid("Idempotency-Key", "idempotency_key_reused",
		"Dieser Idempotency-Key wurde schon für eine andere Anfrage benutzt.", "This Idempotency-Key was already used for a different request.")
	errIdemRunning = apperr.Conflict("idempotency_in_progress", "Eine Anfrage mit diesem Idempotency-Key läuft noch.",
		"A request with this Idempotency-Key is still in progress.")
)

// handleBook handles POST /api/v1/offices/:office/appointments.
func (h *HTTP) handleBook(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		httpx.Error(c, httpx.ErrTooLarge)
		return
	}
	var req bookRequestJSON
	if err := httpx.DecodeJSONBytes(body, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	idem, replayed := h.beginIdempotency(c, o.ID, body)
	if replayed {
		return
	}
	ctx := c.Request.Context()
	b, err := h.bookings.Book(ctx, o.ID, BookRequest{Service: req.Service, Start: req.Start, Name: req.Name,
		Email: req.Email, Phone: req.Phone, Locale: req.Locale, Hold: req.Hold}, httpx.Lang(c), idem)
	if err != nil {
		h.finishIdempotency(c, o.ID, idem, err)
		httpx.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Location", "/api/v1/appointments/"+b.Token)
	c.Data(http.StatusCreated, "application/json; charset=utf-8", bookedBody(b))
}

// beginIdempotency claims the request's Idempotency-Key. It returns the claim
// to hand to Book, or replayed=true when it has answered already (replay,
// mismatch or still running).
func (h *HTTP) beginIdempotency(c *gin.Context, office string, body []byte) (*Idempotency, bool) {
	key, err := httpx.IdempotencyKey(c)
	if err != nil {
		httpx.Error(c, err)
		return nil, true
	}
	if key == "" {
		return nil, false
	}
	keyHash := HashKey([]byte(key))
	state, err := h.bookings.st.idemBegin(c.Request.Context(), office, keyHash, HashKey(body))
	if err != nil {
		httpx.Error(c, err)
		return nil, true
	}
	switch state[0] {
	case "mismatch":
		httpx.Error(c, errIdemReused)
		return nil, true
	case "running":
		httpx.Error(c, errIdemRunning)
		return nil, true
	case "done":
		status := http.StatusCreated
		if len(state) > 1 {
			if n, err := parseStatus(state[1]); err == nil {
				status = n
			}
		}
		c.Header("Idempotent-Replayed", "true")
		c.Header("Cache-Control", "no-store")
		c.Data(status, "application/json; charset=utf-8", []byte(state[2]))
		return nil, true
	}
	return &Idempotency{KeyHash: keyHash, Response: bookedBody}, false
}

func parseStatus(s string) (int, error) { return strconv.Atoi(s) }

// finishIdempotency stores a refusal for replay, or forgets the claim when the
// failure was passing (store down, internal error), so a retry runs again.
func (h *HTTP) finishIdempotency(c *gin.Context, office string, idem *Idempotency, err error) {
	if idem == nil {
		return
	}
	ctx := c.Request.Context()
	status, body := httpx.Envelope(err, httpx.Lang(c))
	if status >= 500 {
		_ = h.bookings.st.idemForget(ctx, office, idem.KeyHash)
		return
	}
	raw, _ := json.Marshal(body)
	_ = h.bookings.st.idemFinish(ctx, office, idem.KeyHash, status, raw)
}

// handleAppointmentView handles GET /api/v1/appointments/:token.
func (h *HTTP) handleAppointmentView(c *gin.Context) {
	a, _, err := h.bookings.Get(c.Request.Context(), c.Param("token"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"appointment": toAppointmentJSON(a)})
}

// handleAppointmentCancel handles DELETE /api/v1/appointments/:token.
func (h *HTTP) handleAppointmentCancel(c *gin.Context) {
	a, err := h.bookings.Cancel(c.Request.Context(), c.Param("token"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"appointment": toAppointmentJSON(a)})
}

type rescheduleRequest struct {
	Start string `json:"start"`
}

// handleAppointmentReschedule handles POST /api/v1/appointments/:token/reschedule.
func (h *HTTP) handleAppointmentReschedule(c *gin.Context) {
	var req rescheduleRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	a, err := h.bookings.Reschedule(c.Request.Context(), c.Param("token"), req.Start)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"appointment": toAppointmentJSON(a)})
}

// handleAppointmentConfirm handles POST /api/v1/appointments/:token/confirm.
func (h *HTTP) handleAppointmentConfirm(c *gin.Context) {
	a, err := h.bookings.Confirm(c.Request.Context(), c.Param("token"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"appointment": toAppointmentJSON(a)})
}

type staffAppointmentJSON struct {
	AppointmentJSON
	ID string `json:"id"`
	// CancelReason says why a cancelled appointment was cancelled: "citizen",
	// "office", "closure:<id>" (it may be booked again), "erased".
	CancelReason string `json:"cancel_reason,omitempty"`
	// CheckedInAt is when the holder checked in at the office (then it is
	// no longer moved: its ticket waits in the queue).
	CheckedInAt string `json:"checked_in_at,omitempty"`
}

func toStaffJSON(a Appointment) staffAppointmentJSON {
	out := staffAppointmentJSON{AppointmentJSON: toAppointmentJSON(a), ID: a.ID}
	if a.Status == StatusCancelled {
		out.CancelReason = a.CancelReason
	}
	if !a.CheckedIn.IsZero() {
		out.CheckedInAt = a.CheckedIn.In(a.Start.Location()).Format(time.RFC3339)
	}
	return out
}

// handleStaffDay handles GET /api/v1/staff/offices/:office/appointments.
func (h *HTTP) handleStaffDay(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	if code, ok := c.GetQuery("code"); ok {
		audit.SetTarget(c, "code", cmp.Or(NormalizeCode(code), "(invalid)"))
		list, err := h.bookings.FindByCode(c.Request.Context(), o.ID, code)
		if err != nil {
			httpx.Error(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"code": NormalizeCode(code), "appointments": staffList(list)})
		return
	}
	d := o.Today(h.bookings.clock.Now())
	if v := c.Query("date"); v != "" {
		var err error
		if d, err = parseDateParam("date", v); err != nil {
			httpx.Error(c, err)
			return
		}
	}
	list, err := h.bookings.DayList(c.Request.Context(), o.ID, d)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"date": d.String(), "appointments": staffList(list)})
}

func staffList(list []Appointment) []staffAppointmentJSON {
	out := make([]staffAppointmentJSON, len(list))
	for i, a := range list {
		out[i] = toStaffJSON(a)
	}
	return out
}

// handleStaffCancel handles POST
// /api/v1/staff/offices/:office/appointments/:id/cancel: the office cancels
// an appointment at the citizen's request (see Bookings.CancelByStaff).
func (h *HTTP) handleStaffCancel(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	a, err := h.bookings.CancelByStaff(c.Request.Context(), o.ID, c.Param("id"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"appointment": toStaffJSON(a)})
}

// handleStaffBook handles POST /api/v1/staff/offices/:office/appointments:
// the office books for a citizen who asked (see Bookings.BookByStaff).
func (h *HTTP) handleStaffBook(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	var req staffBookRequestJSON
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	b, err := h.bookings.BookByStaff(c.Request.Context(), o.ID, BookRequest{Service: req.Service, Start: req.Start, Name: req.Name,
		Email: req.Email, Phone: req.Phone, Locale: req.Locale}, httpx.Lang(c))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	audit.SetTarget(c, "appointment", b.Appointment.ID)
	// The manage token stays the citizen's: it opens their data to whoever
	// holds it, and its requests are not audited. Staff work by id and code.
	c.JSON(http.StatusCreated, gin.H{"appointment": toStaffJSON(b.Appointment)})
}

// staffBookRequestJSON is a staff booking: the citizen's without a hold.
type staffBookRequestJSON struct {
	Service string `json:"service"`
	Start   string `json:"start"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	Locale  string `json:"locale"`
}

// handleStaffReschedule handles POST
// /api/v1/staff/offices/:office/appointments/:id/reschedule: the office moves
// an appointment at the citizen's request (see Bookings.RescheduleByStaff).
func (h *HTTP) handleStaffReschedule(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	var req rescheduleRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		httpx.Error(c, err)
		return
	}
	a, err := h.bookings.RescheduleByStaff(c.Request.Context(), o.ID, c.Param("id"), req.Start)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"appointment": toStaffJSON(a)})
}

// handleAppointmentICS handles GET /api/v1/appointments/:token/ics: the
// current version of the appointment's calendar entry (REQUEST while it is
// booked, CANCEL once it is not), same UID for its whole life.
func (h *HTTP) handleAppointmentICS(c *gin.Context) {
	body, err := h.bookings.ICS(c.Request.Context(), c.Param("token"))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="termin.ics"`)
	c.Data(http.StatusOK, "text/calendar; charset=utf-8", body)
}
