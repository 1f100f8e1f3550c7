package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
)

// TestBrowserBookAndSeeInStaffList books a slot through the booking page and
// finds it in the staff console's list of today's appointments, where the
// clerk cancels it for her.
func TestBrowserBookAndSeeInStaffList(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	tb := newTab(t, s.URL)
	tb.open("/")
	tb.click("#svc-ummeldung")
	tb.click(`.calendar button[data-date="2026-12-02"]`)
	tb.click(".slots button")
	if chosen := tb.text("#chosen"); !strings.Contains(chosen, "halten Ihnen diese Zeit") {
		t.Errorf("chosen time %q: no hold", chosen)
	}
	tb.checkAxe("booking with calendar, times and form")
	tb.screenshot("booking-form-de")
	tb.typeInto("#name", "Erika Mustermann")
	tb.typeInto("#email", "erika@example.org")
	tb.click("#book-submit")
	code := tb.text("#appt-code")
	if len(code) < 6 {
		t.Fatalf("appointment code %q", code)
	}
	tb.checkAxe("booking confirmation")
	tb.screenshot("booking-done-de")
	tb.checkErrors("booking")

	staff := newTab(t, s.URL)
	staff.open("/staff")
	staff.loginForm("admin", browserAdminPassword)
	row := staff.text(`#appointments tr[data-code="` + code + `"]`)
	if !strings.Contains(row, "Erika Mustermann") || !strings.Contains(row, "10:30") {
		t.Errorf("staff list row = %q, want the name and 10:30", row)
	}

	// Erika phones: the clerk cancels for her — asked once, then done.
	sel := `#appointments tr[data-code="` + code + `"]`
	staff.click(sel + ` button.appt-cancel`)
	staff.waitVisible(sel + ` button.appt-cancel-yes`)
	if got := evalJS[string](staff, `document.activeElement.className`); got != "appt-cancel-no" {
		t.Errorf("focus on %q after asking, want the No button", got)
	}
	staff.checkAxe("staff cancel question")
	staff.screenshot("staff-cancel-question-de")
	staff.click(sel + ` button.appt-cancel-no`) // not yet
	staff.waitVisible(sel + ` button.appt-cancel`)
	staff.click(sel + ` button.appt-cancel`)
	staff.click(sel + ` button.appt-cancel-yes`)
	staff.waitFor(`#appointments tr[data-code="` + code + `"][data-status="cancelled"]`)
	if staff.nodeCount(sel+` button`) != 0 {
		t.Error("a cancelled appointment still offers to cancel it")
	}
	staff.screenshot("staff-cancelled-de")
	staff.checkErrors("staff")
}

// TestBrowserBookingFormErrors submits the booking form empty and expects the
// errors next to the fields, linked by aria-describedby and announced.
func TestBrowserBookingFormErrors(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	s := startBrowserServer(t)
	appt := browserBook(t, s, "fundsache", "Hans Meier")
	tb := newTab(t, s.URL)
	tb.open("/a/" + appt.Token)
	tb.click("#cancel-open")
	tb.waitVisible("#cancel-dialog")
	if got := evalJS[string](tb, `document.activeElement.id`); got != "cancel-keep" {
		t.Errorf("focus in the dialog on %q, want the safe choice", got)
	}
	tb.checkAxe("cancel dialog")
	tb.screenshot("manage-cancel-dialog-de")
	tb.click("#cancel-confirm")
	tb.waitVisible("#cancel-done")
	tb.waitFor(`#appt-status[data-status="cancelled"]`)
	if status, _ := browserAppointment(t, s, appt.Token); status != "cancelled" {
		t.Errorf("status after cancel = %q", status)
	}
	tb.checkErrors("manage")
}

