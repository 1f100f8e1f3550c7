package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBrowserPublishClosure publishes a closure in the admin page after its
// dry-run preview, then finds the banner, the closed days in the booking
// calendar and the closures page, and the appointment inside cancelled.
func TestBrowserPublishClosure(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	appt := browserBookOn(t, s, "ummeldung", "Erika Mustermann", "2026-12-03")
	// A caller without an e-mail address, booked by the office: the admin is told to phone him.
	var login struct{ Token string }
	if code := browserPost(t, s.URL+"/api/v1/auth/login", map[string]string{"username": "admin", "password": browserAdminPassword}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	phoned, _ := json.Marshal(map[string]string{"service": "ummeldung", "start": "2026-12-04T09:00:00+01:00", "name": "Otto Ohnemail", "phone": "04152 130 77"})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/staff/offices/geesthacht/appointments", bytes.NewReader(phoned))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+login.Token)
	var byStaff browserBooking
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		_ = json.NewDecoder(res.Body).Decode(&byStaff)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("staff booking: %d", res.StatusCode)
		}
	}

	admin := newTab(t, s.URL)
	admin.open("/admin")
	admin.loginForm("admin", browserAdminPassword)
	admin.waitVisible("#closure-form")
	admin.setField("#from", "2026-12-03")
	admin.setField("#until", "2026-12-04")
	admin.setField("#title_de", "Betriebsausflug")
	admin.setField("#title_en", "Staff outing")
	admin.setField("#message_de", "Das Bürgerbüro ist wegen des Betriebsausflugs geschlossen.")
	admin.setField("#phone", "04152 130 999")
	admin.setField("#come_by", "2026-12-02")
	if admin.nodeCount("#closure-publish:disabled") != 1 {
		t.Error("publishing is possible before the preview")
	}
	admin.click("#closure-preview")
	summary := admin.text("#preview-summary")
	if !strings.Contains(summary, "2 Termine an 2 Tagen") {
		t.Errorf("preview = %q, want 2 appointments on 2 days", summary)
	}
	if got := admin.text(`#to-call li[data-code="` + byStaff.Appointment.Code + `"]`); !strings.Contains(got, "Otto Ohnemail") || !strings.Contains(got, "04152 130 77") {
		t.Errorf("preview's list to phone: %q, want his name and number", got)
	}
	if status, _ := browserAppointment(t, s, appt.Token); status != "confirmed" {
		t.Fatalf("the dry run changed the appointment: %q", status)
	}
	admin.checkAxe("admin preview")
	admin.screenshot("admin-preview-de")
	admin.click("#closure-publish")
	admin.waitVisible("#published")
	if got := admin.text(`#to-call li[data-code="` + byStaff.Appointment.Code + `"]`); !strings.Contains(got, "04152 130 77") {
		t.Errorf("published: list to phone %q", got)
	}
	admin.waitFor(`#closure-list li[data-closure]`)
	admin.checkErrors("admin")

	// The clerk phones Otto, finds him by his code — cancelled by the
	// closure, with his number — and books him again on 7 December.
	staff := newTab(t, s.URL)
	staff.open("/staff")
	staff.waitFor(`#appt-listing[data-listing="date:2026-12-02"]`)
	staff.typeInto("#appt-code", byStaff.Appointment.Code)
	staff.click(`#appt-code-form button[type="submit"]`)
	row := `#appointments tr[data-code="` + byStaff.Appointment.Code + `"]`
	staff.waitFor(row + `[data-status="cancelled"]`)
	if got := staff.text(row); !strings.Contains(got, "04152 130 77") || !strings.Contains(got, "Schließung") {
		t.Errorf("row of the caller cancelled by the closure: %q, want his number and the reason", got)
	}
	if staff.nodeCount(row+` button.appt-cancel`) != 0 {
		t.Error("an appointment cancelled by a closure offers to cancel it")
	}
	staff.click(row + ` button.appt-move`)
	staff.waitVisible("#move-box")
	staff.click(`#move-calendar .calendar button[data-date="2026-12-07"]`)
	staff.click(`#move-calendar .slots button`)
	staff.waitVisible("#move-confirm")
	staff.click("#move-submit")
	staff.waitFor(row + `[data-status="confirmed"][data-start^="2026-12-07T"]`)
	if got := evalJS[string](staff, `document.activeElement.className`); !strings.Contains(got, "appt-move") {
		t.Errorf("focus on %q after the rebooking, want the row's move button", got)
	}
	staff.checkAxe("staff after rebooking a closure's caller")
	staff.checkErrors("staff rebook")

	if status, _ := browserAppointment(t, s, appt.Token); status != "cancelled" {
		t.Errorf("appointment inside the closure is %q, want cancelled", status)
	}

	tb := newTab(t, s.URL)
	tb.open("/")
	banner := tb.text("#closure-banner")
	for _, want := range []string{"Betriebsausflug", "04152 130 999", "2. Dezember 2026"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner %q lacks %q", banner, want)
		}
	}
	tb.click("#svc-ummeldung")
	for _, d := range []string{"2026-12-03", "2026-12-04"} {
		if got := tb.text(`.calendar .day.closed[data-date="` + d + `"]`); !strings.Contains(got, "Betriebsausflug") {
			t.Errorf("calendar day %s = %q, want the closure's title", d, got)
		}
	}
	if tb.nodeCount(`.calendar button[data-date="2026-12-07"]`) != 1 {
		t.Error("the Monday after the closure is not bookable")
	}
	tb.checkAxe("booking with a closure")
	tb.screenshot("booking-closure-de")
	tb.open("/display/geesthacht")
	if got := tb.text("#display-closure"); !strings.Contains(got, "Betriebsausflug") || !strings.Contains(got, "3. Dezember") {
		t.Errorf("display notice = %q, want the coming closure", got)
	}
	tb.screenshot("display-closure-de")
	tb.open("/closures")
	if got := tb.text("#closures"); !strings.Contains(got, "Betriebsausflug") {
		t.Errorf("closures page = %q", got)
	}
	tb.screenshot("closures-list-de")
	tb.checkErrors("public pages")

	// The closure mail's rebook link offers a new time on the manage page.
	tb.open("/a/" + appt.Token + "?rebook=" + url.QueryEscape("2026-12-07T10:00:00+01:00"))
	tb.click("#rebook-suggested")
	tb.waitFor(`#appt-status[data-status="confirmed"]`)
	if status, start := browserAppointment(t, s, appt.Token); status != "confirmed" || start != "2026-12-07T10:00:00+01:00" {
		t.Errorf("after rebooking: %s at %s", status, start)
	}
	tb.checkErrors("rebook")

	// Changing the closure: one day shorter, previewed again, then published —
	// while a display is open, which must show the new dates by itself (it
	// reads the office again on the closure event).
	// Other events do not make it read the office again (only the state).
	disp := newTab(t, s.URL)
	disp.open("/display/geesthacht")
	disp.waitFor(`body[data-office-loads="2"]`) // on opening and when its stream is open
	before := disp.text("#display-closure")
	if !strings.Contains(before, "Betriebsausflug") {
		t.Fatalf("display notice before the change = %q", before)
	}
	waiting := disp.text("#waiting-total")
	if code := browserPost(t, s.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "ummeldung"}, nil); code != http.StatusCreated {
		t.Fatalf("drawing a ticket: %d", code)
	}
	for deadline := time.Now().Add(15 * time.Second); disp.text("#waiting-total") == waiting && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if got := disp.text("#waiting-total"); got == waiting {
		t.Errorf("the display did not follow a drawn ticket: %q", got)
	}
	if n := evalJS[string](disp, `document.body.dataset.officeLoads`); n != "2" {
		t.Errorf("the display read the office %s times after a ticket event, want 2 (no new read)", n)
	}
	admin.click("button[data-change]")
	if got := evalJS[string](admin, `document.getElementById("title_en").value`); got != "Staff outing" {
		t.Errorf("the change form has English title %q", got)
	}
	admin.setField("#until", "2026-12-03")
	admin.click("#closure-preview")
	admin.waitVisible("#preview-summary")
	admin.click("#closure-publish")
	admin.waitVisible("#published")
	var list struct {
		Closures []struct{ From, Until string }
	}
	browserGet(t, s.URL+"/api/v1/offices/geesthacht/closures", &list)
	if len(list.Closures) != 1 || list.Closures[0].Until != "2026-12-03" {
		t.Errorf("closures after the change: %+v", list.Closures)
	}
	deadline := time.Now().Add(15 * time.Second)
	for disp.text("#display-closure") == before && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if after := disp.text("#display-closure"); after == before || !strings.Contains(after, "Betriebsausflug") {
		t.Errorf("the open display's notice is %q after the change, was %q", after, before)
	}
	if n := evalJS[string](disp, `document.body.dataset.officeLoads`); n != "3" {
		t.Errorf("the display read the office %s times, want 3 (once more for the closure event)", n)
	}
	disp.checkErrors("display during the change")
	admin.checkErrors("admin change")
}
