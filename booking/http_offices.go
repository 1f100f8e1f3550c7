package booking

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/httpx"
)

// HTTP is the booking domain's HTTP side.
type HTTP struct {
	dir      *Directory
	bookings *Bookings
}

// NewHTTP returns the booking handlers.
func NewHTTP(bookings *Bookings) *HTTP { return &HTTP{dir: bookings.dir, bookings: bookings} }

// Guards are the middleware chains that protect the staff and admin routes.
type Guards struct {
	// Staff authenticates and checks that the caller works in the route's office.
	Staff []gin.HandlerFunc
	// Admin authenticates and checks the admin role.
	Admin []gin.HandlerFunc
}

// Register adds the booking routes to api (the /api/v1 group).
func (h *HTTP) Register(api *gin.RouterGroup, g Guards) {
	api.GET("/offices", h.handleOfficeIndex)
	api.GET("/offices/:office", h.handleOfficeView)
	h.registerBooking(api)
	h.registerClosures(api, g.Admin...)
	h.registerStaff(api, g.Staff...)
}

// ErrOfficeNotFound is returned for an unknown office id.
var ErrOfficeNotFound = apperr.NotFound("office_not_found", "Dieses Amt gibt es nicht.", "There is no such office.")

// office returns the route's office or writes 404.
func (h *HTTP) office(c *gin.Context) (*Office, bool) {
	o, ok := h.dir.Office(c.Param("office"))
	if !ok {
		httpx.Error(c, ErrOfficeNotFound)
	}
	return o, ok
}

type officeSummaryJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	State    string `json:"state"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Address  string `json:"address,omitempty"`
}

type serviceJSON struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Names           Text     `json:"names"`
	DurationMinutes int      `json:"duration_minutes"`
	Documents       []string `json:"documents"`
	Fee             string   `json:"fee,omitempty"`
	Letter          string   `json:"letter"`
}

type rangeJSON struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Counters int    `json:"counters"`
	Seats    int    `json:"online_seats"`
}

type officeJSON struct {
	officeSummaryJSON
	Counters     []string               `json:"counters"`
	SlotMinutes  int                    `json:"slot_minutes"`
	LeadMinutes  int                    `json:"lead_minutes"`
	HorizonDays  int                    `json:"horizon_days"`
	Confirm      bool                   `json:"confirm_by_email"`
	ProofOfWork  bool                   `json:"proof_of_work"`
	Services     []serviceJSON          `json:"services"`
	OpeningHours map[string][]rangeJSON `json:"opening_hours"`
	Closures     []ClosureJSON          `json:"closures"`
}

func summaryJSON(o *Office) officeSummaryJSON {
	return officeSummaryJSON{ID: o.ID, Name: o.Name, Timezone: o.Timezone, State: o.State,
		Phone: o.Phone, Email: o.Email, Address: o.Address}
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func clockText(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func toOfficeJSON(o *Office, lang string) officeJSON {
	out := officeJSON{officeSummaryJSON: summaryJSON(o), Counters: o.Counters, SlotMinutes: o.SlotMinutes,
		LeadMinutes: o.LeadMinutes, HorizonDays: o.HorizonDays, Confirm: o.ConfirmByEmail, ProofOfWork: o.ProofOfWork,
		OpeningHours: map[string][]rangeJSON{}, Closures: []ClosureJSON{}}
	for _, s := range o.Services {
		docs := s.Documents.In(lang)
		if docs == nil {
			docs = []string{}
		}
		out.Services = append(out.Services, serviceJSON{ID: s.ID, Name: s.Name.In(lang), Names: s.Name,
			DurationMinutes: s.DurationMinutes, Documents: docs, Fee: s.Fee.In(lang), Letter: s.Letter})
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		for _, r := range o.Hours[wd] {
			out.OpeningHours[dayNames[wd]] = append(out.OpeningHours[dayNames[wd]],
				rangeJSON{Start: clockText(r.Start), End: clockText(r.End), Counters: r.Counters, Seats: r.Seats})
		}
	}
	return out
}

// handleOfficeIndex handles GET /api/v1/offices.
func (h *HTTP) handleOfficeIndex(c *gin.Context) {
	list := make([]officeSummaryJSON, 0, len(h.dir.Offices))
	for _, o := range h.dir.Offices {
		list = append(list, summaryJSON(o))
	}
	c.JSON(http.StatusOK, gin.H{"offices": list})
}

// handleOfficeView handles GET /api/v1/offices/:office.
func (h *HTTP) handleOfficeView(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	closures, err := h.bookings.Closures(c.Request.Context(), o.ID)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	out := toOfficeJSON(o, httpx.Lang(c))
	for _, cl := range closures {
		out.Closures = append(out.Closures, toClosureJSON(cl, o, httpx.Lang(c), false))
	}
	c.JSON(http.StatusOK, out)
}
