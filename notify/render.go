package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// ErrInvalidMessage marks a message that can never be sent (unknown kind,
// missing appointment, bad address). The worker moves it to the dead-letter
// stream at once instead of retrying.
var ErrInvalidMessage = errors.New("invalid message")

// Kinds lists every message kind; each has a subject, a text and an HTML
// template in German and English.
var Kinds = []string{KindConfirmation, KindVerification, KindReschedule, KindCancellation, KindClosure, KindReminder}

// Langs are the languages every template exists in.
var Langs = []string{"de", "en"}

//go:embed templates
var templateFS embed.FS

var (
	textTemplates = map[string]*texttemplate.Template{}
	htmlTemplates = map[string]*htmltemplate.Template{}
)

// init parses the embedded templates and fails the start when one that a
// kind needs is missing, so a broken template never waits for its first mail.
func init() {
	for _, l := range Langs {
		textTemplates[l] = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/"+l+".txt"))
		htmlTemplates[l] = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/"+l+".html"))
		for _, k := range Kinds {
			if textTemplates[l].Lookup("subject."+k) == nil || textTemplates[l].Lookup("text."+k) == nil ||
				htmlTemplates[l].Lookup("html."+k) == nil {
				panic(fmt.Sprintf("notify: template for %s/%s missing", l, k))
			}
		}
	}
}

// Rendered is a message turned into the parts of a mail.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	// Method is the iCalendar method of ICS ("" when the mail has no invite).
	Method string
	ICS    []byte
}

// view is what the templates see: only what the mail needs to say.
type view struct {
	Office       Office
	Service      string
	When         string
	PrevWhen     string
	Documents    []string
	Fee          string
	Code         string
	ManageURL    string
	ICSURL       string
	VerifyURL    string
	Closure      *closureView
	Alternatives []altView
}

type closureView struct {
	Title, Message, From, Until, Phone, Email, ComeBy string
	OneDay                                            bool
}

type altView struct{ When, URL string }

// Render renders msg in its locale: subject, text, HTML and, for kinds about
// a booked or cancelled appointment, the iCalendar invite.
func Render(msg Message) (Rendered, error) {
	if err := validate(msg); err != nil {
		return Rendered{}, fmt.Errorf("notify.Render: %w", err)
	}
	v, err := newView(msg)
	if err != nil {
		return Rendered{}, fmt.Errorf("notify.Render: %w: %w", ErrInvalidMessage, err)
	}
	l := lang(msg.Locale)
	var r Rendered
	var b bytes.Buffer
	if err := textTemplates[l].ExecuteTemplate(&b, "subject."+msg.Kind, v); err != nil {
		return r, fmt.Errorf("notify.Render: subject: %w", err)
	}
	r.Subject = oneLine(b.String())
	b.Reset()
	if err := textTemplates[l].ExecuteTemplate(&b, "text."+msg.Kind, v); err != nil {
		return r, fmt.Errorf("notify.Render: text: %w", err)
	}
	r.Text = strings.TrimSpace(b.String()) + "\n"
	b.Reset()
	if err := htmlTemplates[l].ExecuteTemplate(&b, "html."+msg.Kind, v); err != nil {
		return r, fmt.Errorf("notify.Render: html: %w", err)
	}
	r.HTML = b.String()
	if r.Method = MethodFor(msg.Kind); r.Method != "" {
		if r.ICS, err = AppointmentICS(msg, r.Method); err != nil {
			return r, fmt.Errorf("notify.Render: %w: %w", ErrInvalidMessage, err)
		}
	}
	return r, nil
}

func validate(msg Message) error {
	switch {
	case msg.ID == "":
		return fmt.Errorf("%w: no id", ErrInvalidMessage)
	case !knownKind(msg.Kind):
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidMessage, msg.Kind)
	case msg.Appointment == nil:
		return fmt.Errorf("%w: %s without appointment", ErrInvalidMessage, msg.Kind)
	case msg.Kind == KindClosure && msg.Closure == nil:
		return fmt.Errorf("%w: closure without closure", ErrInvalidMessage)
	case msg.Kind == KindVerification && msg.VerifyURL == "":
		return fmt.Errorf("%w: verification without verify_url", ErrInvalidMessage)
	}
	return nil
}

func knownKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func newView(msg Message) (view, error) {
	loc, err := officeLocation(msg.Office)
	if err != nil {
		return view{}, err
	}
	a, l := msg.Appointment, lang(msg.Locale)
	v := view{Office: msg.Office, Service: pick(a.Service, l), When: formatWhen(a.Start.In(loc), l),
		Documents: docsFor(a, l), Fee: pick(a.Fee, l), Code: a.Code, ManageURL: a.ManageURL,
		ICSURL: a.ICSURL, VerifyURL: msg.VerifyURL}
	if a.PreviousStart != nil {
		v.PrevWhen = formatWhen(a.PreviousStart.In(loc), l)
	}
	if c := msg.Closure; c != nil {
		v.Closure = &closureView{Title: pick(c.Title, l), Message: pick(c.Message, l), From: formatDay(c.From, l),
			Until: formatDay(c.Until, l), Phone: c.Phone, Email: c.Email, OneDay: c.From == c.Until}
		if c.ComeBy != "" {
			v.Closure.ComeBy = formatDay(c.ComeBy, l)
		}
	}
	for _, alt := range msg.Alternatives {
		v.Alternatives = append(v.Alternatives, altView{When: formatWhen(alt.Start.In(loc), l), URL: alt.RebookURL})
	}
	return v, nil
}

// ReminderDue is when the reminder for an appointment starting at start is
// due: before (default 24 h) earlier in absolute time, so across a DST change
// the reminder's wall-clock time differs from the appointment's by an hour.
func ReminderDue(start time.Time, before time.Duration) time.Time {
	if before <= 0 {
		before = 24 * time.Hour
	}
	return start.Add(-before)
}