// TestBrowserMoveFromManagePage moves an appointment to another time.
func TestBrowserMoveFromManagePage(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	appt := browserBook(t, s, "fundsache", "Hans Meier")
	tb := newTab(t, s.URL)
	tb.open("/a/" + appt.Token)
	tb.click("#move-open")
	tb.click(`.calendar button[data-date="2026-12-03"]`)
	tb.click(".slots button")
	tb.click("#move-submit")
	tb.waitVisible("#verify-box .success")
	if status, start := browserAppointment(t, s, appt.Token); !strings.HasPrefix(start, "2026-12-03") || status != "confirmed" {
		t.Errorf("after the move: %s at %s", status, start)
	}
	tb.checkErrors("move")
}

// TestBrowserKioskStaffDisplay draws a ticket at the kiosk, calls it from the
// staff console and waits for it on the display and on the ticket's status page.
func TestBrowserKioskStaffDisplay(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	display := newTab(t, s.URL)
	display.open("/display/geesthacht")

	kiosk := newTab(t, s.URL)
	kiosk.open("/kiosk/geesthacht?reset=600")
	kiosk.eval0(`window.print = () => { document.body.dataset.printed = "1"; }`)
	kiosk.click(`button[data-service="ummeldung"]`)
	number := kiosk.text("#ticket-number")
	statusURL := kiosk.text(".ticket-url")
	if kiosk.nodeCount("#ticket svg.qr path") != 1 {
		t.Error("the ticket has no QR code")
	}
	kiosk.waitFor(`body[data-printed="1"]`)
	kiosk.checkAxe("kiosk ticket")
	kiosk.screenshot("kiosk-ticket-de")
	kiosk.emulateMedia("print")
	printed := evalJS[[]string](kiosk, `["#h-ticket", ".ticket-number", ".qr", "#ticket-done", "#site-header"].map(s => getComputedStyle(document.querySelector(s)).visibility === "visible" && document.querySelector(s).getClientRects().length > 0 ? s : "")`)
	if strings.Join(printed, " ") != " .ticket-number .qr  " {
		t.Errorf("printed: %q, want only the ticket's number and QR code of these", printed)
	}
	kiosk.screenshot("kiosk-print-de")
	kiosk.emulateMedia("")
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
	staff.waitFor(`#counters li[data-counter="1"][data-open="true"]`)
	staff.click("#call-next")
	start := time.Now()
	if got := staff.text("#current-number"); got != number {
		t.Errorf("staff called %q, want %q", got, number)
	}
	display.waitFor(`#calls tr.newest[data-number="` + number + `"][data-counter="1"]`)
	t.Logf("display showed %s %v after the call", number, time.Since(start))
	status.waitFor("#ticket-called")
	display.screenshot("display-called-de")
	status.screenshot("ticket-called-de")
	staff.checkAxe("staff console with a called ticket")
	staff.screenshot("staff-called-de")
	staff.click("#act-finish")
	status.waitFor(`#ticket-status[data-status="finished"]`)
	staff.open("/staff/stats?from=2026-12-02&to=2026-12-02")
	row := staff.text("#stats-rows tr")
	if !strings.Contains(row, "Ummeldung") {
		t.Errorf("statistics row = %q, want the finished ticket's service", row)
	}
	if staff.nodeCount("#chart-tickets svg rect") == 0 {
		t.Error("no bars in the tickets chart")
	}
	if staff.nodeCount("#chart-hours svg rect") == 0 {
		t.Error("no bars in the chart by hour of the day")
	}
	csv := evalJS[string](staff, `fetch(document.getElementById("csv").href).then(async r => r.headers.get("Content-Type") + "\n" + await r.text())`)
	if !strings.HasPrefix(csv, "text/csv") || !strings.Contains(csv, "2026-12-02,ummeldung,1") {
		t.Errorf("CSV download: %q", csv)
	}
	staff.checkAxe("statistics with data")
	staff.screenshot("stats-data-de")
	for _, tb := range []*btab{display, staff, status} {
		tb.checkErrors("queue flow")
	}
}

