package queue

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

func TestHTTPTicketCreate(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), nil)
		t.Run("Created", func(t *testing.T) {
			resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var got Issued
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Ticket.Number != "A001" || got.Ticket.Position != 1 || !strings.HasPrefix(got.Token, "testamt.20261001.") ||
				got.StatusURL != "http://localhost:8080/t/"+got.Token {
				t.Fatalf("response %s", body)
			}
			resp, body = s.do(t, "GET", "/api/v1/tickets/"+got.Token, nil, false)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"number":"A001"`) {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		})
		t.Run("QuotaReached409", func(t *testing.T) {
			for range 2 {
				if resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "fundsache"}, false); resp.StatusCode != 201 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
			}
			resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "fundsache"}, false)
			wantEnvelope(t, resp, body, http.StatusConflict, "quota_reached")
		})
		t.Run("UnknownService422", func(t *testing.T) {
			resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "x"}, false)
			if e := wantEnvelope(t, resp, body, http.StatusUnprocessableEntity, "unknown_service"); e["field"] != "service" {
				t.Fatalf("field %v", e["field"])
			}
		})
		t.Run("Malformed400", func(t *testing.T) {
			resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]any{"service": 1}, false)
			wantEnvelope(t, resp, body, http.StatusBadRequest, "wrong_type")
		})
		t.Run("UnknownOffice404", func(t *testing.T) {
			resp, body := s.do(t, "POST", "/api/v1/offices/nope/tickets", map[string]string{"service": "x"}, false)
			wantEnvelope(t, resp, body, http.StatusNotFound, "office_not_found")
		})
		t.Run("UnknownToken404", func(t *testing.T) {
			resp, body := s.do(t, "GET", "/api/v1/tickets/testamt.20261001.AAAAAAAAAAAAAAAAAAAAAA", nil, false)
			wantEnvelope(t, resp, body, http.StatusNotFound, "ticket_not_found")
		})
	})
}

func TestHTTPRefusedWhileClosed(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		closure := &Closure{ID: "c1", From: "2026-10-01", Until: "2026-10-01", Title: "Personalversammlung",
			Message: "Heute ab 9 Uhr geschlossen.", MessageEn: "Closed from 9 today."}
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), func(c *Config) { c.Closures = fixedClosure{closure} })
		resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		e := wantEnvelope(t, resp, body, http.StatusConflict, "office_closed")
		if !strings.Contains(e["message"].(string), closure.Message) {
			t.Fatalf("message %q lacks the closure message", e["message"])
		}
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/offices/testamt/tickets", strings.NewReader(`{"service":"ummeldung"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", "en")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		e = wantEnvelope(t, resp, body, http.StatusConflict, "office_closed")
		if e["message"] != "The office is closed: Closed from 9 today." {
			t.Fatalf("English message %q", e["message"])
		}
	})
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-04 10:00"), nil) // a Sunday
		s.office.Hours[0] = nil
		resp, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		e := wantEnvelope(t, resp, body, http.StatusConflict, "office_not_open")
		if d, _ := e["details"].(map[string]any); d["reason"] == "" {
			t.Fatalf("no reason: %s", body)
		}
	})
}

