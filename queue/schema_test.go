package queue

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// switchClosure is a closure checker that can be switched on.
type switchClosure struct {
	mu sync.Mutex
	c  *Closure
}

func (s *switchClosure) set(c *Closure) { s.mu.Lock(); s.c = c; s.mu.Unlock() }

func (s *switchClosure) ClosedAt(context.Context, string, time.Time) (*Closure, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c, nil
}

// Every key a public payload may have; anything else fails the test.
var (
	ticketKeys  = []string{"number", "service", "status", "position", "estimated_wait_minutes", "counter", "appointment_at"}
	issuedKeys  = []string{"ticket", "token", "status_url"}
	displayKeys = []string{"office", "called", "waiting", "services", "open_counters", "closure", "last_event_id",
		"number", "counter", "called_at", "service", "service_name", "letter", "estimated_wait_minutes",
		"title", "message", "from", "until"}
	eventKeys = []string{"number", "counter", "service", "from", "open"}
	// personal is what no key of a public payload may look like.
	personal = regexp.MustCompile(`(?i)(^|_)(name|mail|e_?mail|phone|tel|mobile|birth|birthday|address|street|user|username|by|history|note|comment)s?($|_)`)
)

// checkKeys walks a JSON value: every object key must be allowed and must not
// look personal (service_name, the office's own name of a service, is the one
// allowed *_name); no string may look like an e-mail address or be a staff user.
func checkKeys(t *testing.T, what string, raw []byte, allowed ...[]string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, raw)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				ok := false
				for _, a := range allowed {
					ok = ok || slices.Contains(a, k)
				}
				if !ok {
					t.Errorf("%s: field %s.%s is not in the schema", what, path, k)
				}
				if k != "service_name" && personal.MatchString(k) {
					t.Errorf("%s: field %s.%s could carry personal data", what, path, k)
				}
				walk(path+"."+k, val)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			if strings.Contains(x, "@") || x == "anna" {
				t.Errorf("%s: value %s = %q looks personal", what, path, x)
			}
		}
	}
	walk("$", v)
}

// TestPayloadSchemas checks every display and ticket-status payload, from a
// day with walk-ins, a check-in, calls, recalls, transfers, parks, no-shows,
// finishes and a closure notice.
func TestPayloadSchemas(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		closures := &switchClosure{}
		now := at(t, "2026-10-01 09:00")
		s := newTestServer(t, st, now, func(c *Config) { c.Closures = closures })
		s.appts.add(CheckinAppointment{ID: "ap", Code: "CODE1", Service: "pass", Start: now, Status: "confirmed"})
		displayStream := openSSE(t, s.URL+"/api/v1/offices/testamt/display/stream?last_event_id=0-0", "")

		var tokens []string
		for _, svc := range []string{"ummeldung", "pass", "ummeldung", "fundsache"} {
			_, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": svc}, false)
			checkKeys(t, "POST tickets", body, issuedKeys, ticketKeys)
			var iss Issued
			_ = json.Unmarshal(body, &iss)
			tokens = append(tokens, iss.Token)
		}
		_, body := s.do(t, "POST", "/api/v1/offices/testamt/checkins", map[string]string{"code": "CODE1"}, false)
		checkKeys(t, "POST checkins", body, issuedKeys, ticketKeys)
		var appt Issued
		_ = json.Unmarshal(body, &appt)
		tokens = append(tokens, appt.Token)
		ticketStream := openSSE(t, s.URL+"/api/v1/tickets/"+tokens[2]+"/stream", "")

		staff := "/api/v1/staff/offices/testamt"
		s.do(t, "POST", staff+"/counters/1/open", nil, true)
		s.do(t, "POST", staff+"/counters/2/open", map[string]any{"services": []string{"pass"}}, true)
		s.do(t, "POST", staff+"/counters/1/call-next", nil, true) // the due appointment B002
		s.do(t, "POST", staff+"/counters/2/call-next", nil, true) // B001
		s.do(t, "POST", staff+"/counters/1/call-next", nil, true) // finishes B002, calls A001
		s.do(t, "POST", staff+"/tickets/A001/recall", nil, true)
		s.do(t, "POST", staff+"/tickets/A001/no-show", nil, true)
		s.do(t, "POST", staff+"/tickets/C001/transfer", map[string]string{"service": "ummeldung"}, true)
		s.do(t, "POST", staff+"/tickets/B001/park", nil, true)
		s.do(t, "POST", staff+"/tickets/B001/unpark", nil, true)
		s.do(t, "POST", staff+"/counters/1/call-next", nil, true)
		s.do(t, "POST", staff+"/counters/1/call-next", nil, true)
		s.do(t, "POST", staff+"/counters/2/close", nil, true)
		closures.set(&Closure{ID: "c", From: "2026-10-01", Until: "2026-10-01", Title: "Stromausfall", Message: "Wir schließen heute früher."})

		for _, tok := range tokens {
			_, body := s.do(t, "GET", "/api/v1/tickets/"+tok, nil, false)
			checkKeys(t, "GET tickets/{token}", body, []string{"ticket"}, ticketKeys)
		}
		_, body = s.do(t, "GET", "/api/v1/offices/testamt/display", nil, false)
		checkKeys(t, "GET display", body, displayKeys)
		var d Display
		_ = json.Unmarshal(body, &d)
		if d.Closure == nil || len(d.Called) < 4 || d.OpenCounters != 1 {
			t.Fatalf("display lacks what the day produced: %s", body)
		}

		// every event the display stream carried up to the last one of the day
		seen := map[string]bool{}
		for {
			ev, err := displayStream.next()
			if err != nil {
				t.Fatal(err)
			}
			seen[ev.Name] = true
			checkKeys(t, "display event "+ev.Name, []byte(ev.Data), eventKeys)
			if ev.ID == d.LastEventID {
				break
			}
		}
		for _, name := range []string{"issued", "called", "no_show", "transferred", "parked", "unparked", "finished", "counter"} {
			if !seen[name] {
				t.Errorf("the day produced no %q event to check", name)
			}
		}
		ev := ticketStream.nextNamed(t, "status")
		checkKeys(t, "ticket stream status", []byte(ev.Data), []string{"ticket"}, ticketKeys)
	})
}