// TestBrowserDisplayOffline stops the server under an open display, which
// must then say that it is offline, and starts it again: the display must
// reconnect by itself and show the next call.
func TestBrowserDisplayOffline(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	display := newTab(t, s.URL)
	display.open("/display/geesthacht")
	display.waitFor("#display-offline[hidden]")
	display.forgetErrors() // refused connections were expected while the server was down
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	display.waitVisible("#display-offline")
	display.screenshot("display-offline-de")

	// A server on the same address again: the display reconnects by itself.
	cfg := s.Config
	cfg.Addr = strings.TrimPrefix(s.URL, "http://")
	s2 := startTestServerWith(t, cfg, Options{Clock: clockAt(browserNow)})
	display.waitFor("#display-offline[hidden]")
	display.forgetErrors() // refused connections were expected while the server was down
	var tk struct{ Ticket struct{ Number string } }
	browserPost(t, s2.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "fundsache"}, &tk)
	staffCallNext(t, s2, "1")
	display.waitFor(`#calls tr.newest[data-number="` + tk.Ticket.Number + `"]`)
	display.checkErrors("display")
}

// TestBrowserVerifyLanding opens the e-mail verification link of an office
// that asks for it: the page confirms the appointment.
func TestBrowserVerifyLanding(t *testing.T) {
	t.Parallel()
	s := startOfficesServer(t, strings.NewReplacer("confirm_by_email: false", "confirm_by_email: true"))
	appt := browserBook(t, s, "ummeldung", "Erika Mustermann")
	if appt.Appointment.Status != "unverified" {
		t.Fatalf("status after booking = %q, want unverified", appt.Appointment.Status)
	}
	tb := newTab(t, s.URL)
	tb.open("/a/" + appt.Token + "?verify=1")
	tb.waitVisible("#verify-box .success")
	tb.waitFor(`#appt-status[data-status="confirmed"]`)
	if status, _ := browserAppointment(t, s, appt.Token); status != "confirmed" {
		t.Errorf("status after the verification link = %q", status)
	}
	tb.checkErrors("verify")
}

// TestBrowserKioskReturnsToStart checks that the kiosk goes back to its start
// screen by itself after printing a ticket.
func TestBrowserKioskReturnsToStart(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	kiosk := newTab(t, s.URL)
	kiosk.open("/kiosk/geesthacht?reset=1")
	kiosk.eval0(`window.print = () => { document.body.dataset.printed = "1"; }`)
	kiosk.click(`button[data-service="fundsache"]`)
	kiosk.waitFor(`body[data-printed="1"]`) // the ticket was shown and printed
	kiosk.waitFor(`#ticket-screen[hidden]`)
	kiosk.waitVisible("#h-start")
	if n := kiosk.nodeCount("#ticket *"); n != 0 {
		t.Errorf("the old ticket is still in the page (%d nodes)", n)
	}
	kiosk.checkErrors("kiosk")
}

// TestBrowserBookWithKeyboardOnly books with the Tab, Space and Enter keys
// alone, and checks that the focused controls show their focus.
func TestBrowserBookWithKeyboardOnly(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	tb := newTab(t, s.URL)
	tb.open("/")
	tb.tabTo(`input[name="service"]`)
	tb.press(" ")
	tb.tabTo(`.calendar button[data-date="2026-12-02"]`)
	if !tb.focusVisible() {
		t.Error("the focused calendar day shows no focus outline")
	}
	tb.press(kb.Enter)
	tb.tabTo(".slots button")
	tb.press(kb.Enter)
	tb.tabTo("#name")
	tb.press("Max Muster")
	tb.tabTo("#email")
	tb.press("max@example.org")
	tb.tabTo("#book-submit")
	if !tb.focusVisible() {
		t.Error("the focused submit button shows no focus outline")
	}
	tb.press(kb.Enter)
	if code := tb.text("#appt-code"); len(code) < 6 {
		t.Errorf("appointment code %q", code)
	}
	tb.tabTo("#manage-link")
	tb.checkErrors("keyboard booking")
}

