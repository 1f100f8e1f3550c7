package booking

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
	"gopkg.in/yaml.v3"

	"github.com/rathaus/rathaus/examples"
)

// ConfigError is a problem in an offices file, with the line it is on.
type ConfigError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// Error returns "file:line: field: message".
func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return loc + ": " + e.Msg
}

// LoadOfficesFile reads and validates an offices file.
func LoadOfficesFile(path string) ([]*Office, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("booking.LoadOfficesFile: %w", err)
	}
	return ParseOffices(path, data)
}

// DemoOffices returns the built-in demo office (examples/offices.yaml).
func DemoOffices() []*Office {
	offices, err := ParseOffices("examples/offices.yaml", examples.OfficesYAML)
	if err != nil {
		panic("booking: the demo office does not parse: " + err.Error())
	}
	return offices
}

type fileYAML struct {
	Offices []officeYAML `yaml:"offices"`
}

// The YAML shapes carry no UnmarshalYAML of their own (except rangeYAML, which
// checks its keys by hand): yaml.v3 forgets KnownFields inside a custom
// unmarshaler, and unknown keys must be errors. Lines come from the node tree,
// which ParseOffices reads alongside.
type officeYAML struct {
	node                *yaml.Node
	ID                  string                 `yaml:"id"`
	Name                string                 `yaml:"name"`
	Timezone            string                 `yaml:"timezone"`
	State               string                 `yaml:"state"`
	Phone               string                 `yaml:"phone"`
	Email               string                 `yaml:"email"`
	Address             string                 `yaml:"address"`
	Counters            []string               `yaml:"counters"`
	AppointmentCounters *int                   `yaml:"appointment_counters"`
	OnlineShare         *float64               `yaml:"online_share"`
	SlotMinutes         *int                   `yaml:"slot_minutes"`
	LeadMinutes         *int                   `yaml:"lead_minutes"`
	HorizonDays         *int                   `yaml:"horizon_days"`
	HoldMinutes         *int                   `yaml:"hold_minutes"`
	MaxActivePerEmail   *int                   `yaml:"max_active_per_email"`
	ConfirmByEmail      bool                   `yaml:"confirm_by_email"`
	ProofOfWork         bool                   `yaml:"proof_of_work"`
	ConfirmMinutes      *int                   `yaml:"confirm_minutes"`
	RetentionDays       *int                   `yaml:"retention_days"`
	ReminderHours       *[]int                 `yaml:"reminder_hours"`
	Services            []serviceYAML          `yaml:"services"`
	OpeningHours        map[string][]rangeYAML `yaml:"opening_hours"`
	OpenOnHolidays      []string               `yaml:"open_on_holidays"`
}

type serviceYAML struct {
	ID               string   `yaml:"id"`
	Letter           string   `yaml:"letter"`
	Name             Text     `yaml:"name"`
	DurationMinutes  int      `yaml:"duration_minutes"`
	Documents        TextList `yaml:"documents"`
	Fee              Text     `yaml:"fee"`
	DailyTicketQuota int      `yaml:"daily_ticket_quota"`
}

// rangeYAML is "HH:MM-HH:MM" or {time: "HH:MM-HH:MM", counters: n, online_share: f}.
type rangeYAML struct {
	line        int
	Time        string   `yaml:"time"`
	Counters    *int     `yaml:"counters"`
	OnlineShare *float64 `yaml:"online_share"`
}

// UnmarshalYAML reads either form of a range and refuses unknown keys itself,
// since the decoder's KnownFields does not reach into custom unmarshalers.
func (r *rangeYAML) UnmarshalYAML(n *yaml.Node) error {
	r.line = n.Line
	if n.Kind == yaml.ScalarNode {
		r.Time = n.Value
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value != "time" && k.Value != "counters" && k.Value != "online_share" {
				return &ConfigError{Line: k.Line, Msg: fmt.Sprintf("unknown key %q (a range has time, counters, online_share)", k.Value)}
			}
		}
	}
	type plain rangeYAML
	if err := n.Decode((*plain)(r)); err != nil {
		return fmt.Errorf("booking: opening range: %w", err)
	}
	return nil
}

