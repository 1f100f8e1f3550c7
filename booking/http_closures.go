package booking

import (
	"context"
	"encoding/xml"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/httpx"
	"github.com/rathaus/rathaus/notify"
)

// registerClosures adds the public closure feeds and the admin routes.
func (h *HTTP) registerClosures(api *gin.RouterGroup, admin ...gin.HandlerFunc) {
	api.GET("/offices/:office/closures", h.handleClosureIndex)
	api.GET("/offices/:office/closures.ics", h.handleClosureICS)
	api.GET("/offices/:office/closures.atom", h.handleClosureAtom)
	g := api.Group("/admin/offices/:office/closures", admin...)
	g.POST("", h.handleClosureCreate)
	g.PATCH("/:id", h.handleClosureUpdate)
	g.DELETE("/:id", h.handleClosureDelete)
}

// ClosureJSON is a closure as the API shows it.
type ClosureJSON struct {
	ID          string `json:"id"`
	From        string `json:"from"`
	Until       string `json:"until"`
	FromTime    string `json:"from_time,omitempty"`
	UntilTime   string `json:"until_time,omitempty"`
	Title       string `json:"title"`
	Message     string `json:"message"`
	Titles      Text   `json:"titles"`
	Messages    Text   `json:"messages"`
	Phone       string `json:"phone,omitempty"`
	Email       string `json:"email,omitempty"`
	ComeBy      string `json:"come_by,omitempty"`
	PublishedBy string `json:"published_by,omitempty"`
	PublishedAt string `json:"published_at"`
	UpdatedAt   string `json:"updated_at"`
	Sequence    int    `json:"sequence"`
	Cancelled   bool   `json:"cancelled,omitempty"`
}

func toClosureJSON(c Closure, o *Office, lang string, withAuthor bool) ClosureJSON {
	out := ClosureJSON{ID: c.ID, From: c.From.String(), Until: c.Until.String(), Title: c.Title.In(lang),
		Message: c.Message.In(lang), Titles: c.Title, Messages: c.Message, Phone: c.Phone, Email: c.Email,
		ComeBy: c.ComeBy, PublishedAt: c.PublishedAt.In(o.Location).Format(time.RFC3339),
		UpdatedAt: c.UpdatedAt.In(o.Location).Format(time.RFC3339), Sequence: c.Sequence, Cancelled: c.Cancelled}
	if c.Partial() {
		out.FromTime, out.UntilTime = clockText(c.StartMin), clockText(c.EndMin)
	}
	if withAuthor {
		out.PublishedBy = c.PublishedBy
	}
	return out
}

// officeClosures returns the route's office and its current and future
// closures, or writes the error.
func (h *HTTP) officeClosures(c *gin.Context) (*Office, []Closure, bool) {
	o, ok := h.office(c)
	if !ok {
		return nil, nil, false
	}
	list, err := h.bookings.Closures(c.Request.Context(), o.ID)
	if err != nil {
		httpx.Error(c, err)
		return nil, nil, false
	}
	return o, list, true
}

// handleClosureIndex handles GET /api/v1/offices/:office/closures.
func (h *HTTP) handleClosureIndex(c *gin.Context) {
	o, list, ok := h.officeClosures(c)
	if !ok {
		return
	}
	out := make([]ClosureJSON, len(list))
	for i, cl := range list {
		out[i] = toClosureJSON(cl, o, httpx.Lang(c), false)
	}
	c.JSON(http.StatusOK, gin.H{"closures": out})
}

// handleClosureICS handles GET /api/v1/offices/:office/closures.ics: a
// calendar to subscribe to; withdrawn closures stay in it as cancelled.
func (h *HTTP) handleClosureICS(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	body, err := h.bookings.ClosuresICS(c.Request.Context(), o.ID, httpx.Lang(c))
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "text/calendar; charset=utf-8", body)
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Link    atomLink `xml:"link"`
	Summary string   `xml:"summary"`
}