// TestBrowserStaffActions works through recall, park and unpark, transfer and
// no-show in the staff console and checks each ticket's state on the server.
func TestBrowserStaffActions(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	var a, b struct{ Ticket struct{ Number string } }
	browserPost(t, s.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "fundsache"}, &a)
	browserPost(t, s.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "fundsache"}, &b)

	staff, ticketState := staffAtCounter(t, s)

	staff.click("#call-next")
	staff.waitFor(`#current-number`)
	if got := staff.text("#current-number"); got != a.Ticket.Number {
		t.Fatalf("called %q, want %q", got, a.Ticket.Number)
	}
	staff.click("#act-recall")
	staff.click("#act-park")
	staff.waitFor(`#tickets tr[data-number="` + a.Ticket.Number + `"][data-status="parked"] button`)
	if got := ticketState(a.Ticket.Number); got != "parked" {
		t.Errorf("after park: %q", got)
	}

	staff.click("#call-next")
	staff.waitFor(`#current-number`)
	if got := staff.text("#current-number"); got != b.Ticket.Number {
		t.Fatalf("called %q, want %q", got, b.Ticket.Number)
	}
	staff.setField("#transfer-service", "ummeldung")
	staff.click(`#transfer-form button`)
	staff.waitFor(`#tickets tr[data-number="` + b.Ticket.Number + `"][data-status="waiting"]`)

	staff.jsClick(`#tickets tr[data-number="` + a.Ticket.Number + `"] button`)
	staff.waitFor(`#tickets tr[data-number="` + a.Ticket.Number + `"][data-status="waiting"]`)
	staff.click("#call-next")
	staff.waitFor(`#current-number`)
	called := staff.text("#current-number")
	staff.click("#act-no-show")
	staff.waitFor("#no-current") // the action is done
	if got := ticketState(called); got != "no_show" {
		t.Errorf("after no-show: %q", got)
	}
	staff.checkErrors("staff actions")
}

// staffAtCounter signs in to the staff console as admin and opens counter 1;
// ticketState reads a ticket's status through the page's session.
func staffAtCounter(t *testing.T, s *testServer) (staff *btab, ticketState func(number string) string) {
	t.Helper()
	staff = newTab(t, s.URL)
	staff.open("/staff")
	staff.loginForm("admin", browserAdminPassword)
	staff.click("#counter-open")
	staff.waitFor(`#counters li[data-counter="1"][data-open="true"]`)
	return staff, func(number string) string {
		return evalJS[string](staff, `fetch("/api/v1/staff/offices/geesthacht/tickets/`+number+`").then(r => r.json()).then(j => j.ticket.status)`)
	}
}

