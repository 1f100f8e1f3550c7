package booking

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apitest"
	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/httpx"
	"github.com/rathaus/rathaus/internal/icaltest"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// testServer serves the booking routes with the real middleware and staff
// authentication over st, like cmd/rathaus wires them.
type testServer struct {
	*apitest.Client
	url      string
	bookings *Bookings
	office   *Office
	clock    *clock.Simulated
	authSvc  *auth.Service
}

func newTestServer(t *testing.T, st *store.Store) *testServer {
	t.Helper()
	gin.SetMode(gin.TestMode)
	b, o, clk := newBookings(t, st, "")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	authSvc := auth.NewService(st.Client, clk, log)
	authHTTP := auth.NewHTTP(authSvc, false)
	r := gin.New()
	r.Use(httpx.Recover(log), httpx.SecurityHeaders(false))
	r.NoRoute(func(c *gin.Context) { httpx.Error(c, httpx.ErrNotFoundRoute) })
	api := r.Group("/api/v1", httpx.LimitBody())
	authHTTP.Register(api)
	NewHTTP(b).Register(api, Guards{Staff: []gin.HandlerFunc{authHTTP.Require(), auth.RequireOffice()},
		Admin: []gin.HandlerFunc{authHTTP.Require(), auth.RequireAdmin()}})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &testServer{Client: apitest.New(t, srv.URL), url: srv.URL, bookings: b, office: o, clock: clk, authSvc: authSvc}
}

func book(email, start string) map[string]any {
	return map[string]any{"service": "short", "start": start, "name": "Anna Muster", "email": email}
}

func TestHTTPBookingFlow(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st)
		var av struct {
			Days []struct {
				Date, Status string
				FreeSlots    int `json:"free_slots"`
			}
		}
		s.Get(t, "/api/v1/offices/test/availability?service=short&from=2026-10-03&to=2026-10-06").Want(t, 200).Decode(t, &av)
		got := fmt.Sprint(av.Days)
		// 3 Oct: Saturday and a holiday; 4 Oct: Sunday; 5 and 6 Oct: 24 free starts each.
		if got != "[{2026-10-03 closed 0} {2026-10-04 closed 0} {2026-10-05 open 24} {2026-10-06 open 24}]" {
			t.Fatalf("availability = %s", got)
		}
		var booked struct {
			Appointment struct{ Code, Status, Start string }
			Token       string
			ManageURL   string `json:"manage_url"`
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("anna@example.org", slot)).Want(t, 201).Decode(t, &booked)
		if booked.Appointment.Status != "confirmed" || booked.Appointment.Start != slot || !strings.HasPrefix(booked.ManageURL, "https://termine.example/a/test.") {
			t.Fatalf("booked = %+v", booked)
		}
		s.Get(t, "/api/v1/appointments/"+booked.Token).Want(t, 200)
		s.Post(t, "/api/v1/appointments/"+booked.Token+"/reschedule", map[string]any{"start": "2026-10-05T09:30:00+02:00"}).Want(t, 200)
		s.Delete(t, "/api/v1/appointments/"+booked.Token).Want(t, 200)
		var again struct{ Appointment struct{ Status string } }
		s.Delete(t, "/api/v1/appointments/"+booked.Token).Want(t, 200).Decode(t, &again)
		if again.Appointment.Status != "cancelled" {
			t.Fatalf("second cancel status = %s", again.Appointment.Status)
		}
		s.Post(t, "/api/v1/appointments/"+booked.Token+"/reschedule", map[string]any{"start": slot}).WantError(t, 409, "appointment_inactive")
	})
}