// ParseOffices parses and validates an offices file; name is used in errors.
func ParseOffices(name string, data []byte) ([]*Office, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, data, err)
	}
	if len(root.Content) == 0 {
		return nil, &ConfigError{File: name, Msg: "the file is empty; it needs an offices list"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f fileYAML
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: name, Msg: "the file is empty; it needs an offices list"}
		}
		return nil, yamlError(name, err)
	}
	_, list := mapEntry(root.Content[0], "offices")
	if len(f.Offices) == 0 || list == nil || len(list.Content) != len(f.Offices) {
		return nil, &ConfigError{File: name, Line: lineOf(list, root.Content[0]), Field: "offices", Msg: "at least one office is needed"}
	}
	var out []*Office
	seen := map[string]bool{}
	for i, oy := range f.Offices {
		oy.node = list.Content[i]
		o, err := oy.build(name, fmt.Sprintf("offices[%d]", i))
		if err != nil {
			return nil, err
		}
		if seen[o.ID] {
			return nil, &ConfigError{File: name, Line: oy.keyLine("id"), Field: fmt.Sprintf("offices[%d].id", i), Msg: fmt.Sprintf("office id %q appears twice", o.ID)}
		}
		seen[o.ID] = true
		out = append(out, o)
	}
	return out, nil
}

// mapEntry returns the key and value nodes of key in mapping n, or nils.
func mapEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// lineOf returns the line of the first node that is not nil.
func lineOf(nodes ...*yaml.Node) int {
	for _, n := range nodes {
		if n != nil {
			return n.Line
		}
	}
	return 0
}

