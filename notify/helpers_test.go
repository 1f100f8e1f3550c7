package notify

import (
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/icaltest"
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

// parseWithICALJS runs ical.js (node) on ics; see internal/icaltest.
func parseWithICALJS(t testing.TB, ics []byte) icaltest.Calendar { return icaltest.ParseJS(t, ics) }
