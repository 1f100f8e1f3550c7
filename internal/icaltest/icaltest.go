// Package icaltest runs a second, real iCalendar parser — ical.js under
// Node.js, through tools/js/icalparse.mjs — on what rathaus writes, so tests
// check calendar output with something other than the library that wrote it.
package icaltest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Calendar is what ical.js reads from an iCalendar object.
type Calendar struct {
	Method    string   `json:"method"`
	Version   string   `json:"version"`
	Timezones []string `json:"timezones"`
	Events    []Event  `json:"events"`
}

// Event is one VEVENT as ical.js reads it.
type Event struct {
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
}

// jsDir is tools/js in the repository.
func jsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "tools", "js")
}

// ParseJS runs ical.js on ics. A missing node or ical.js fails the test with
// the install hint: it never skips.
func ParseJS(t testing.TB, ics []byte) Calendar {
	t.Helper()
	dir := jsDir()
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
	var res Calendar
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("icalparse output: %v: %s", err, out)
	}
	return res
}
