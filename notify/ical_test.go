package notify

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// unfold undoes RFC 5545 folding.
func unfold(b []byte) string {
	return strings.ReplaceAll(string(b), "\r\n ", "")
}

// checkLines asserts CRLF line ends, no line over 75 octets and valid UTF-8 in every physical line.
func checkLines(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Errorf("does not end with CRLF")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, line)
		}
		if len(line) > 75 {
			t.Errorf("line %d has %d octets: %q", i, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i, line)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"short", "SUMMARY:Termin"},
		{"exactly 75", "DESCRIPTION:" + strings.Repeat("x", 63)},
		{"76", "DESCRIPTION:" + strings.Repeat("x", 64)},
		{"long ascii", "DESCRIPTION:" + strings.Repeat("abcdefghij", 30)},
		{"umlauts at every boundary", "SUMMARY:" + strings.Repeat("ä", 100)},
		{"three-byte runes", "SUMMARY:" + strings.Repeat("山田太郎", 40)},
		{"four-byte runes", "SUMMARY:x" + strings.Repeat("😀", 50)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "BEGIN:VCALENDAR\r\n" + tt.in + "\r\nEND:VCALENDAR\r\n"
			out := Fold([]byte(in))
			checkLines(t, out)
			if got := unfold(out); got != in {
				t.Errorf("unfolded %q, want %q", got, in)
			}
		})
	}
	t.Run("LF becomes CRLF", func(t *testing.T) {
		if got := string(Fold([]byte("A:1\nB:2\n"))); got != "A:1\r\nB:2\r\n" {
			t.Errorf("got %q", got)
		}
	})
}

func TestVTimezone(t *testing.T) {
	enc := func(c *ical.Component) string {
		cal := ical.NewCalendar()
		cal.Props.SetText(ical.PropVersion, "2.0")
		cal.Props.SetText(ical.PropProductID, ProductID)
		cal.Children = append(cal.Children, c)
		b, err := EncodeCalendar(cal)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	at := time.Date(2026, 10, 25, 10, 0, 0, 0, time.UTC)
	t.Run("Berlin gets yearly rules", func(t *testing.T) {
		got := enc(VTimezone(berlin, at, at))
		for _, want := range []string{
			"TZID:Europe/Berlin\r\n",
			"BEGIN:DAYLIGHT\r\nDTSTART:20250330T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZNAME:CEST\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT",
			"BEGIN:STANDARD\r\nDTSTART:20251026T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZNAME:CET\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("missing %q in\n%s", want, got)
			}
		}
	})
	t.Run("UTC gets one fixed observance", func(t *testing.T) {
		got := enc(VTimezone(time.UTC, at, at))
		if !strings.Contains(got, "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZNAME:UTC\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nEND:STANDARD") {
			t.Errorf("got\n%s", got)
		}
	})
	t.Run("a zone that ended DST lists its last changes", func(t *testing.T) {
		got := enc(VTimezone(mustLoad("America/Sao_Paulo"), time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)))
		want := "BEGIN:STANDARD\r\nDTSTART:20180218T000000\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=3SU;UNTIL=20190217T020000Z\r\n"
		if !strings.Contains(got, want) {
			t.Errorf("the rule that stopped in 2019 must end there: want %q in\n%s", want, got)
		}
	})
}