// keyLine returns the line of the office's key, or the office's own line when
// the key is absent.
func (oy officeYAML) keyLine(key string) int {
	k, _ := mapEntry(oy.node, key)
	return lineOf(k, oy.node)
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns yaml.v3's messages ("yaml: unmarshal errors:\n  line 5:
// field foo not found in type booking.officeYAML") into a ConfigError with the
// line and a message without Go type names.
func yamlError(name string, err error) error {
	var ce *ConfigError
	if errors.As(err, &ce) {
		c := *ce
		c.File = name
		return &c
	}
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		text := m[2]
		field := ""
		if f, ok := strings.CutPrefix(text, "field "); ok {
			if fld, _, ok := strings.Cut(f, " not found"); ok {
				text, field = fmt.Sprintf("unknown key %q", fld), fld
			}
		}
		text = goTypeRE.ReplaceAllString(text, "")
		return &ConfigError{File: name, Line: line, Field: field, Msg: text}
	}
	return &ConfigError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// syntaxError reports a YAML syntax error. yaml.v3 often names the line where
// the enclosing block began rather than the faulty one, so the line comes from
// goccy/go-yaml's parser, which points at the offending token.
func syntaxError(name string, data []byte, err error) error {
	e := yamlError(name, err)
	var ce *ConfigError
	var se *goccy.SyntaxError
	if _, perr := goccyparser.ParseBytes(data, 0); errors.As(perr, &se) && se.Token != nil && errors.As(e, &ce) {
		ce.Line = se.Token.Position.Line
	}
	return e
}

var goTypeRE = regexp.MustCompile(` (into|in type) [\w.\[\]*]+`)

var (
	idRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	letterRE = regexp.MustCompile(`^[A-Z]$`)
	rangeRE  = regexp.MustCompile(`^(\d{2}):(\d{2})-(\d{2}):(\d{2})$`)
	weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
		"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
)

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

func (oy officeYAML) build(file, path string) (*Office, error) {
	fail := func(field, format string, a ...any) error {
		return &ConfigError{File: file, Line: oy.keyLine(field), Field: path + "." + field, Msg: fmt.Sprintf(format, a...)}
	}
	if !idRE.MatchString(oy.ID) {
		return nil, fail("id", "%q is not an id (a–z, 0–9 and '-', at most 40 characters)", oy.ID)
	}
	if strings.TrimSpace(oy.Name) == "" {
		return nil, fail("name", "is required")
	}
	o := &Office{ID: oy.ID, Name: oy.Name, Timezone: oy.Timezone, State: strings.ToUpper(oy.State), Phone: oy.Phone,
		Email: oy.Email, Address: oy.Address, Counters: oy.Counters,
		SlotMinutes: intOr(oy.SlotMinutes, 5), LeadMinutes: intOr(oy.LeadMinutes, 60),
		HorizonDays: intOr(oy.HorizonDays, 56), HoldMinutes: intOr(oy.HoldMinutes, 10),
		MaxActivePerEmail: intOr(oy.MaxActivePerEmail, 2), ConfirmByEmail: oy.ConfirmByEmail,
		ConfirmMinutes: intOr(oy.ConfirmMinutes, 60), RetentionDays: intOr(oy.RetentionDays, 14), OpenDates: oy.OpenOnHolidays,
		ProofOfWork: oy.ProofOfWork}
	if o.Timezone == "" {
		o.Timezone = "Europe/Berlin"
	}
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		return nil, fail("timezone", "%q is not a known time zone", o.Timezone)
	}
	o.Location = loc
	if o.State == "" {
		o.State = "SH"
	}
	if !KnownState(o.State) {
		return nil, fail("state", "%q is not a Bundesland code (BW, BY, BE, BB, HB, HH, HE, MV, NI, NW, RP, SL, SN, ST, SH, TH)", o.State)
	}
	if len(o.Counters) == 0 {
		return nil, fail("counters", "at least one counter is needed")
	}
	for i, c := range o.Counters {
		if c == "" || len(c) > 16 || slices.Index(o.Counters, c) != i {
			return nil, fail("counters", "counter %q is empty, longer than 16 characters or listed twice", c)
		}
	}
	switch {
	case o.SlotMinutes < 1 || o.SlotMinutes > 60 || 1440%o.SlotMinutes != 0:
		return nil, fail("slot_minutes", "%d does not divide a day (use 5, 10, 15, 20, 30 or 60)", o.SlotMinutes)
	case o.LeadMinutes < 0 || o.LeadMinutes > 60*24*30:
		return nil, fail("lead_minutes", "%d is not between 0 and 43200", o.LeadMinutes)
	case o.HorizonDays < 1 || o.HorizonDays > 366:
		return nil, fail("horizon_days", "%d is not between 1 and 366", o.HorizonDays)
	case o.HoldMinutes < 1 || o.HoldMinutes > 60:
		return nil, fail("hold_minutes", "%d is not between 1 and 60", o.HoldMinutes)
	case o.MaxActivePerEmail < 1 || o.MaxActivePerEmail > 100:
		return nil, fail("max_active_per_email", "%d is not between 1 and 100", o.MaxActivePerEmail)
	case o.ConfirmMinutes < 5 || o.ConfirmMinutes > 24*60:
		return nil, fail("confirm_minutes", "%d is not between 5 and 1440", o.ConfirmMinutes)
	case o.RetentionDays < 1 || o.RetentionDays > 365:
		return nil, fail("retention_days", "%d is not between 1 and 365", o.RetentionDays)
	}
	o.ReminderLeads = []time.Duration{defaultReminderLead}
	if oy.ReminderHours != nil {
		o.ReminderLeads = nil
		hs := *oy.ReminderHours
		if len(hs) > 3 {
			return nil, fail("reminder_hours", "at most 3 reminders, not %d", len(hs))
		}
		for i, h := range hs {
			if h < 1 || h > 168 || slices.Index(hs, h) != i {
				return nil, fail("reminder_hours", "%d is not between 1 and 168 hours, or listed twice", h)
			}
			o.ReminderLeads = append(o.ReminderLeads, time.Duration(h)*time.Hour)
		}
		slices.SortFunc(o.ReminderLeads, func(a, b time.Duration) int { return cmp.Compare(b, a) })
	}
	for _, d := range o.OpenDates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, fail("open_on_holidays", "%q is not a date YYYY-MM-DD", d)
		}
	}
	apptCounters := intOr(oy.AppointmentCounters, len(o.Counters))
	if apptCounters < 0 || apptCounters > len(o.Counters) {
		return nil, fail("appointment_counters", "%d is not between 0 and the number of counters (%d)", apptCounters, len(o.Counters))
	}
	share := 1.0
	if oy.OnlineShare != nil {
		share = *oy.OnlineShare
	}
	if share < 0 || share > 1 {
		return nil, fail("online_share", "%g is not between 0 and 1", share)
	}
	if err := o.buildServices(file, path, oy); err != nil {
		return nil, err
	}
	if err := o.buildHours(file, path, oy, apptCounters, share); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Office) buildServices(file, path string, oy officeYAML) error {
	if len(oy.Services) == 0 {
		return &ConfigError{File: file, Line: oy.keyLine("services"), Field: path + ".services", Msg: "at least one service is needed"}
	}
	_, list := mapEntry(oy.node, "services")
	used := map[string]bool{}
	for i, sy := range oy.Services {
		fail := func(field, format string, a ...any) error {
			item := list.Content[i]
			k, _ := mapEntry(item, field)
			return &ConfigError{File: file, Line: lineOf(k, item), Field: fmt.Sprintf("%s.services[%d].%s", path, i, field), Msg: fmt.Sprintf(format, a...)}
		}
		if !idRE.MatchString(sy.ID) {
			return fail("id", "%q is not an id (a–z, 0–9 and '-')", sy.ID)
		}
		if _, dup := o.Service(sy.ID); dup {
			return fail("id", "service %q appears twice", sy.ID)
		}
		if sy.Name.De == "" || sy.Name.En == "" {
			return fail("name", "needs both de and en")
		}
		if sy.DurationMinutes < 1 || sy.DurationMinutes > 8*60 {
			return fail("duration_minutes", "%d is not between 1 and 480", sy.DurationMinutes)
		}
		if sy.DailyTicketQuota < 0 {
			return fail("daily_ticket_quota", "must not be negative")
		}
		letter := sy.Letter
		if letter == "" {
			letter = string(rune('A' + i%26))
		}
		if !letterRE.MatchString(letter) || used[letter] {
			return fail("letter", "%q is not a single capital letter unused by another service", letter)
		}
		used[letter] = true
		o.Services = append(o.Services, Service{ID: sy.ID, Name: sy.Name, DurationMinutes: sy.DurationMinutes,
			Documents: sy.Documents, Fee: sy.Fee, Letter: letter, DailyTicketQuota: sy.DailyTicketQuota})
	}
	return nil
}