func TestHTTPIdempotency(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st)
		first := s.Post(t, "/api/v1/offices/test/appointments", book("i@example.org", slot), "Idempotency-Key", "key-1").Want(t, 201)
		replay := s.Post(t, "/api/v1/offices/test/appointments", book("i@example.org", slot), "Idempotency-Key", "key-1").Want(t, 201)
		if string(first.Body) != string(replay.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, replay.Body)
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("other@example.org", slot), "Idempotency-Key", "key-1").
			WantError(t, 422, "idempotency_key_reused")
		list, _ := s.bookings.DayList(context.Background(), "test", Date{2026, 10, 5})
		if len(list) != 1 {
			t.Fatalf("%d appointments after a replay, want 1", len(list))
		}
		// A refusal is replayed too.
		for range 3 {
			s.Post(t, "/api/v1/offices/test/appointments", book(fmt.Sprintf("f%d@example.org", len(list)), "2026-10-05T10:00:00+02:00")).Want(t, 201)
			list = append(list, Appointment{})
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("late@example.org", "2026-10-05T10:00:00+02:00"), "Idempotency-Key", "key-2").WantError(t, 409, "slot_taken")
		s.Post(t, "/api/v1/offices/test/appointments", book("late@example.org", "2026-10-05T10:00:00+02:00"), "Idempotency-Key", "key-2").WantError(t, 409, "slot_taken")
		// A repeat while the first still runs is 409.
		if _, err := s.bookings.st.idemBegin(context.Background(), "test", HashKey([]byte("key-3")), HashKey([]byte("{}"))); err != nil {
			t.Fatal(err)
		}
		s.Unchecked().Post(t, "/api/v1/offices/test/appointments", "{}", "Idempotency-Key", "key-3").WantError(t, 409, "idempotency_in_progress")
		// After a 503 the claim is dropped while it still runs, but not once
		// the booking finished it (its reply was lost): a retry gets that booking.
		ctx := context.Background()
		if err := s.bookings.st.idemForget(ctx, "test", HashKey([]byte("key-3"))); err != nil {
			t.Fatal(err)
		}
		if state, err := s.bookings.st.idemBegin(ctx, "test", HashKey([]byte("key-3")), HashKey([]byte("{}"))); err != nil || state[0] != "new" {
			t.Fatalf("a running claim after forget: %v %v, want new", state, err)
		}
		if err := s.bookings.st.idemForget(ctx, "test", HashKey([]byte("key-1"))); err != nil {
			t.Fatal(err)
		}
		again := s.Post(t, "/api/v1/offices/test/appointments", book("i@example.org", slot), "Idempotency-Key", "key-1").Want(t, 201)
		if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
			t.Fatalf("a finished booking's key after forget: not replayed: %s", again.Body)
		}
	})
}