// handleClosureAtom handles GET /api/v1/offices/:office/closures.atom: an
// Atom feed for the town's website.
func (h *HTTP) handleClosureAtom(c *gin.Context) {
	o, list, ok := h.officeClosures(c)
	if !ok {
		return
	}
	lang := httpx.Lang(c)
	base := h.bookings.baseURL
	updated := time.Unix(0, 0).UTC()
	feed := atomFeed{Title: o.Name + " – " + map[string]string{"de": "Schließzeiten", "en": "Closures"}[lang],
		ID: base + "/api/v1/offices/" + o.ID + "/closures.atom", Author: atomAuthor{Name: o.Name},
		Link: []atomLink{{Rel: "self", Href: base + "/api/v1/offices/" + o.ID + "/closures.atom"}, {Rel: "alternate", Href: base + "/closures"}}}
	for _, cl := range list {
		if cl.UpdatedAt.After(updated) {
			updated = cl.UpdatedAt
		}
		j := toClosureJSON(cl, o, lang, false)
		summary := j.From + " – " + j.Until + ": " + j.Message
		if j.Phone != "" {
			summary += " " + map[string]string{"de": "Telefon", "en": "Phone"}[lang] + " " + j.Phone
		}
		feed.Entries = append(feed.Entries, atomEntry{Title: j.Title, ID: "urn:rathaus:" + o.ID + ":closure:" + cl.ID + ":" + strconv.Itoa(cl.Sequence),
			Updated: cl.UpdatedAt.UTC().Format(time.RFC3339), Link: atomLink{Href: base + "/closures"}, Summary: summary})
	}
	feed.Updated = updated.Format(time.RFC3339)
	out, err := xml.MarshalIndent(feed, "", "  ")
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/atom+xml; charset=utf-8", append([]byte(xml.Header), out...))
}

type closureResultJSON struct {
	Closure      ClosureJSON    `json:"closure"`
	Affected     int            `json:"affected_appointments"`
	AffectedDays []dayCountJSON `json:"affected_days"`
	DryRun       bool           `json:"dry_run"`
	// ToCall lists the affected appointments without an e-mail address: the
	// office phones them.
	ToCall []staffAppointmentJSON `json:"to_call"`
}

type dayCountJSON struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
}

func toResultJSON(r ClosureResult, o *Office, lang string) closureResultJSON {
	out := closureResultJSON{Closure: toClosureJSON(r.Closure, o, lang, true), Affected: r.Affected, DryRun: r.DryRun,
		AffectedDays: []dayCountJSON{}, ToCall: staffList(r.ToCall)}
	for _, d := range r.AffectedDays {
		out.AffectedDays = append(out.AffectedDays, dayCountJSON{Date: d.Date.String(), Count: d.Count})
	}
	return out
}

// handleClosureCreate handles POST /api/v1/admin/offices/:office/closures.
func (h *HTTP) handleClosureCreate(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	var in ClosureInput
	if err := httpx.DecodeJSON(c, &in); err != nil {
		httpx.Error(c, err)
		return
	}
	dry := c.Query("dry_run") == "true"
	res, err := h.bookings.PublishClosure(c.Request.Context(), o.ID, in, auth.MustPrincipal(c).User.Username, dry)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	status := http.StatusCreated
	if dry {
		status = http.StatusOK
	}
	c.JSON(status, toResultJSON(res, o, httpx.Lang(c)))
}

// handleClosureUpdate handles PATCH /api/v1/admin/offices/:office/closures/:id.
func (h *HTTP) handleClosureUpdate(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	var in ClosureInput
	if err := httpx.DecodeJSON(c, &in); err != nil {
		httpx.Error(c, err)
		return
	}
	res, err := h.bookings.ChangeClosure(c.Request.Context(), o.ID, c.Param("id"), in, auth.MustPrincipal(c).User.Username, c.Query("dry_run") == "true")
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, toResultJSON(res, o, httpx.Lang(c)))
}

// handleClosureDelete handles DELETE /api/v1/admin/offices/:office/closures/:id.
func (h *HTTP) handleClosureDelete(c *gin.Context) {
	o, ok := h.office(c)
	if !ok {
		return
	}
	cl, err := h.bookings.WithdrawClosure(c.Request.Context(), o.ID, c.Param("id"), auth.MustPrincipal(c).User.Username)
	if err != nil {
		httpx.Error(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"closure": toClosureJSON(cl, o, httpx.Lang(c), true)})
}

// ClosuresICS returns the office's closures feed: current and future
// closures, and withdrawn ones as cancelled so subscribed calendars drop them.
func (s *Bookings) ClosuresICS(ctx context.Context, officeID, lang string) ([]byte, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, ErrOfficeNotFound
	}
	snap, err := s.st.readDays(ctx, o.ID, nil)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	today := o.Today(now)
	var evs []notify.ClosureEvent
	for _, c := range snap.allClosures {
		if c.Until.Before(today.AddDays(-30)) {
			continue
		}
		ev := notify.ClosureEvent{UID: "closure-" + c.ID + "@" + s.uidHost(), Sequence: c.Sequence, From: c.From.String(),
			Until: c.Until.String(), Title: notify.Text(c.Title), Message: notify.Text(c.Message), Cancelled: c.Cancelled}
		if c.Partial() {
			st := c.From.Midnight(o.Location).Add(time.Duration(c.StartMin) * time.Minute)
			en := c.From.Midnight(o.Location).Add(time.Duration(c.EndMin) * time.Minute)
			ev.Start, ev.End = &st, &en
		}
		evs = append(evs, ev)
	}
	return notify.ClosuresICS(officeInfo(o), evs, lang, now)
}
