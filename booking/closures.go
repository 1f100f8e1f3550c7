package booking

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/notify"
)

// TextInput is a text given either as one string (used for both languages)
// or as {"de": …, "en": …}.
type TextInput struct {
	Text
	set bool
}

// UnmarshalJSON accepts a string or an object with de and en.
func (t *TextInput) UnmarshalJSON(b []byte) error {
	t.set = true
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		t.De, t.En = s, s
		return nil
	}
	var o struct {
		De string `json:"de"`
		En string `json:"en"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return fmt.Errorf("a text is a string or {\"de\", \"en\"}")
	}
	t.De, t.En = o.De, o.En
	return nil
}

// ClosureInput is what an admin sends to publish or change a closure. On a
// change, empty fields keep their value.
type ClosureInput struct {
	From      string    `json:"from"`
	Until     string    `json:"until"`
	FromTime  string    `json:"from_time"`
	UntilTime string    `json:"until_time"`
	Title     TextInput `json:"title"`
	Message   TextInput `json:"message"`
	Phone     *string   `json:"phone"`
	Email     *string   `json:"email"`
	ComeBy    *string   `json:"come_by"`
}

// DayCount is how many appointments a closure meets on a day.
type DayCount struct {
	Date  Date
	Count int
}

// ClosureResult is the outcome (or, on a dry run, the preview) of publishing
// or changing a closure.
type ClosureResult struct {
	Closure      Closure
	Affected     int
	AffectedDays []DayCount
	DryRun       bool
	// ToCall are the affected appointments without an e-mail address (booked
	// by staff for callers): nobody tells them but the office, by phone.
	ToCall []Appointment
}

// maxClosureDays is the longest closure: a year.
const maxClosureDays = 366

// closureText validates a closure text: 0..max runes, line breaks allowed in
// messages only, no other control characters.
func closureText(field string, t Text, required bool, max int, multiline bool) (Text, error) {
	check := func(v string) (string, error) {
		v = strings.TrimSpace(v)
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
			return "", apperr.Invalid(field, "invalid_"+field, fmt.Sprintf("Höchstens %d Zeichen.", max), fmt.Sprintf("At most %d characters.", max))
		}
		for _, r := range v {
			if (unicode.IsControl(r) && !(multiline && r == '\n')) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
				return "", apperr.Invalid(field, "invalid_"+field, "Der Text enthält Steuerzeichen.", "The text contains control characters.")
			}
		}
		return v, nil
	}
	var err error
	if t.De, err = check(t.De); err != nil {
		return Text{}, err
	}
	if t.En, err = check(t.En); err != nil {
		return Text{}, err
	}
	if required && t.De == "" && t.En == "" {
		return Text{}, apperr.Invalid(field, "missing_"+field, "Bitte geben Sie einen Titel an.", "Please give a title.")
	}
	if t.De == "" {
		t.De = t.En
	}
	if t.En == "" {
		t.En = t.De
	}
	return t, nil
}

func parseClock(field, v string) (int, error) {
	var h, m int
	if len(v) != 5 || v[2] != ':' {
		return 0, apperr.Invalid(field, "invalid_time", "Die Uhrzeit hat die Form HH:MM.", "The time has the form HH:MM.")
	}
	if _, err := fmt.Sscanf(v, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, apperr.Invalid(field, "invalid_time", "Die Uhrzeit hat die Form HH:MM.", "The time has the form HH:MM.")
	}
	return h*60 + m, nil
}

// apply validates in over c (the zero Closure for a new one) and returns the result.
func (in ClosureInput) apply(o *Office, c Closure, now time.Time) (Closure, error) {
	var err error
	if in.From != "" || c.From == (Date{}) {
		if c.From, err = parseDateParam("from", in.From); err != nil {
			return Closure{}, err
		}
	}
	if in.Until != "" || c.Until == (Date{}) {
		if c.Until, err = parseDateParam("until", in.Until); err != nil {
			return Closure{}, err
		}
	}
	if c.Until.Before(c.From) {
		return Closure{}, apperr.Invalid("until", "until_before_from", "Das Ende liegt vor dem Anfang.", "The end is before the start.")
	}
	if c.From.DaysUntil(c.Until) >= maxClosureDays {
		return Closure{}, apperr.Invalid("until", "closure_too_long", "Eine Schließung darf höchstens ein Jahr dauern.", "A closure may last at most a year.")
	}
	if c.Until.Before(o.Today(now)) {
		return Closure{}, apperr.Invalid("until", "closure_in_past", "Die Schließung liegt ganz in der Vergangenheit.", "The closure lies wholly in the past.")
	}
	if in.FromTime != "" || in.UntilTime != "" {
		if in.FromTime == "" || in.UntilTime == "" || c.From != c.Until {
			return Closure{}, apperr.Invalid("from_time", "invalid_partial_day", "Stundenweise Schließungen brauchen from_time und until_time an genau einem Tag.",
				"Closures for part of a day need from_time and until_time on exactly one day.")
		}
		if c.StartMin, err = parseClock("from_time", in.FromTime); err != nil {
			return Closure{}, err
		}
		if c.EndMin, err = parseClock("until_time", in.UntilTime); err != nil {
			return Closure{}, err
		}
		if c.EndMin <= c.StartMin {
			return Closure{}, apperr.Invalid("until_time", "until_before_from", "Das Ende liegt vor dem Anfang.", "The end is before the start.")
		}
	} else if c.From != c.Until {
		c.StartMin, c.EndMin = 0, 0
	}
	if in.Title.set || c.Title == (Text{}) {
		if c.Title, err = closureText("title", in.Title.Text, true, 200, false); err != nil {
			return Closure{}, err
		}
	}
	if in.Message.set {
		if c.Message, err = closureText("message", in.Message.Text, false, 2000, true); err != nil {
			return Closure{}, err
		}
	}
	if in.Phone != nil {
		if c.Phone, err = cleanPhone(*in.Phone); err != nil {
			return Closure{}, err
		}
	}
	if in.Email != nil {
		if c.Email = strings.TrimSpace(*in.Email); c.Email != "" {
			if c.Email, err = cleanEmail(c.Email); err != nil {
				return Closure{}, err
			}
		}
	}
	if in.ComeBy != nil {
		c.ComeBy = strings.TrimSpace(*in.ComeBy)
		if c.ComeBy != "" {
			d, err := parseDateParam("come_by", c.ComeBy)
			if err != nil {
				return Closure{}, err
			}
			if !d.Before(c.From) {
				return Closure{}, apperr.Invalid("come_by", "invalid_come_by", "Das Datum „bitte kommen Sie bis“ muss vor der Schließung liegen.",
					"The \"come by\" date must be before the closure.")
			}
		}
	}
	return c, nil
}

// ErrClosureNotFound is returned for an unknown closure id.
var ErrClosureNotFound = apperr.NotFound("closure_not_found", "Diese Schließung gibt es nicht.", "There is no such closure.")

// PublishClosure validates and publishes a closure, cancelling the
// appointments inside it and mailing their holders; with dryRun it only tells
// how many appointments (per day) it would cancel.
func (s *Bookings) PublishClosure(ctx context.Context, officeID string, in ClosureInput, by string, dryRun bool) (ClosureResult, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return ClosureResult{}, ErrOfficeNotFound
	}
	now := s.clock.Now()
	c, err := in.apply(o, Closure{}, now)
	if err != nil {
		return ClosureResult{}, err
	}
	c.ID, c.PublishedBy, c.PublishedAt, c.UpdatedAt = newClosureID(), by, now, now
	return s.putClosure(ctx, o, c, dryRun)
}

// ChangeClosure changes a published closure; the appointments newly inside
// it are cancelled and told. Appointments it no longer covers stay cancelled
// (their holders were told and can rebook).
func (s *Bookings) ChangeClosure(ctx context.Context, officeID, id string, in ClosureInput, by string, dryRun bool) (ClosureResult, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return ClosureResult{}, ErrOfficeNotFound
	}
	old, err := s.closure(ctx, o, id)
	if err != nil {
		return ClosureResult{}, err
	}
	now := s.clock.Now()
	c, err := in.apply(o, old, now)
	if err != nil {
		return ClosureResult{}, err
	}
	c.Sequence, c.UpdatedAt = old.Sequence+1, now
	if by != "" {
		c.PublishedBy = by
	}
	return s.putClosure(ctx, o, c, dryRun)
}

// WithdrawClosure deletes a closure: the office opens again for booking and
// calendar subscribers see it cancelled.
func (s *Bookings) WithdrawClosure(ctx context.Context, officeID, id, by string) (Closure, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return Closure{}, ErrOfficeNotFound
	}
	for range maxRetries * 2 {
		snap, err := s.st.readDays(ctx, o.ID, nil)
		if err != nil {
			return Closure{}, err
		}
		i := slices.IndexFunc(snap.allClosures, func(c Closure) bool { return c.ID == id && !c.Cancelled })
		if i < 0 {
			return Closure{}, ErrClosureNotFound
		}
		c := snap.allClosures[i]
		now := s.clock.Now()
		c.Cancelled, c.Sequence, c.UpdatedAt = true, c.Sequence+1, now
		res, err := s.st.putClosure(ctx, now, o.ID, c, snap.closuresVer, nil, nil, nil, closureEvent(c))
		if err != nil {
			return Closure{}, err
		}
		if res == "ok" {
			s.log.Info("booking: closure withdrawn", "office", o.ID, "closure", c.ID, "by", by)
			return c, nil
		}
	}
	return Closure{}, apperr.Conflict("try_again", "Bitte versuchen Sie es noch einmal.", "Please try again.")
}

func newClosureID() string {
	return "c" + strings.ToLower(strings.ReplaceAll(newSecret()[:12], "_", "x"))
}

func (s *Bookings) closure(ctx context.Context, o *Office, id string) (Closure, error) {
	snap, err := s.st.readDays(ctx, o.ID, nil)
	if err != nil {
		return Closure{}, err
	}
	for _, c := range snap.closures {
		if c.ID == id {
			return c, nil
		}
	}
	return Closure{}, ErrClosureNotFound
}

// closureEvent is the display event of a closure: no personal data.
func closureEvent(c Closure) map[string]any {
	return map[string]any{"id": c.ID, "from": c.From.String(), "until": c.Until.String(), "title": c.Title,
		"message": c.Message, "cancelled": c.Cancelled}
}

// closureDates returns the dates a closure covers.
func closureDates(c Closure) []Date {
	var out []Date
	for d := c.From; !c.Until.Before(d); d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

// putClosure computes the appointments inside c and publishes it with their
// cancellations in one script, retrying when anything moved meanwhile.
func (s *Bookings) putClosure(ctx context.Context, o *Office, c Closure, dryRun bool) (ClosureResult, error) {
	dates := closureDates(c)
	for range maxRetries * 4 {
		now := s.clock.Now()
		snap, err := s.st.readDaysVer(ctx, o.ID, s.alternativeDates(o, c, now))
		if err != nil {
			return ClosureResult{}, err
		}
		appts, err := s.st.appointmentsOn(ctx, o, dates)
		if err != nil {
			return ClosureResult{}, err
		}
		inside := affected(o, c, appts, now)
		res := ClosureResult{Closure: c, Affected: len(inside), AffectedDays: countByDay(inside), DryRun: dryRun}
		for _, a := range inside {
			if a.Email == "" {
				res.ToCall = append(res.ToCall, a)
			}
		}
		if dryRun {
			return res, nil
		}
		cancels := s.closureCancels(o, c, inside, snap, now)
		out, err := s.st.putClosure(ctx, now, o.ID, c, snap.closuresVer, snap.dayVer, dates, cancels, closureEvent(c))
		if err != nil {
			return ClosureResult{}, err
		}
		if out == "ok" {
			s.log.Info("booking: closure published", "office", o.ID, "closure", c.ID, "cancelled", len(inside), "by", c.PublishedBy)
			return res, nil
		}
	}
	return ClosureResult{}, apperr.Conflict("try_again", "Gerade wurde viel gebucht; bitte versuchen Sie es noch einmal.",
		"Many bookings arrived just now; please try again.")
}

// affected returns the active appointments that c covers and that have not ended.
func affected(o *Office, c Closure, appts []Appointment, now time.Time) []Appointment {
	var out []Appointment
	for _, a := range appts {
		if !a.Active() || !a.End.After(now) {
			continue
		}
		from, to, ok := c.UnitsOn(o, a.Date)
		if ok && from < a.Unit+Unit(a.Units) && a.Unit < to {
			out = append(out, a)
		}
	}
	return out
}

func countByDay(appts []Appointment) []DayCount {
	var out []DayCount
	for _, a := range appts {
		if n := len(out); n > 0 && out[n-1].Date == a.Date {
			out[n-1].Count++
			continue
		}
		out = append(out, DayCount{Date: a.Date, Count: 1})
	}
	return out
}

// alternativeWindow is how far before and after a closure alternatives are sought.
const alternativeWindow = 21

func (s *Bookings) alternativeDates(o *Office, c Closure, now time.Time) []Date {
	var out []Date
	for d := c.From.AddDays(-alternativeWindow); !c.Until.AddDays(alternativeWindow).Before(d); d = d.AddDays(1) {
		out = append(out, d)
	}
	return s.bookableDates(o, out, now)
}

// closureCancels builds the cancellation of each appointment inside c with
// its mail: the closure's message, a CANCEL of the old time and up to three
// free slots of the same service as near the closure as possible.
func (s *Bookings) closureCancels(o *Office, c Closure, inside []Appointment, snap snapshot, now time.Time) []closureCancel {
	alts := map[string][]time.Time{}
	var out []closureCancel
	for _, a := range inside {
		if _, ok := alts[a.Service]; !ok {
			alts[a.Service] = s.alternatives(o, c, a.Service, snap, now, 3)
		}
		x := a
		x.Status, x.Seq, x.CancelReason = StatusCancelled, a.Seq+1, "closure:"+c.ID
		m := s.message(o, x, notify.KindClosure, now)
		m.Closure = &notify.Closure{Title: notify.Text(c.Title), Message: notify.Text(c.Message), From: c.From.String(),
			Until: c.Until.String(), Phone: firstNonEmpty(c.Phone, o.Phone), Email: c.Email, ComeBy: c.ComeBy}
		svc, _ := o.Service(a.Service)
		for _, t := range alts[a.Service] {
			m.Alternatives = append(m.Alternatives, notify.Alternative{Start: t, End: t.Add(svc.Duration()),
				RebookURL: s.manageURL(a.Token) + "?rebook=" + url.QueryEscape(t.Format(time.RFC3339))})
		}
		cc := closureCancel{appt: a, release: a.Start.After(now), msg: &m}
		if a.Email == "" {
			cc.msg = nil // booked by staff for a caller without an address: the office calls (the day list has the phone)
		}
		out = append(out, cc)
	}
	return out
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// alternatives returns up to n free starts of a service nearest to the
// closure c (before or after it, never inside).
func (s *Bookings) alternatives(o *Office, c Closure, serviceID string, snap snapshot, now time.Time, n int) []time.Time {
	svc, ok := o.Service(serviceID)
	if !ok {
		return nil
	}
	closures := append(slices.Clone(snap.closures), c)
	begin := c.From.Midnight(o.Location).Add(time.Duration(c.StartMin) * time.Minute)
	end := c.Until.AddDays(1).Midnight(o.Location)
	if c.Partial() {
		end = c.Until.Midnight(o.Location).Add(time.Duration(c.EndMin) * time.Minute)
	}
	type cand struct {
		t      time.Time
		dist   time.Duration
		before bool
	}
	var cands []cand
	for _, d := range s.alternativeDates(o, c, now) {
		p := o.Plan(d, o.closuresOn(d, closures))
		for _, u := range o.FreeStarts(p, snap.used[d], o.Units(svc.DurationMinutes), o.Earliest(now)) {
			t, _ := o.UnitTime(d, u)
			c := cand{t: t, dist: t.Sub(end)}
			if t.Before(begin) {
				c.dist, c.before = begin.Sub(t), true
			}
			cands = append(cands, c)
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return int(a.dist - b.dist) })
	// The nearest slot before and the nearest after come first (some must
	// come before, some can wait); then the nearest others, each at least an
	// hour from those chosen, so the choice is a real one.
	var out []time.Time
	pick := func(ok func(cand) bool) {
		for _, c := range cands {
			if len(out) < n && ok(c) && !slices.ContainsFunc(out, func(t time.Time) bool { return (t.Sub(c.t)).Abs() < time.Hour }) {
				out = append(out, c.t)
				return
			}
		}
	}
	pick(func(c cand) bool { return c.before })
	pick(func(c cand) bool { return !c.before })
	for len(out) < n {
		k := len(out)
		pick(func(cand) bool { return true })
		if len(out) == k {
			break
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// Closures returns an office's current and future closures (not withdrawn), by start.
func (s *Bookings) Closures(ctx context.Context, officeID string) ([]Closure, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, ErrOfficeNotFound
	}
	snap, err := s.st.readDays(ctx, o.ID, nil)
	if err != nil {
		return nil, err
	}
	today := o.Today(s.clock.Now())
	var out []Closure
	for _, c := range snap.closures {
		if !c.Until.Before(today) {
			out = append(out, c)
		}
	}
	return out, nil
}

// ClosureAt returns the closure (or public holiday) in force at t, or nil.
func (s *Bookings) ClosureAt(ctx context.Context, officeID string, t time.Time) (*Closure, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return nil, ErrOfficeNotFound
	}
	snap, err := s.st.readDays(ctx, o.ID, nil)
	if err != nil {
		return nil, err
	}
	d, u, _ := o.UnitOf(t)
	for _, c := range o.closuresOn(d, snap.closures) {
		if from, to, ok := c.UnitsOn(o, d); ok && u >= from && u < to {
			return &c, nil
		}
	}
	return nil, nil
}