// TestBrowserStaffLostCallAnswer: the answer of a call-next is lost on its
// way to the console (a restart, a network cut) after the server called the
// ticket.
//   - While the network stays down, the console cannot look at the counter;
//     the clerk presses "call next" again once it is back: the console
//     retries with the same Idempotency-Key, so the server returns the
//     ticket it called — still called — instead of finishing it unseen.
//   - When the console can look, it shows the ticket the lost call got; the
//     next press is then a new call, which finishes that ticket.
func TestBrowserStaffLostCallAnswer(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	var tk [3]struct{ Ticket struct{ Number string } }
	for i := range tk {
		browserPost(t, s.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "fundsache"}, &tk[i])
	}
	a, b, c := tk[0].Ticket.Number, tk[1].Ticket.Number, tk[2].Ticket.Number

	staff, ticketState := staffAtCounter(t, s)
	// cutCall drops the answer of the next call-next after it reached the
	// server; netDown fails every other request of the page meanwhile.
	staff.eval0(`(() => {
		const real = window.fetch;
		window.cutCall = false; window.netDown = false; window.callAnswers = 0; window.failedWhileDown = 0;
		window.fetch = async (...args) => {
			const isCall = String(args[0]).endsWith("/call-next");
			if (window.netDown && !isCall) { window.failedWhileDown++; throw new TypeError("network down"); }
			const res = await real(...args);
			if (!isCall) return res;
			window.callAnswers++;
			if (window.cutCall) { window.cutCall = false; throw new TypeError("answer lost"); }
			return res;
		};
	})()`)
	shows := func(number string) string {
		return `(document.getElementById("current-number") || {}).textContent === "` + number + `"`
	}
	staff.eval0(`window.netDown = true; window.cutCall = true`)
	staff.click("#call-next")
	staff.waitJS(`window.callAnswers === 1 && window.failedWhileDown > 0`, "the lost answer and the failed look at the counter")
	staff.eval0(`window.netDown = false`)
	if got := staff.text("#current"); strings.Contains(got, a) {
		t.Fatalf("the console shows %s although it never learnt of it: %q", a, got)
	}

	staff.click("#call-next") // the network is back; the clerk presses again: the same call, retried
	staff.waitJS(`window.callAnswers === 2`, "the retry's answer")
	if st := ticketState(a); st != "called" {
		t.Fatalf("the retry left %s %q, want still called (not finished unseen)", a, st)
	}
	if st := ticketState(b); st != "waiting" {
		t.Fatalf("the retry called the next ticket: %s is %q", b, st)
	}
	staff.waitJS(shows(a), "the console to show "+a+" after the retry")

	staff.click("#call-next") // a new press: finishes the served ticket, calls the next
	staff.waitJS(shows(b), "the next press to call "+b)
	if st := ticketState(a); st != "finished" {
		t.Errorf("the next press left %s %q, want finished", a, st)
	}

	// Lost again, but the console can look: it shows the ticket the lost call got.
	staff.eval0(`window.cutCall = true`)
	staff.click("#call-next")
	staff.waitJS(shows(c), "the console to show "+c+", called by the lost call")
	staff.click("#call-next") // the clerk served c and presses: a new call, which finishes c
	staff.waitJS(`document.getElementById("nobody") !== null`, "a new call (nobody waits) after the console showed "+c+", not a replay of it")
	if st := ticketState(c); st != "finished" {
		t.Errorf("the press after the console showed %s left it %q, want finished", c, st)
	}
	staff.forgetErrors() // the lost answers' error messages
}

// startOfficesServer starts rathaus with the example offices file changed by r.
func startOfficesServer(t *testing.T, r *strings.Replacer) *testServer {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "offices.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "offices.yaml")
	if err := os.WriteFile(file, []byte(r.Replace(string(src))), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "RATHAUS_ADMIN_PASSWORD", browserAdminPassword, "RATHAUS_OFFICES_FILE", file)
	return startTestServerWith(t, cfg, Options{Clock: clockAt(browserNow)})
}

// TestBrowserProofOfWork books and draws a ticket at an office that asks for
// proof of work: the pages solve the challenge themselves.
func TestBrowserProofOfWork(t *testing.T) {
	t.Parallel()
	s := startOfficesServer(t, strings.NewReplacer("proof_of_work: false", "proof_of_work: true"))
	if code := browserPost(t, s.URL+"/api/v1/offices/geesthacht/tickets", map[string]string{"service": "fundsache"}, nil); code < 400 {
		t.Fatalf("a ticket without proof of work: status %d, want refused", code)
	}
	tb := newTab(t, s.URL)
	tb.open("/")
	tb.click("#svc-fundsache")
	tb.click(`.calendar button[data-date="2026-12-02"]`)
	tb.click(".slots button")
	tb.typeInto("#name", "Erika Mustermann")
	tb.typeInto("#email", "erika@example.org")
	tb.click("#book-submit")
	if code := tb.text("#appt-code"); len(code) < 6 {
		t.Errorf("appointment code %q", code)
	}
	tb.open("/kiosk/geesthacht?reset=600")
	tb.eval0(`window.print = () => {}`)
	tb.click(`button[data-service="fundsache"]`)
	if n := tb.text("#ticket-number"); n == "" {
		t.Error("no ticket number")
	}
	tb.checkErrors("proof of work")
}