// TestAppointmentICS checks the invite with go-ical and ical.js: both must
// resolve the local times through the VTIMEZONE to the same instants.
func TestAppointmentICS(t *testing.T) {
	starts := []time.Time{
		time.Date(2026, 3, 29, 10, 0, 0, 0, berlin), // first CEST day
		time.Date(2026, 3, 28, 10, 0, 0, 0, berlin), // last CET day
		time.Date(2026, 10, 25, 10, 0, 0, 0, berlin),
		time.Date(2026, 7, 1, 8, 30, 0, 0, berlin),
		time.Date(2027, 1, 4, 14, 0, 0, 0, berlin),
	}
	for _, start := range starts {
		for _, method := range []string{MethodRequest, MethodCancel} {
			t.Run(start.Format("2006-01-02T15:04")+"/"+method, func(t *testing.T) {
				msg := testMessage("m1", KindConfirmation, 3, start.UTC())
				msg.Office.Name = `Bürgerbüro "Am Markt"; Geesthacht, Rathaus: Erdgeschoss`
				b, err := AppointmentICS(msg, method)
				if err != nil {
					t.Fatal(err)
				}
				checkLines(t, b)
				cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
				if err != nil {
					t.Fatalf("go-ical: %v\n%s", err, b)
				}
				if got := cal.Props.Get(ical.PropMethod).Value; got != method {
					t.Errorf("METHOD %q, want %q", got, method)
				}
				evs := cal.Events()
				if len(evs) != 1 {
					t.Fatalf("%d events", len(evs))
				}
				ev := evs[0]
				if uid, _ := ev.Props.Text(ical.PropUID); uid != "appt-7f3a9c@rathaus.example" {
					t.Errorf("UID %q", uid)
				}
				if seq := ev.Props.Get(ical.PropSequence).Value; seq != "3" {
					t.Errorf("SEQUENCE %q", seq)
				}
				ds := ev.Props.Get(ical.PropDateTimeStart)
				if ds.Params.Get(ical.ParamTimezoneID) != "Europe/Berlin" || ds.Value != start.Format("20060102T150405") {
					t.Errorf("DTSTART %v %q", ds.Params, ds.Value)
				}
				wantStatus := map[string]string{MethodRequest: "CONFIRMED", MethodCancel: "CANCELLED"}[method]
				if st := ev.Props.Get(ical.PropStatus).Value; st != wantStatus {
					t.Errorf("STATUS %q, want %q", st, wantStatus)
				}
				if ts := ev.Props.Get(ical.PropDateTimeStamp).Value; ts != "20260901T080000Z" {
					t.Errorf("DTSTAMP %q", ts)
				}

				js := parseWithICALJS(t, b)
				if js.Method != method || len(js.Events) != 1 || len(js.Timezones) != 1 {
					t.Fatalf("ical.js read %+v", js)
				}
				e := js.Events[0]
				if e.StartUTC != start.UTC().Format("2006-01-02T15:04:05.000Z") {
					t.Errorf("ical.js start %s, want %s (VTIMEZONE wrong?)", e.StartUTC, start.UTC())
				}
				if e.EndUTC != start.Add(20*time.Minute).UTC().Format("2006-01-02T15:04:05.000Z") {
					t.Errorf("ical.js end %s", e.EndUTC)
				}
				if e.TZID != "Europe/Berlin" || e.UID != "appt-7f3a9c@rathaus.example" || e.Sequence != 3 || e.Status != wantStatus {
					t.Errorf("ical.js event %+v", e)
				}
				if e.Organizer != "mailto:buergerbuero@geesthacht.example" || e.OrganizerCN != `Bürgerbüro 'Am Markt'; Geesthacht, Rathaus: Erdgeschoss` {
					t.Errorf("organizer %q CN %q", e.Organizer, e.OrganizerCN)
				}
				if len(e.Attendees) != 1 || e.Attendees[0] != "mailto:anna@example.org" {
					t.Errorf("attendees %v", e.Attendees)
				}
				if method == MethodRequest && (len(e.Alarms) != 1 || e.Alarms[0] != "-PT1H") {
					t.Errorf("alarms %v", e.Alarms)
				}
				if !strings.Contains(e.Description, "GH-4711") || !strings.Contains(e.Description, "https://rathaus.example/manage/tok123") {
					t.Errorf("description %q", e.Description)
				}
			})
		}
	}
	t.Run("NoAddress", func(t *testing.T) {
		// Booked by staff for a caller without an address: no ATTENDEE, so
		// the file publishes (RFC 5546 wants an attendee in REQUEST/CANCEL).
		for method, status := range map[string]string{MethodRequest: "CONFIRMED", MethodCancel: "CANCELLED"} {
			msg := testMessage("m1", KindConfirmation, 1, starts[0])
			msg.To = ""
			b, err := AppointmentICS(msg, method)
			if err != nil {
				t.Fatal(err)
			}
			js := parseWithICALJS(t, b)
			if js.Method != MethodPublish || len(js.Events) != 1 || len(js.Events[0].Attendees) != 0 || js.Events[0].Status != status {
				t.Errorf("%s without an address: ical.js read %+v", method, js)
			}
		}
	})
	t.Run("ErrNoUID", func(t *testing.T) {
		msg := testMessage("m1", KindConfirmation, 0, starts[0])
		msg.Appointment.UID = ""
		if _, err := AppointmentICS(msg, MethodRequest); err == nil {
			t.Error("no error")
		}
	})
	t.Run("ErrMethod", func(t *testing.T) {
		if _, err := AppointmentICS(testMessage("m1", KindConfirmation, 0, starts[0]), "PUBLISH"); err == nil {
			t.Error("no error")
		}
	})
}

func TestClosuresICS(t *testing.T) {
	office := testMessage("m", KindClosure, 0, time.Now()).Office
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	t.Run("OK", func(t *testing.T) {
		b, err := ClosuresICS(office, []ClosureEvent{
			{UID: "closure-1@rathaus.example", From: "2026-10-05", Until: "2026-10-06",
				Title: Text{De: "Betriebsausflug", En: "Staff outing"}, Message: Text{De: strings.Repeat("Wir bitten um Verständnis. ", 8)}},
			{UID: "closure-2@rathaus.example", Sequence: 2, From: "2026-12-24", Until: "2026-12-24", Title: Text{De: "Heiligabend"}},
		}, "de", now)
		if err != nil {
			t.Fatal(err)
		}
		checkLines(t, b)
		if _, err := ical.NewDecoder(bytes.NewReader(b)).Decode(); err != nil {
			t.Fatalf("go-ical: %v", err)
		}
		js := parseWithICALJS(t, b)
		if js.Method != "PUBLISH" || len(js.Events) != 2 {
			t.Fatalf("%+v", js)
		}
		e := js.Events[0]
		if e.StartDate != "2026-10-05" || e.EndDate != "2026-10-07" || e.Summary != "Betriebsausflug" {
			t.Errorf("first closure %+v", e)
		}
		if e := js.Events[1]; e.StartDate != "2026-12-24" || e.EndDate != "2026-12-25" || e.Sequence != 2 {
			t.Errorf("second closure %+v", e)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		b, err := ClosuresICS(office, nil, "en", now)
		if err != nil {
			t.Fatal(err)
		}
		if js := parseWithICALJS(t, b); len(js.Events) != 0 || len(js.Timezones) != 1 {
			t.Errorf("%+v", js)
		}
	})
	t.Run("ErrUntilBeforeFrom", func(t *testing.T) {
		_, err := ClosuresICS(office, []ClosureEvent{{UID: "x", From: "2026-10-05", Until: "2026-10-04"}}, "de", now)
		if err == nil {
			t.Error("no error")
		}
	})
}
