package notify

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var berlin = mustLoad("Europe/Berlin")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// testMessage is a message of kind about one appointment of the demo office.
func testMessage(id, kind string, seq int, start time.Time) Message {
	a := &Appointment{UID: "appt-7f3a9c@rathaus.example", Sequence: seq, Code: "GH-4711",
		Service: Text{De: "Personalausweis beantragen", En: "Apply for an identity card"},
		Fee:     Text{De: "37,00 €", En: "EUR 37.00"},
		Start:   start, End: start.Add(20 * time.Minute),
		ManageURL: "https://rathaus.example/manage/tok123", ICSURL: "https://rathaus.example/api/v1/appointments/tok123/ics"}
	a.Documents.De = []string{"Altes Ausweisdokument", "Ein biometrisches Passfoto"}
	a.Documents.En = []string{"Your old identity document", "One biometric passport photo"}
	m := Message{ID: id, Kind: kind, Locale: "de", To: "anna@example.org", ToName: "Anna Müller",
		Office: Office{ID: "geesthacht", Name: "Bürgerbüro Geesthacht", Address: "Markt 15, 21502 Geesthacht",
			Phone: "04152 13-0", Email: "buergerbuero@geesthacht.example", Timezone: "Europe/Berlin"},
		Appointment: a, Created: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)}
	switch kind {
	case KindVerification:
		m.VerifyURL = "https://rathaus.example/verify/v-abc"
	case KindClosure:
		m.Closure = &Closure{Title: Text{De: "Betriebsausflug", En: "Staff outing"},
			Message: Text{De: "Wir sind am Montag nicht erreichbar.", En: "We are not available on Monday."},
			From:    "2026-10-05", Until: "2026-10-06", Phone: "04152 13-0", ComeBy: "2026-10-07"}
		m.Alternatives = []Alternative{{Start: start.AddDate(0, 0, 3), End: start.AddDate(0, 0, 3).Add(20 * time.Minute),
			RebookURL: "https://rathaus.example/rebook/tok123?slot=1"}}
	case KindReschedule:
		prev := start.AddDate(0, 0, -1)
		a.PreviousStart = &prev
	}
	return m
}

// icalJS is what tools/js/icalparse.mjs (ical.js) reads from an iCalendar object.
type icalJS struct {
	Method    string   `json:"method"`
	Version   string   `json:"version"`
	Timezones []string `json:"timezones"`
	Events    []struct {
		UID         string   `json:"uid"`
		Sequence    int      `json:"sequence"`
		Summary     string   `json:"summary"`
		Location    string   `json:"location"`
		Description string   `json:"description"`
		Status      string   `json:"status"`
		StartUTC    string   `json:"startUTC"`
		EndUTC      string   `json:"endUTC"`
		StartDate   string   `json:"startDate"`
		EndDate     string   `json:"endDate"`
		TZID        string   `json:"tzid"`
		Organizer   string   `json:"organizer"`
		OrganizerCN string   `json:"organizerCN"`
		Attendees   []string `json:"attendees"`
		Alarms      []string `json:"alarms"`
	} `json:"events"`
}

// parseWithICALJS runs ical.js (node) on ics. A missing node or ical.js
// fails the test with the install hint: it never skips.
func parseWithICALJS(t testing.TB, ics []byte) icalJS {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "tools", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found in PATH: install Node.js 20+ (Debian: apt-get install -y nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js")); err != nil {
		t.Fatalf("ical.js is not installed: run `npm ci --prefix tools/js` in the repository root (.ci/run does this): %v", err)
	}
	cmd := exec.Command("node", filepath.Join(dir, "icalparse.mjs"))
	cmd.Stdin = bytes.NewReader(ics)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ical.js could not parse the calendar: %v\n%s\n%s", err, stderr.String(), ics)
	}
	var res icalJS
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("icalparse output: %v: %s", err, out)
	}
	return res
}