func TestHTTPRace(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st)
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for i := range 1000 {
			wg.Go(func() {
				body := fmt.Sprintf(`{"service":"short","start":%q,"name":"Racer","email":"r%d@example.org"}`, slot, i)
				res, err := client.Post(s.url+"/api/v1/offices/test/appointments", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mu.Lock()
				counts[res.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if counts[201] != 3 || counts[409] != 997 || len(counts) != 2 {
			t.Fatalf("status counts = %v, want 3×201 and 997×409", counts)
		}
	})
}

func TestHTTPBadInput(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	s := newTestServer(t, st)
	u := s.Unchecked()
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		hdr    []string
		status int
		code   string
	}{
		{"unknown office", "GET", "/api/v1/offices/nowhere/availability?service=short", nil, nil, 404, "office_not_found"},
		{"unknown service", "GET", "/api/v1/offices/test/availability?service=nope", nil, nil, 404, "service_not_found"},
		{"missing service", "GET", "/api/v1/offices/test/slots?date=2026-10-05", nil, nil, 404, "service_not_found"},
		{"malformed from", "GET", "/api/v1/offices/test/availability?service=short&from=05.10.2026", nil, nil, 400, "malformed_date"},
		{"malformed date", "GET", "/api/v1/offices/test/slots?service=short&date=2026-02-30", nil, nil, 400, "malformed_date"},
		{"range reversed", "GET", "/api/v1/offices/test/availability?service=short&from=2026-10-05&to=2026-10-01", nil, nil, 422, "range_reversed"},
		{"range too long", "GET", "/api/v1/offices/test/availability?service=short&from=2026-10-05&to=2027-10-01", nil, nil, 422, "range_too_long"},
		{"malformed start", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "tomorrow 9am"), nil, 400, "malformed_start"},
		{"past start", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-09-28T09:00:00+02:00"), nil, 422, "start_in_past"},
		{"within lead time", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-10-01T12:30:00+02:00"), nil, 422, "start_too_soon"},
		{"beyond horizon", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-12-01T09:00:00+01:00"), nil, 422, "start_beyond_horizon"},
		{"off grid", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-10-05T09:03:00+02:00"), nil, 422, "start_not_on_grid"},
		{"outside hours", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-10-05T13:00:00+02:00"), nil, 422, "start_outside_opening_hours"},
		{"DST gap", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-03-29T02:30:00+01:00"), nil, 422, "invalid_start"},
		{"holiday", "POST", "/api/v1/offices/test/appointments", book("a@example.org", "2026-10-03T09:00:00+02:00"), nil, 409, "office_closed"},
		{"overlong name", "POST", "/api/v1/offices/test/appointments", map[string]any{"service": "short", "start": slot, "name": long, "email": "a@example.org"}, nil, 422, "invalid_name"},
		{"control character name", "POST", "/api/v1/offices/test/appointments", map[string]any{"service": "short", "start": slot, "name": "Anna\r\nBcc: x@y.de", "email": "a@example.org"}, nil, 422, "invalid_name"},
		{"malformed email", "POST", "/api/v1/offices/test/appointments", map[string]any{"service": "short", "start": slot, "name": "Anna", "email": "anna(at)example"}, nil, 422, "invalid_email"},
		{"bad locale", "POST", "/api/v1/offices/test/appointments", map[string]any{"service": "short", "start": slot, "name": "Anna", "email": "a@example.org", "locale": "fr"}, nil, 422, "invalid_locale"},
		{"unknown field", "POST", "/api/v1/offices/test/appointments", `{"service":"short","start":"` + slot + `","name":"Anna","email":"a@example.org","admin":true}`, nil, 400, "unknown_field"},
		{"wrong type", "POST", "/api/v1/offices/test/appointments", `{"service":"short","start":12,"name":"Anna","email":"a@example.org"}`, nil, 400, "wrong_type"},
		{"malformed JSON", "POST", "/api/v1/offices/test/appointments", `{"service":`, nil, 400, "malformed_json"},
		{"not JSON", "POST", "/api/v1/offices/test/appointments", "service=short", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"too large", "POST", "/api/v1/offices/test/appointments", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, "body_too_large"},
		{"bad idempotency key", "POST", "/api/v1/offices/test/appointments", book("a@example.org", slot), []string{"Idempotency-Key", "has space"}, 400, "invalid_idempotency_key"},
		{"unknown token", "GET", "/api/v1/appointments/test.AAAAAAAAAAAAAAAAAAAAAA", nil, nil, 404, "appointment_not_found"},
		{"malformed token", "GET", "/api/v1/appointments/%00garbage", nil, nil, 404, "appointment_not_found"},
		{"token of unknown office", "DELETE", "/api/v1/appointments/nowhere.AAAAAAAAAAAAAAAAAAAAAA", nil, nil, 404, "appointment_not_found"},
		{"reschedule unknown", "POST", "/api/v1/appointments/test.AAAAAAAAAAAAAAAAAAAAAA/reschedule", map[string]any{"start": slot}, nil, 404, "appointment_not_found"},
		{"unknown hold", "DELETE", "/api/v1/offices/test/holds/nope", nil, nil, 404, "hold_not_found"},
		{"staff without login", "GET", "/api/v1/staff/offices/test/appointments", nil, nil, 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := u.Do(t, tt.method, tt.path, tt.body, tt.hdr...)
			res.WantError(t, tt.status, tt.code)
		})
	}
}

// staffLogins creates staff user "clerk" of office test and "elsewhere" of
// another office and returns their session tokens.
func (s *testServer) staffLogins(t *testing.T) (clerk, elsewhere string) {
	t.Helper()
	ctx := context.Background()
	if err := s.authSvc.SetUser(ctx, "clerk", auth.RoleStaff, []string{"test"}, "a long password 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.authSvc.SetUser(ctx, "elsewhere", auth.RoleStaff, []string{"other"}, "a long password 2"); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) string {
		var out struct{ Token string }
		s.Post(t, "/api/v1/auth/login", map[string]any{"username": user, "password": pw}).Want(t, 200).Decode(t, &out)
		return out.Token
	}
	return login("clerk", "a long password 1"), login("elsewhere", "a long password 2")
}

func TestHTTPStaffDay(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	s := newTestServer(t, st)
	clerk, elsewhere := s.staffLogins(t)
	s.Post(t, "/api/v1/offices/test/appointments", book("anna@example.org", slot)).Want(t, 201)
	var day struct {
		Appointments []struct{ Name, Code, Status string }
	}
	s.WithBearer(clerk).Get(t, "/api/v1/staff/offices/test/appointments?date=2026-10-05").Want(t, 200).Decode(t, &day)
	if len(day.Appointments) != 1 || day.Appointments[0].Name != "Anna Muster" || day.Appointments[0].Status != "confirmed" {
		t.Fatalf("day list = %+v", day)
	}
	s.WithBearer(elsewhere).Get(t, "/api/v1/staff/offices/test/appointments?date=2026-10-05").WantError(t, 403, "forbidden")
}

func TestHTTPICS(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	s := newTestServer(t, st)
	var booked struct{ Token string }
	s.Post(t, "/api/v1/offices/test/appointments", book("anna@example.org", slot)).Want(t, 201).Decode(t, &booked)
	get := func() string {
		res := s.Get(t, "/api/v1/appointments/"+booked.Token+"/ics").Want(t, 200)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
			t.Fatalf("Content-Type = %q", ct)
		}
		return string(res.Body)
	}
	uid := func(ics string) string {
		for _, l := range strings.Split(ics, "\r\n") {
			if strings.HasPrefix(l, "UID:") {
				return l
			}
		}
		return ""
	}
	first := get()
	if !strings.Contains(first, "METHOD:REQUEST") || !strings.Contains(first, "SEQUENCE:0") || !strings.Contains(first, "DTSTART;TZID=Europe/Berlin:20261005T090000") {
		t.Fatalf("ics after booking:\n%s", first)
	}
	s.Post(t, "/api/v1/appointments/"+booked.Token+"/reschedule", map[string]any{"start": "2026-10-05T10:00:00+02:00"}).Want(t, 200)
	moved := get()
	if !strings.Contains(moved, "SEQUENCE:1") || uid(moved) != uid(first) || uid(first) == "" {
		t.Fatalf("ics after move:\n%s", moved)
	}
	s.Delete(t, "/api/v1/appointments/"+booked.Token).Want(t, 200)
	cancelled := get()
	if !strings.Contains(cancelled, "METHOD:CANCEL") || !strings.Contains(cancelled, "SEQUENCE:2") || uid(cancelled) != uid(first) {
		t.Fatalf("ics after cancel:\n%s", cancelled)
	}
}

func TestHTTPClosures(t *testing.T) {
	st := redistest.Backends[0].Open(t)
	s := newTestServer(t, st)
	ctx := context.Background()
	for _, u := range []struct {
		name string
		role auth.Role
		pw   string
	}{{"chef", auth.RoleAdmin, "admin password 123"}, {"clerk", auth.RoleStaff, "staff password 123"}} {
		if err := s.authSvc.SetUser(ctx, u.name, u.role, []string{"test"}, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	login := func(user, pw string) *apitest.Client {
		var out struct{ Token string }
		s.Post(t, "/api/v1/auth/login", map[string]any{"username": user, "password": pw}).Want(t, 200).Decode(t, &out)
		return s.WithBearer(out.Token)
	}
	admin, clerk := login("chef", "admin password 123"), login("clerk", "staff password 123")
	s.Post(t, "/api/v1/offices/test/appointments", book("anna@example.org", slot)).Want(t, 201)
	body := map[string]any{"from": "2026-10-05", "until": "2026-10-06", "title": map[string]any{"de": "Umzug", "en": "Moving"},
		"message": "Wir ziehen um.", "phone": "04152 130", "come_by": "2026-10-02"}
	s.Post(t, "/api/v1/admin/offices/test/closures", body).WantError(t, 401, "unauthenticated")
	clerk.Post(t, "/api/v1/admin/offices/test/closures", body).WantError(t, 403, "forbidden")
	var dry struct {
		Affected int  `json:"affected_appointments"`
		DryRun   bool `json:"dry_run"`
	}
	admin.Post(t, "/api/v1/admin/offices/test/closures?dry_run=true", body).Want(t, 200).Decode(t, &dry)
	if dry.Affected != 1 || !dry.DryRun {
		t.Fatalf("dry run = %+v", dry)
	}
	var pub struct {
		Closure  struct{ ID, Title, PublishedBy string } `json:"closure"`
		Affected int                                     `json:"affected_appointments"`
	}
	admin.Post(t, "/api/v1/admin/offices/test/closures", body, "Accept-Language", "en").Want(t, 201).Decode(t, &pub)
	if pub.Affected != 1 || pub.Closure.Title != "Moving" {
		t.Fatalf("publish = %+v", pub)
	}
	var list struct {
		Closures []struct{ ID, Title, Message string }
	}
	s.Get(t, "/api/v1/offices/test/closures").Want(t, 200).Decode(t, &list)
	if len(list.Closures) != 1 || list.Closures[0].Title != "Umzug" || list.Closures[0].Message != "Wir ziehen um." {
		t.Fatalf("closures = %+v", list)
	}
	var office struct{ Closures []struct{ ID string } }
	s.Get(t, "/api/v1/offices/test").Want(t, 200).Decode(t, &office)
	if len(office.Closures) != 1 || office.Closures[0].ID != pub.Closure.ID {
		t.Fatalf("office closures = %+v", office.Closures)
	}
	s.Post(t, "/api/v1/offices/test/appointments", book("b@example.org", "2026-10-06T09:00:00+02:00")).WantError(t, 409, "office_closed")
	ics := s.Get(t, "/api/v1/offices/test/closures.ics").Want(t, 200)
	if cal := icaltest.ParseJS(t, ics.Body); len(cal.Events) != 1 || cal.Events[0].StartDate != "2026-10-05" {
		t.Fatalf("ics feed: %+v", cal)
	}
	atom := s.Get(t, "/api/v1/offices/test/closures.atom").Want(t, 200)
	var feed struct {
		Entries []struct {
			Title   string `xml:"title"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(atom.Body, &feed); err != nil || len(feed.Entries) != 1 || feed.Entries[0].Title != "Umzug" {
		t.Fatalf("atom feed (%v): %s", err, atom.Body)
	}
	admin.Do(t, "PATCH", "/api/v1/admin/offices/test/closures/"+pub.Closure.ID, map[string]any{"until": "2026-10-07"}).Want(t, 200)
	admin.Do(t, "PATCH", "/api/v1/admin/offices/test/closures/nope", map[string]any{"until": "2026-10-07"}).WantError(t, 404, "closure_not_found")
	admin.Post(t, "/api/v1/admin/offices/test/closures", map[string]any{"from": "2026-10-09", "until": "2026-10-08", "title": "x"}).WantError(t, 422, "until_before_from")
	admin.Unchecked().Post(t, "/api/v1/admin/offices/test/closures", `{"from":"2026-10-09","until":"2026-10-09","title":"x","colour":"red"}`).WantError(t, 400, "unknown_field")
	admin.Delete(t, "/api/v1/admin/offices/test/closures/"+pub.Closure.ID).Want(t, 200)
	s.Post(t, "/api/v1/offices/test/appointments", book("b@example.org", "2026-10-06T09:00:00+02:00")).Want(t, 201)
}

// TestHTTPStaffCancel: staff cancel an appointment for a citizen who asked
// the office — the seat is free again, the citizen's link shows it
// cancelled, one cancellation mail is queued; again is harmless; staff of
// another office may not; unknown ids are 404; an appointment that is over
// is refused.
func TestHTTPStaffCancel(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st)
		ctx := context.Background()
		clerkToken, elsewhere := s.staffLogins(t)
		const full = "2026-10-05T10:00:00+02:00" // three seats
		tokens := map[string]string{}
		for i := range 3 {
			var booked struct{ Token string }
			email := fmt.Sprintf("f%d@example.org", i)
			s.Post(t, "/api/v1/offices/test/appointments", book(email, full)).Want(t, 201).Decode(t, &booked)
			tokens[email] = booked.Token
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("late@example.org", full)).WantError(t, 409, "slot_taken")

		clerk := s.WithBearer(clerkToken)
		var day struct {
			Appointments []struct{ ID, Email, Status string }
		}
		clerk.Get(t, "/api/v1/staff/offices/test/appointments?date=2026-10-05").Want(t, 200).Decode(t, &day)
		id := ""
		for _, a := range day.Appointments {
			if a.Email == "f1@example.org" {
				id = a.ID
			}
		}
		if id == "" {
			t.Fatalf("f1 is not in the day list %+v", day)
		}
		cancel := "/api/v1/staff/offices/test/appointments/" + id + "/cancel"
		s.Post(t, cancel, nil).WantError(t, 401, "unauthenticated")
		s.WithBearer(elsewhere).Post(t, cancel, nil).WantError(t, 403, "forbidden")
		clerk.Post(t, "/api/v1/staff/offices/test/appointments/nonsense/cancel", nil).WantError(t, 404, "appointment_not_found")
		clerk.Post(t, "/api/v1/staff/offices/test/appointments/"+strings.Repeat("0", 24)+"/cancel", nil).WantError(t, 404, "appointment_not_found")
		if kinds := outboxKinds(t, st.Client, "test"); slices.Contains(kinds, notify.KindCancellation) {
			t.Fatalf("a refused cancel queued a mail: %v", kinds)
		}

		var out struct{ Appointment struct{ ID, Status string } }
		clerk.Post(t, cancel, nil).Want(t, 200).Decode(t, &out)
		if out.Appointment.ID != id || out.Appointment.Status != StatusCancelled {
			t.Fatalf("cancel answered %+v", out)
		}
		var mine struct{ Appointment struct{ Status string } }
		s.Get(t, "/api/v1/appointments/"+tokens["f1@example.org"]).Want(t, 200).Decode(t, &mine)
		if mine.Appointment.Status != StatusCancelled {
			t.Fatalf("the citizen's link shows %q", mine.Appointment.Status)
		}
		if a, _, err := s.bookings.Get(ctx, tokens["f1@example.org"]); err != nil || a.CancelReason != ReasonOffice {
			t.Fatalf("cancel reason %q, err %v", a.CancelReason, err)
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("late@example.org", full)).Want(t, 201) // the seat is free
		clerk.Post(t, cancel, nil).Want(t, 200).Decode(t, &out)
		if out.Appointment.Status != StatusCancelled {
			t.Fatalf("second cancel answered %+v", out)
		}
		n := 0
		for _, k := range outboxKinds(t, st.Client, "test") {
			if k == notify.KindCancellation {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d cancellation mails queued, want 1", n)
		}

		// Once an appointment is over it is not cancelled (nor mailed).
		s.clock.Set(time.Date(2026, 10, 5, 10, 20, 0, 0, s.office.Location))
		clerkToken, _ = s.staffLogins(t) // the session idled out meanwhile
		clerk = s.WithBearer(clerkToken)
		for _, a := range day.Appointments {
			if a.Email == "f0@example.org" {
				clerk.Post(t, "/api/v1/staff/offices/test/appointments/"+a.ID+"/cancel", nil).WantError(t, 409, "appointment_over")
			}
		}
		s.Get(t, "/api/v1/appointments/"+tokens["f0@example.org"]).Want(t, 200).Decode(t, &mine)
		if mine.Appointment.Status != "confirmed" {
			t.Fatalf("an appointment that is over was changed to %q", mine.Appointment.Status)
		}
	})
}

// TestHTTPStaffReschedule: a citizen phones with the code from her mail; the
// clerk finds the appointment by it and moves it. The new seats are won
// before the old ones are freed, the citizen's link shows the new time, she
// gets one reschedule mail, and a full slot, a foreign office, an unknown id
// and an appointment that is over are refused.
func TestHTTPStaffReschedule(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st)
		clerkToken, elsewhere := s.staffLogins(t)
		const full, other = "2026-10-05T10:00:00+02:00", "2026-10-06T11:00:00+02:00" // three seats each
		var erika struct {
			Token       string
			Appointment struct{ Code string }
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("erika@example.org", full)).Want(t, 201).Decode(t, &erika)
		for i := range 2 {
			s.Post(t, "/api/v1/offices/test/appointments", book(fmt.Sprintf("f%d@example.org", i), full)).Want(t, 201)
		}
		for i := range 3 {
			s.Post(t, "/api/v1/offices/test/appointments", book(fmt.Sprintf("o%d@example.org", i), other)).Want(t, 201)
		}
		clerk := s.WithBearer(clerkToken)

		// She reads the code out: lower case, with a space instead of the dash.
		spoken := strings.ToLower(strings.Replace(erika.Appointment.Code, "-", " ", 1))
		var found struct {
			Code         string
			Appointments []struct{ ID, Email, Start, Status string }
		}
		clerk.Get(t, "/api/v1/staff/offices/test/appointments?code="+url.QueryEscape(spoken)).Want(t, 200).Decode(t, &found)
		if found.Code != erika.Appointment.Code || len(found.Appointments) != 1 || found.Appointments[0].Email != "erika@example.org" {
			t.Fatalf("search by code %q found %+v", spoken, found)
		}
		id := found.Appointments[0].ID
		clerk.Get(t, "/api/v1/staff/offices/test/appointments?code=nonsense").WantError(t, 400, "invalid_code")
		var none struct{ Appointments []any }
		clerk.Get(t, "/api/v1/staff/offices/test/appointments?code=AAA-AAA").Want(t, 200).Decode(t, &none)
		if len(none.Appointments) != 0 || none.Appointments == nil {
			t.Fatalf("an unknown code found %+v (want an empty list)", none)
		}
		s.Get(t, "/api/v1/staff/offices/test/appointments?code="+erika.Appointment.Code).WantError(t, 401, "unauthenticated")

		move := "/api/v1/staff/offices/test/appointments/" + id + "/reschedule"
		s.Post(t, move, map[string]string{"start": "2026-10-05T11:00:00+02:00"}).WantError(t, 401, "unauthenticated")
		s.WithBearer(elsewhere).Post(t, move, map[string]string{"start": "2026-10-05T11:00:00+02:00"}).WantError(t, 403, "forbidden")
		clerk.Post(t, "/api/v1/staff/offices/test/appointments/"+strings.Repeat("0", 24)+"/reschedule",
			map[string]string{"start": "2026-10-05T11:00:00+02:00"}).WantError(t, 404, "appointment_not_found")
		clerk.Post(t, move, map[string]string{"start": other}).WantError(t, 409, "slot_taken")
		clerk.Unchecked().Post(t, move, map[string]string{}).WantError(t, 400, "malformed_start")
		if kinds := outboxKinds(t, st.Client, "test"); slices.Contains(kinds, notify.KindReschedule) {
			t.Fatalf("a refused move queued a mail: %v", kinds)
		}

		const moved = "2026-10-05T11:30:00+02:00"
		var out struct {
			Appointment struct{ ID, Start, Status, Code string }
		}
		clerk.Post(t, move, map[string]string{"start": moved}).Want(t, 200).Decode(t, &out)
		if out.Appointment.ID != id || out.Appointment.Start != moved || out.Appointment.Status != StatusConfirmed {
			t.Fatalf("move answered %+v", out)
		}
		var mine struct{ Appointment struct{ Start, Code string } }
		s.Get(t, "/api/v1/appointments/"+erika.Token).Want(t, 200).Decode(t, &mine)
		if mine.Appointment.Start != moved {
			t.Fatalf("the citizen's link shows %q, want %q", mine.Appointment.Start, moved)
		}
		s.Post(t, "/api/v1/offices/test/appointments", book("late@example.org", full)).Want(t, 201) // her old seat is free
		n := 0
		for _, k := range outboxKinds(t, st.Client, "test") {
			if k == notify.KindReschedule {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d reschedule mails queued, want 1", n)
		}

		// Once she has checked in, her ticket waits in the queue: no move —
		// also when the check-in lands between reading and moving (the script checks).
		stale, _, err := s.bookings.Get(context.Background(), erika.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.bookings.MarkCheckedIn(context.Background(), "test", id, time.Date(2026, 10, 5, 11, 20, 0, 0, s.office.Location)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.bookings.reschedule(context.Background(), func() (Appointment, *Office, error) { return stale, s.office, nil },
			"2026-10-07T11:00:00+02:00", "test"); !errors.Is(err, ErrCheckedIn) {
			t.Fatalf("moving with the appointment as read before the check-in: %v, want ErrCheckedIn", err)
		}
		clerk.Post(t, move, map[string]string{"start": "2026-10-07T11:00:00+02:00"}).WantError(t, 409, "checked_in")
		s.Get(t, "/api/v1/appointments/"+erika.Token).Want(t, 200).Decode(t, &mine)
		if mine.Appointment.Start != moved {
			t.Fatalf("a checked-in appointment was moved to %q", mine.Appointment.Start)
		}

		// Once it is over it is not moved: a new booking keeps the missed one on record.
		s.clock.Set(time.Date(2026, 10, 5, 11, 50, 0, 0, s.office.Location))
		clerkToken, _ = s.staffLogins(t)
		s.WithBearer(clerkToken).Post(t, move, map[string]string{"start": "2026-10-07T11:00:00+02:00"}).WantError(t, 409, "appointment_over")
		s.Get(t, "/api/v1/appointments/"+erika.Token).Want(t, 200).Decode(t, &mine)
		if mine.Appointment.Start != moved {
			t.Fatalf("an appointment that is over was moved to %q", mine.Appointment.Start)
		}
	})
}

// TestHTTPStaffBook: a clerk books for callers. Without an e-mail address a
// phone number is needed; such appointments get no mail of any kind
// (confirmation, move, cancellation, closure) and no e-mail limit, while a
// caller who gives an address gets the confirmation as online. The citizen
// form still needs an address.
func TestHTTPStaffBook(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st)
		ctx := context.Background()
		clerkToken, elsewhere := s.staffLogins(t)
		clerk := s.WithBearer(clerkToken)
		const path = "/api/v1/staff/offices/test/appointments"
		caller := func(start string) map[string]any {
			return map[string]any{"service": "short", "start": start, "name": "Otto Ohnemail", "phone": "04152 130 77"}
		}
		s.Post(t, path, caller("2026-10-05T10:00:00+02:00")).WantError(t, 401, "unauthenticated")
		s.WithBearer(elsewhere).Post(t, path, caller("2026-10-05T10:00:00+02:00")).WantError(t, 403, "forbidden")
		noContact := caller("2026-10-05T10:00:00+02:00")
		delete(noContact, "phone")
		clerk.Post(t, path, noContact).WantError(t, 422, "contact_required")
		bad := caller("2026-10-05T10:00:00+02:00")
		bad["email"] = "not-an-address"
		clerk.Post(t, path, bad).WantError(t, 422, "invalid_email")
		citizen := caller("2026-10-05T10:00:00+02:00")
		s.Unchecked().Post(t, "/api/v1/offices/test/appointments", citizen).WantError(t, 422, "invalid_email")

		// Three appointments without an address: more than the e-mail limit (2).
		var ids []string
		for i, start := range []string{"2026-10-05T10:00:00+02:00", "2026-10-05T10:30:00+02:00", "2026-10-06T10:00:00+02:00"} {
			var out map[string]any
			clerk.Post(t, path, caller(start)).Want(t, 201).Decode(t, &out)
			a, _ := out["appointment"].(map[string]any)
			if a["status"] != StatusConfirmed || a["email"] != nil || a["phone"] != "04152 130 77" || a["id"] == nil || out["token"] != nil {
				t.Fatalf("staff booking %d answered %v (want confirmed, no e-mail, the phone, an id and no manage token)", i, out)
			}
			ids = append(ids, a["id"].(string))
		}
		if kinds := outboxKinds(t, st.Client, "test"); len(kinds) != 0 {
			t.Fatalf("bookings without an address queued mails: %v", kinds)
		}
		var withMail struct{ Appointment struct{ ID, Email string } }
		given := caller("2026-10-06T10:30:00+02:00")
		given["email"] = "otto@example.org"
		clerk.Post(t, path, given).Want(t, 201).Decode(t, &withMail)
		if kinds := outboxKinds(t, st.Client, "test"); !slices.Equal(kinds, []string{notify.KindConfirmation}) {
			t.Fatalf("a staff booking with an address queued %v, want one confirmation", kinds)
		}

		// Moved and cancelled by staff: nothing is queued, and a reference
		// that was (an older binary's) resolves to nothing; the other's mail still goes.
		clerk.Post(t, path+"/"+ids[0]+"/reschedule", map[string]string{"start": "2026-10-07T10:00:00+02:00"}).Want(t, 200)
		clerk.Post(t, path+"/"+ids[1]+"/cancel", nil).Want(t, 200)
		for _, id := range ids[:2] {
			for _, kind := range []string{notify.KindReschedule, notify.KindCancellation, notify.KindReminder} {
				if _, ok, err := s.bookings.Resolve(ctx, "test", notify.Ref{Kind: kind, Subject: id, Seq: 1}); err != nil || ok {
					t.Errorf("a %s mail for %s without an address resolved (ok %v, err %v)", kind, id, ok, err)
				}
			}
		}
		if _, ok, err := s.bookings.Resolve(ctx, "test", notify.Ref{Kind: notify.KindConfirmation, Subject: withMail.Appointment.ID}); err != nil || !ok {
			t.Errorf("the caller with an address gets no confirmation (ok %v, err %v)", ok, err)
		}
		if kinds := outboxKinds(t, st.Client, "test"); !slices.Equal(kinds, []string{notify.KindConfirmation}) {
			t.Fatalf("moving and cancelling appointments without an address queued %v", kinds)
		}

		// A closure over the third tells nobody by mail: the office calls.
		if err := s.authSvc.SetUser(ctx, "chef", auth.RoleAdmin, []string{"test"}, "admin password 123"); err != nil {
			t.Fatal(err)
		}
		var login struct{ Token string }
		s.Post(t, "/api/v1/auth/login", map[string]any{"username": "chef", "password": "admin password 123"}).Want(t, 200).Decode(t, &login)
		before := len(outboxKinds(t, st.Client, "test"))
		var pub struct {
			Affected int                                       `json:"affected_appointments"`
			ToCall   []struct{ ID, Name, Phone, Start string } `json:"to_call"`
		}
		s.WithBearer(login.Token).Post(t, "/api/v1/admin/offices/test/closures", map[string]any{"from": "2026-10-06", "until": "2026-10-06",
			"title": "Betriebsausflug"}).Want(t, 201).Decode(t, &pub)
		if pub.Affected != 2 {
			t.Fatalf("closure affected %d, want 2 (one without an address, one with)", pub.Affected)
		}
		if len(pub.ToCall) != 1 || pub.ToCall[0].ID != ids[2] || pub.ToCall[0].Phone != "04152 130 77" || pub.ToCall[0].Name != "Otto Ohnemail" {
			t.Fatalf("to call: %+v, want the one without an address with name and phone", pub.ToCall)
		}
		if got := outboxKinds(t, st.Client, "test")[before:]; !slices.Equal(got, []string{notify.KindClosure}) {
			t.Fatalf("the closure queued %v, want one closure mail (for the caller with an address)", got)
		}

		// Reminders: the one moved to 7 October 10:00 without an address gets
		// none; one with an address in the same window does.
		s.Post(t, "/api/v1/offices/test/appointments", book("r@example.org", "2026-10-07T10:30:00+02:00")).Want(t, 201)
		before = len(outboxKinds(t, st.Client, "test"))
		for _, now := range []time.Time{time.Date(2026, 10, 6, 9, 0, 0, 0, s.office.Location), time.Date(2026, 10, 6, 10, 30, 0, 0, s.office.Location)} {
			s.clock.Set(now)
			if _, err := s.bookings.SendDueReminders(ctx, "test", now); err != nil {
				t.Fatal(err)
			}
		}
		if got := outboxKinds(t, st.Client, "test")[before:]; !slices.Equal(got, []string{notify.KindReminder}) {
			t.Fatalf("reminders queued %v, want one (for the appointment with an address)", got)
		}
	})
}