// buildHours reads the weekly opening ranges in file order, so that the first
// problem in the file is the one reported.
func (o *Office) buildHours(file, path string, oy officeYAML, apptCounters int, share float64) error {
	_, hours := mapEntry(oy.node, "opening_hours")
	if hours == nil {
		return nil
	}
	for j := 0; j+1 < len(hours.Content); j += 2 {
		day := hours.Content[j].Value
		wd, ok := weekdays[strings.ToLower(day)]
		if !ok {
			return &ConfigError{File: file, Line: hours.Content[j].Line, Field: path + ".opening_hours." + day, Msg: fmt.Sprintf("%q is not a weekday (mon, tue, wed, thu, fri, sat, sun)", day)}
		}
		if len(o.Hours[wd]) > 0 {
			return &ConfigError{File: file, Line: hours.Content[j].Line, Field: path + ".opening_hours." + day, Msg: "the weekday is listed twice"}
		}
		lines := map[int]int{} // start minute -> line, to name the overlapping range
		for i, ry := range oy.OpeningHours[day] {
			field := fmt.Sprintf("%s.opening_hours.%s[%d]", path, day, i)
			tr, err := ry.build(o, apptCounters, share)
			if err != nil {
				return &ConfigError{File: file, Line: ry.line, Field: field, Msg: err.Error()}
			}
			for _, prev := range o.Hours[wd] {
				if tr.Start < prev.End && prev.Start < tr.End {
					return &ConfigError{File: file, Line: ry.line, Field: field,
						Msg: fmt.Sprintf("%q overlaps %s-%s (line %d)", ry.Time, clockText(prev.Start), clockText(prev.End), lines[prev.Start])}
				}
			}
			lines[tr.Start] = ry.line
			o.Hours[wd] = append(o.Hours[wd], tr)
		}
		slices.SortFunc(o.Hours[wd], func(a, b TimeRange) int { return a.Start - b.Start })
	}
	return nil
}

func (ry rangeYAML) build(o *Office, apptCounters int, share float64) (TimeRange, error) {
	m := rangeRE.FindStringSubmatch(ry.Time)
	if m == nil {
		return TimeRange{}, fmt.Errorf("%q is not a range HH:MM-HH:MM", ry.Time)
	}
	h1, _ := strconv.Atoi(m[1])
	m1, _ := strconv.Atoi(m[2])
	h2, _ := strconv.Atoi(m[3])
	m2, _ := strconv.Atoi(m[4])
	start, end := h1*60+m1, h2*60+m2
	if h1 > 23 || m1 > 59 || m2 > 59 || end > 1440 || start >= end {
		return TimeRange{}, fmt.Errorf("%q is not a valid range within a day (start before end, 24:00 at most)", ry.Time)
	}
	if start%o.SlotMinutes != 0 || end%o.SlotMinutes != 0 {
		return TimeRange{}, fmt.Errorf("%q does not fall on the %d-minute slot grid", ry.Time, o.SlotMinutes)
	}
	counters := intOr(ry.Counters, apptCounters)
	if counters < 0 || counters > len(o.Counters) {
		return TimeRange{}, fmt.Errorf("counters %d is not between 0 and %d", counters, len(o.Counters))
	}
	if ry.OnlineShare != nil {
		share = *ry.OnlineShare
	}
	if share < 0 || share > 1 {
		return TimeRange{}, fmt.Errorf("online_share %g is not between 0 and 1", share)
	}
	seats := int(math.Floor(float64(counters)*share + 1e-9))
	if seats > 255 {
		return TimeRange{}, fmt.Errorf("at most 255 bookable seats per slot")
	}
	return TimeRange{Start: start, End: end, Counters: counters, Seats: seats}, nil
}
