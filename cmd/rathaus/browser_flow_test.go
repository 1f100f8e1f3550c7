package main

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserBookAndSeeInStaffList books a slot through the booking page and
// finds it in the staff console's list of today's appointments.
func TestBrowserBookAndSeeInStaffList(t *testing.T) {
	s := startBrowserServer(t)
	tb := newTab(t, s.URL)
	tb.open("/")
	tb.click("#svc-ummeldung")
	tb.click(`.calendar button[data-date="2026-12-02"]`)
	tb.click(".slots button")
	tb.typeInto("#name", "Erika Mustermann")
	tb.typeInto("#email", "erika@example.org")
	tb.click("#book-submit")
	code := tb.text("#appt-code")
	if len(code) < 6 {
		t.Fatalf("appointment code %q", code)
	}
	tb.checkErrors("booking")

	staff := newTab(t, s.URL)
	staff.open("/staff")
	staff.loginForm("admin", browserAdminPassword)
	row := staff.text(`#appointments tr[data-code="` + code + `"]`)
	if !strings.Contains(row, "Erika Mustermann") || !strings.Contains(row, "10:30") {
		t.Errorf("staff list row = %q, want the name and 10:30", row)
	}
	staff.checkErrors("staff")
}

// TestBrowserBookingFormErrors submits the booking form empty and expects the
// errors next to the fields, linked by aria-describedby and announced.
func TestBrowserBookingFormErrors(t *testing.T) {
	s := startBrowserServer(t)
	tb := newTab(t, s.URL)
	tb.open("/")
	tb.click("#svc-geburtsurkunde")
	tb.click(`.calendar button[data-date="2026-12-02"]`)
	tb.click(".slots button")
	tb.click("#book-submit")
	tb.waitVisible("#form-errors")
	if got := evalJS[string](tb, `document.getElementById("name").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("name aria-invalid = %q", got)
	}
	if got := tb.text("#name-error"); got == "" {
		t.Error("no error text under the name field")
	}
	if got := evalJS[string](tb, `document.activeElement.id`); got != "form-errors" {
		t.Errorf("focus on %q, want the error summary", got)
	}
	tb.typeInto("#name", "Max")
	tb.typeInto("#email", "not-an-address")
	tb.click("#book-submit")
	tb.waitFor(`#email[aria-invalid="true"]`)
	if got := tb.text("#email-error"); got == "" {
		t.Error("the server's e-mail error is not shown under the field")
	}
	tb.checkErrors("booking errors")
}

// TestBrowserCancelFromManagePage cancels an appointment on its manage page
// after the confirmation dialog.
func TestBrowserCancelFromManagePage(t *testing.T) {
	s := startBrowserServer(t)
	appt := browserBook(t, s, "fundsache", "Hans Meier")
	tb := newTab(t, s.URL)
	tb.open("/a/" + appt.Token)
	tb.click("#cancel-open")
	tb.waitVisible("#cancel-dialog")
	tb.click("#cancel-confirm")
	tb.waitVisible("#cancel-done")
	tb.waitFor(`#appt-status[data-status="cancelled"]`)
	var got struct{ Appointment struct{ Status string } }
	browserGet(t, s.URL+"/api/v1/appointments/"+appt.Token, &got)
	if got.Appointment.Status != "cancelled" {
		t.Errorf("status after cancel = %q", got.Appointment.Status)
	}
	tb.checkErrors("manage")
}

// TestBrowserMoveFromManagePage moves an appointment to another time.
func TestBrowserMoveFromManagePage(t *testing.T) {
	s := startBrowserServer(t)
	appt := browserBook(t, s, "fundsache", "Hans Meier")
	tb := newTab(t, s.URL)
	tb.open("/a/" + appt.Token)
	tb.click("#move-open")
	tb.click(`.calendar button[data-date="2026-12-03"]`)
	tb.click(".slots button")
	tb.click("#move-submit")
	tb.waitVisible("#verify-box .success")
	var got struct{ Appointment struct{ Status, Start string } }
	browserGet(t, s.URL+"/api/v1/appointments/"+appt.Token, &got)
	if !strings.HasPrefix(got.Appointment.Start, "2026-12-03") || got.Appointment.Status != "confirmed" {
		t.Errorf("after the move: %+v", got.Appointment)
	}
	tb.checkErrors("move")
}

// TestBrowserKioskStaffDisplay draws a ticket at the kiosk, calls it from the
// staff console and waits for it on the display and on the ticket's status page.
func TestBrowserKioskStaffDisplay(t *testing.T) {
	s := startBrowserServer(t)
	display := newTab(t, s.URL)
	display.open("/display/geesthacht")

	kiosk := newTab(t, s.URL)
	kiosk.open("/kiosk/geesthacht?reset=4")
	kiosk.eval0(`window.print = () => { document.body.dataset.printed = "1"; }`)
	kiosk.click(`button[data-service="ummeldung"]`)
	number := kiosk.text("#ticket-number")
	statusURL := kiosk.text(".ticket-url")
	if kiosk.nodeCount("#ticket svg.qr path") != 1 {
		t.Error("the ticket has no QR code")
	}
	kiosk.waitFor(`body[data-printed="1"]`)
	kiosk.waitVisible("#h-start") // back to the start by itself
	kiosk.checkErrors("kiosk")

	status := newTab(t, s.URL)
	status.open(strings.TrimPrefix(statusURL, s.URL))
	if got := status.text("#ticket-number"); got != number {
		t.Errorf("status page shows %q, want %q", got, number)
	}

	staff := newTab(t, s.URL)
	staff.open("/staff")
	staff.loginForm("admin", browserAdminPassword)
	staff.waitVisible("#console")
	staff.click("#counter-open")
	staff.waitFor(`#counters li[data-counter="1"]`)
	staff.click("#call-next")
	start := time.Now()
	if got := staff.text("#current-number"); got != number {
		t.Errorf("staff called %q, want %q", got, number)
	}
	display.waitFor(`#calls tr.newest[data-number="` + number + `"][data-counter="1"]`)
	t.Logf("display showed %s %v after the call", number, time.Since(start))
	status.waitFor("#ticket-called")
	for _, tb := range []*btab{display, staff, status} {
		tb.checkErrors("queue flow")
	}
}