// TestBrowserKioskCheckIn checks in at the kiosk with the appointment code:
// a wrong code is an error at the field, the right one prints a ticket.
func TestBrowserKioskCheckIn(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	appt := browserBook(t, s, "ummeldung", "Erika Mustermann")
	kiosk := newTab(t, s.URL)
	kiosk.open("/kiosk/geesthacht?reset=600")
	kiosk.eval0(`window.print = () => {}`)
	kiosk.click("#have-appt")
	kiosk.typeInto("#code", "XXX-XXX")
	kiosk.click(`#code-form button[type="submit"]`)
	kiosk.waitFor(`#code[aria-invalid="true"]`)
	if msg := kiosk.text("#code-error"); msg == "" {
		t.Error("a wrong code gives no message at the field")
	}
	kiosk.checkAxe("kiosk check-in error")
	kiosk.screenshot("kiosk-checkin-error-de")
	kiosk.setField("#code", "")
	kiosk.typeInto("#code", strings.ToLower(appt.Appointment.Code))
	kiosk.click(`#code-form button[type="submit"]`)
	if n := kiosk.text("#ticket-number"); n == "" {
		t.Fatal("no ticket number")
	}
	if got := kiosk.text("#ticket"); !strings.Contains(got, "10:30") {
		t.Errorf("ticket %q does not name the appointment time", got)
	}
	kiosk.checkErrors("check-in")
}

// TestBrowserStaffMovesForCaller: a citizen phones and reads out the code
// from her mail; the clerk finds the appointment by it (on another day than
// today), moves it to a time she picks in the calendar, and the citizen's
// link shows the new time. The day list shows other days too.
func TestBrowserStaffMovesForCaller(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	appt := browserBookOn(t, s, "fundsache", "Olga Anrufer", "2026-12-04")
	staff := newTab(t, s.URL)
	staff.open("/staff")
	staff.loginForm("admin", browserAdminPassword)
	staff.waitFor(`#appt-listing[data-listing="date:2026-12-02"]`)
	if got := staff.text("#appt-listing"); !strings.Contains(got, "2. Dezember 2026") {
		t.Errorf("listing %q: not today's", got)
	}
	if staff.nodeCount(`#appointments tr[data-code="`+appt.Appointment.Code+`"]`) != 0 {
		t.Error("an appointment of 4 December is in today's list")
	}

	spoken := strings.ToLower(strings.Replace(appt.Appointment.Code, "-", " ", 1))
	staff.typeInto("#appt-code", spoken)
	staff.click(`#appt-code-form button[type="submit"]`)
	staff.waitFor(`#appt-listing[data-listing="code:` + appt.Appointment.Code + `"]`)
	row := `#appointments tr[data-code="` + appt.Appointment.Code + `"]`
	staff.waitFor(row)
	if got := staff.text(row); !strings.Contains(got, "Olga Anrufer") || !strings.Contains(got, "4.12.2026") {
		t.Errorf("found row %q, want her name and the day", got)
	}
	staff.checkAxe("staff appointments found by code")

	staff.click(row + ` button.appt-move`)
	staff.waitVisible("#move-box")
	if got := evalJS[string](staff, `document.activeElement.id`); got != "h-move" {
		t.Errorf("focus on %q after opening the move, want its heading", got)
	}
	if got := staff.text("#h-move"); !strings.Contains(got, appt.Appointment.Code) || !strings.Contains(got, "Olga Anrufer") {
		t.Errorf("move heading %q", got)
	}
	staff.click(`#move-calendar .calendar button[data-date="2026-12-07"]`)
	staff.click(`#move-calendar .slots button`)
	staff.waitVisible("#move-confirm")
	if got := evalJS[string](staff, `document.activeElement.id`); got != "move-submit" {
		t.Errorf("focus on %q after choosing a time, want the move button", got)
	}
	staff.checkAxe("staff move with calendar")
	staff.screenshot("staff-move-de")
	staff.click("#move-submit")
	staff.waitFor(`#move-box[hidden]`)
	staff.waitFor(row + `[data-start^="2026-12-07T"]`)
	if got := staff.text(row); !strings.Contains(got, "7.12.2026") {
		t.Errorf("row after the move %q, want 7 December", got)
	}
	if _, start := browserAppointment(t, s, appt.Token); !strings.HasPrefix(start, "2026-12-07T") {
		t.Errorf("the citizen's link shows %s, want 7 December", start)
	}

	// The day list of 7 December has her now.
	staff.setField("#appt-day", "2026-12-07")
	staff.click(`#appt-day-form button[type="submit"]`)
	staff.waitFor(`#appt-listing[data-listing="date:2026-12-07"]`)
	staff.waitFor(`#appointments tr[data-code="` + appt.Appointment.Code + `"]`)
	if got := staff.text("#appt-listing"); !strings.Contains(got, "7. Dezember 2026") {
		t.Errorf("listing %q, want 7 December", got)
	}
	staff.checkErrors("staff move")
}