// TestHTTPCallNextRetry: a call-next retried with its Idempotency-Key gets
// the ticket it called (Idempotent-Replayed), still called.
func TestHTTPCallNextRetry(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), nil)
		base := "/api/v1/staff/offices/testamt"
		if resp, body := s.do(t, "POST", base+"/counters/1/open", nil, true); resp.StatusCode != 200 {
			t.Fatalf("open: %d %s", resp.StatusCode, body)
		}
		s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		resp, body := s.doWith(t, "POST", base+"/counters/1/call-next", "A001-call", true)
		if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "" || !strings.Contains(string(body), `"number":"A001"`) {
			t.Fatalf("first call with a key: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		resp, body = s.doWith(t, "POST", base+"/counters/1/call-next", "A001-call", true)
		if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(body), `"number":"A001"`) ||
			!strings.Contains(string(body), `"status":"called"`) {
			t.Fatalf("retry: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		resp, body = s.doWith(t, "POST", base+"/counters/1/call-next", "bad key", true)
		wantEnvelope(t, resp, body, http.StatusBadRequest, "invalid_idempotency_key")
		resp, body = s.doWith(t, "POST", base+"/counters/1/call-next", "A002-call", true)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"number":"A002"`) {
			t.Fatalf("a new key: %d %s, want A002", resp.StatusCode, body)
		}
	})
}

func TestHTTPStaff(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st, at(t, "2026-10-01 09:00"), nil)
		base := "/api/v1/staff/offices/testamt"
		t.Run("Unauthenticated401", func(t *testing.T) {
			resp, body := s.do(t, "POST", base+"/counters/1/call-next", nil, false)
			wantEnvelope(t, resp, body, http.StatusUnauthorized, "unauthenticated")
		})
		if resp, body := s.do(t, "POST", base+"/counters/1/open", map[string]any{"services": []string{"ummeldung"}}, true); resp.StatusCode != 200 {
			t.Fatalf("open: %d %s", resp.StatusCode, body)
		}
		t.Run("NobodyWaits204", func(t *testing.T) {
			resp, body := s.do(t, "POST", base+"/counters/1/call-next", nil, true)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		})
		s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
		t.Run("Called200", func(t *testing.T) {
			resp, body := s.do(t, "POST", base+"/counters/1/call-next", nil, true)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"number":"A001"`) || !strings.Contains(string(body), `"by":"anna"`) {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		})
		t.Run("Actions", func(t *testing.T) {
			resp, body := s.do(t, "POST", base+"/tickets/A001/recall", nil, true)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"recalls":1`) {
				t.Fatalf("recall: %d %s", resp.StatusCode, body)
			}
			resp, body = s.do(t, "POST", base+"/tickets/A001/transfer", map[string]string{"service": "pass"}, true)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"service":"pass"`) {
				t.Fatalf("transfer: %d %s", resp.StatusCode, body)
			}
			resp, body = s.do(t, "POST", base+"/tickets/A001/finish", nil, true)
			wantEnvelope(t, resp, body, http.StatusConflict, "ticket_state_changed")
			resp, body = s.do(t, "POST", base+"/tickets/A001/dance", nil, true)
			wantEnvelope(t, resp, body, http.StatusNotFound, "unknown_action")
			resp, body = s.do(t, "POST", base+"/counters/9/call-next", nil, true)
			wantEnvelope(t, resp, body, http.StatusNotFound, "counter_not_found")
		})
		t.Run("TicketIndex", func(t *testing.T) {
			s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "ummeldung"}, false)
			resp, body := s.do(t, "GET", base+"/tickets?status=waiting", nil, true)
			var got struct{ Tickets []StaffTicket }
			if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if len(got.Tickets) != 2 || got.Tickets[0].Number != "A001" || got.Tickets[1].Number != "A002" {
				t.Fatalf("waiting tickets %s, want A001 (transferred) and A002", body)
			}
		})
		t.Run("Stats", func(t *testing.T) {
			resp, body := s.do(t, "GET", base+"/stats?from=2026-10-01&to=2026-10-01", nil, true)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"service":"pass"`) {
				t.Fatalf("stats: %d %s", resp.StatusCode, body)
			}
			resp, body = s.do(t, "GET", base+"/stats?from=2026-10-01&to=2026-10-01&format=csv", nil, true)
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil || resp.StatusCode != 200 || len(rows) != 3 || rows[0][0] != "date" || rows[1][1] != "ummeldung" || rows[2][1] != "pass" || rows[2][2] != "1" {
				t.Fatalf("csv: %d %v %q", resp.StatusCode, err, body)
			}
			resp, body = s.do(t, "GET", base+"/stats?from=2026-10-02&to=2026-10-01", nil, true)
			wantEnvelope(t, resp, body, http.StatusUnprocessableEntity, "invalid_range")
		})
	})
}
