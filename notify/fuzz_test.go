package notify

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fuzzMessage puts fuzzed texts into every free-text field of a message.
func fuzzMessage(kind, name, office, service, code, locale string, minutes int) Message {
	m := testMessage("m-1", kind, 1, time.Date(2026, 10, 5, 9, 0, 0, 0, berlin).Add(time.Duration(minutes)*time.Minute))
	m.ToName, m.Office.Name, m.Office.Address, m.Locale = name, office, office, locale
	m.Appointment.Service = Text{De: service, En: service}
	m.Appointment.Code = code
	if m.Closure != nil {
		m.Closure.Title, m.Closure.Message = Text{De: service, En: service}, Text{De: name, En: name}
	}
	return m
}

var fuzzSeeds = []struct{ name, office, service, code, locale string }{
	{"Anna Müller", "Bürgerbüro Geesthacht", "Ummeldung", "K7M-4QX", "de"},
	{"Anna \"Nina\" Müller", "Amt; mit, Sonderzeichen", "Pass\\Ausweis", "A\r\nB", "en"},
	{"Eve\r\nBcc: x@example.org", "Office\nDTSTART:19700101T000000Z", "Service\r\nEND:VEVENT", "\x00", "xx"},
	{strings.Repeat("Ä", 200), strings.Repeat("€", 100), "\u202eevil", "", ""},
}

// FuzzAppointmentICS: whatever the texts, the iCalendar object has only
// CRLF line ends, folded lines of at most 75 octets, and no property
// smuggled in by a line break inside a text.
func FuzzAppointmentICS(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.name, s.office, s.service, s.code, s.locale, 0)
	}
	f.Fuzz(func(t *testing.T, name, office, service, code, locale string, minutes int) {
		for _, kind := range []string{KindConfirmation, KindCancellation} {
			m := fuzzMessage(kind, name, office, service, code, locale, minutes%100_000)
			method := MethodRequest
			if kind == KindCancellation {
				method = MethodCancel
			}
			ics, err := AppointmentICS(m, method)
			if err != nil {
				continue
			}
			checkICS(t, ics)
		}
	})
}

func checkICS(t *testing.T, ics []byte) {
	t.Helper()
	if !bytes.HasSuffix(ics, []byte("\r\n")) {
		t.Fatalf("iCalendar does not end with CRLF: %q", ics)
	}
	events := 0
	for _, line := range strings.Split(strings.TrimSuffix(string(ics), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("bare line break in %q", line)
		}
		if len(line) > 75 {
			t.Fatalf("line of %d octets: %q", len(line), line)
		}
		if line == "BEGIN:VEVENT" {
			events++
		}
	}
	if events != 1 {
		t.Fatalf("%d VEVENTs (a text smuggled one in?):\n%s", events, ics)
	}
}

// FuzzRender: whatever the texts, a mail renders or fails with an error;
// its subject has no line break (no header injection) and markup in the
// texts is escaped in the HTML part.
func FuzzRender(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.name, s.office, s.service, s.code, s.locale, 0)
	}
	kinds := []string{KindConfirmation, KindVerification, KindReschedule, KindCancellation, KindClosure, KindReminder}
	f.Fuzz(func(t *testing.T, name, office, service, code, locale string, minutes int) {
		for _, kind := range kinds {
			// A tag after the fuzzed office and service names must come out escaped.
			const tag = "<rathaus-fuzz>"
			r, err := Render(fuzzMessage(kind, name, office+tag, service+tag, code, locale, minutes%100_000))
			if err != nil {
				continue
			}
			if strings.ContainsAny(r.Subject, "\r\n") {
				t.Fatalf("%s: subject with a line break: %q", kind, r.Subject)
			}
			if r.Text == "" || r.HTML == "" {
				t.Fatalf("%s: empty body", kind)
			}
			if strings.Contains(r.HTML, tag) || !strings.Contains(r.HTML, "&lt;rathaus-fuzz&gt;") {
				t.Fatalf("%s: a tag in the office or service name reached the HTML unescaped (or not at all)", kind)
			}
		}
	})
}