// TestBrowserStaffBooksForCaller: a clerk books for a caller who has no
// e-mail address: service, day and time in the calendar, then name and phone.
// Leaving both name and contact out shows both errors at their fields; the
// booking then shows the code to tell the caller, and the day's list has it.
func TestBrowserStaffBooksForCaller(t *testing.T) {
	t.Parallel()
	s := startBrowserServer(t)
	staff := newTab(t, s.URL)
	staff.open("/staff")
	staff.loginForm("admin", browserAdminPassword)
	staff.waitFor(`#appt-listing[data-listing="date:2026-12-02"]`)
	staff.click("#book-open")
	staff.waitVisible("#book-box")
	if got := evalJS[string](staff, `document.activeElement.id`); got != "h-book" {
		t.Errorf("focus on %q after opening, want the heading", got)
	}
	staff.eval0(`(() => { const s = document.getElementById("book-service"); s.value = "fundsache"; s.dispatchEvent(new Event("change")); })()`)
	staff.click(`#book-calendar .calendar button[data-date="2026-12-03"]`)
	staff.click(`#book-calendar .slots button`)
	staff.waitVisible("#staff-book-form")
	if got := evalJS[string](staff, `document.activeElement.id`); got != "book-name" {
		t.Errorf("focus on %q after choosing a time, want the name", got)
	}
	staff.click("#staff-book-submit")
	staff.waitVisible("#book-errors")
	for _, f := range []string{"book-name", "book-phone"} {
		if got := evalJS[string](staff, `document.getElementById("`+f+`").getAttribute("aria-invalid")`); got != "true" {
			t.Errorf("%s aria-invalid = %q after submitting it empty", f, got)
		}
	}
	if got := staff.text("#book-phone-error"); !strings.Contains(got, "Telefonnummer") {
		t.Errorf("phone error %q", got)
	}
	staff.checkAxe("staff booking form with errors")
	staff.checkNarrow("staff booking form")
	staff.typeInto("#book-name", "Gerda Telefon")
	staff.typeInto("#book-phone", "04152 130 77")
	staff.screenshot("staff-book-de")

	// Meanwhile citizens take every seat of that time: the clerk is told
	// above the calendar, which shows the times again.
	var day struct{ Slots []struct{ Start string } }
	browserGet(t, s.URL+"/api/v1/offices/geesthacht/slots?service=fundsache&date=2026-12-03", &day)
	taken := day.Slots[0].Start
	for i := 0; ; i++ {
		code := browserPost(t, s.URL+"/api/v1/offices/geesthacht/appointments",
			map[string]string{"service": "fundsache", "start": taken, "name": "Eilig", "email": fmt.Sprintf("eilig%d@example.org", i)}, nil)
		if code == 409 {
			break
		}
		if code != 201 || i > 20 {
			t.Fatalf("filling %s: %d", taken, code)
		}
	}
	staff.click("#staff-book-submit")
	staff.waitVisible("#book-errors")
	if got := evalJS[string](staff, `document.activeElement.id`); got != "book-errors" {
		t.Errorf("focus on %q after the time was taken, want the message", got)
	}
	if got := staff.text("#book-errors"); got == "" {
		t.Error("no message when the time was taken")
	}
	if staff.nodeCount("#staff-book-form:not([hidden])") != 0 {
		t.Error("the form stays open for a time that is taken")
	}
	staff.click(`#book-calendar .calendar button[data-date="2026-12-03"]`)
	staff.click(`#book-calendar .slots button`)
	staff.waitVisible("#staff-book-form")
	if staff.nodeCount("#book-errors:not([hidden])") != 0 {
		t.Error("the old message stays after choosing another time")
	}
	if got := evalJS[string](staff, `document.getElementById("book-name").value`); got != "Gerda Telefon" {
		t.Errorf("name after choosing again %q, want it kept", got)
	}
	staff.click("#staff-book-submit")
	staff.waitVisible("#book-done")
	code := evalJS[string](staff, `document.getElementById("book-done").dataset.code`)
	if got := staff.text("#book-done"); len(code) != 7 || !strings.Contains(got, code) || !strings.Contains(got, "3. Dezember 2026") {
		t.Fatalf("booked note %q (code %q)", got, code)
	}
	staff.waitFor(`#appt-listing[data-listing="date:2026-12-03"]`)
	row := `#appointments tr[data-code="` + code + `"][data-status="confirmed"]`
	staff.waitFor(row)
	if got := staff.text(row); !strings.Contains(got, "Gerda Telefon") {
		t.Errorf("row %q", got)
	}
	if evalJS[string](staff, `document.activeElement.id`) != "book-done" {
		t.Errorf("focus on %q after booking, want the note with the code", evalJS[string](staff, `document.activeElement.id`))
	}
	staff.checkAxe("staff booked")

	// She stands at the counter: the clerk prints her a confirmation — on
	// paper only the slip, with the code, the time, what to bring and how
	// to reach the office.
	staff.eval0(`window.print = () => {}`) // headless: no print dialog to wait for
	staff.click("#book-print")
	staff.waitFor(`body[data-printed="1"]`)
	staff.emulateMedia("print")
	printed := evalJS[[]string](staff, `["#print-slip .slip-code", "#book-done", "#appointments-wrap", "#site-header"].map(s => getComputedStyle(document.querySelector(s)).visibility === "visible" && document.querySelector(s).getClientRects().length > 0 ? s : "")`)
	if strings.Join(printed, " ") != "#print-slip .slip-code   " {
		t.Errorf("printed: %q, want only the slip of these", printed)
	}
	slipText := evalJS[string](staff, `document.getElementById("print-slip").innerText`)
	for _, want := range []string{code, "3. Dezember 2026", "Fundsache", "Beschreibung des Gegenstands", "04152 130", "Markt 15"} {
		if !strings.Contains(slipText, want) {
			t.Errorf("the slip lacks %q:\n%s", want, slipText)
		}
	}
	staff.screenshot("staff-slip-print-de")
	staff.emulateMedia("")
	if staff.nodeCount("#print-slip:not(:empty)") != 1 || evalJS[bool](staff, `document.getElementById("print-slip").getClientRects().length > 0`) {
		t.Error("the slip shows on screen")
	}
	staff.checkErrors("staff booking")
}
