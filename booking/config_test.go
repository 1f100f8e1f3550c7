package booking

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDemoOffice(t *testing.T) {
	offices := DemoOffices()
	if len(offices) != 1 {
		t.Fatalf("demo offices = %d, want 1", len(offices))
	}
	o := offices[0]
	if o.ID != "geesthacht" || o.Name != "Bürgerbüro Geesthacht" || o.Timezone != "Europe/Berlin" ||
		o.Phone != "04152 130" || o.State != "SH" {
		t.Errorf("office = %q %q %q %q %q", o.ID, o.Name, o.Timezone, o.Phone, o.State)
	}
	if o.Location == nil || o.Location.String() != "Europe/Berlin" {
		t.Errorf("Location = %v", o.Location)
	}
	if o.HorizonDays != 56 {
		t.Errorf("HorizonDays = %d, want 56 (8 weeks)", o.HorizonDays)
	}
	var ids []string
	for _, s := range o.Services {
		ids = append(ids, s.ID)
		if s.Name.De == "" || s.Name.En == "" || s.Name.De == s.Name.En && s.ID != "fundsache" {
			t.Errorf("service %s names = %+v", s.ID, s.Name)
		}
		if s.DurationMinutes < 10 || s.DurationMinutes > 30 {
			t.Errorf("service %s duration = %d, want 10–30", s.ID, s.DurationMinutes)
		}
	}
	want := []string{"parkausweis", "geburtsurkunde", "eheurkunde", "fundsache", "ummeldung", "gewerbe"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("service ids (-want +got):\n%s", d)
	}
	if len(o.Counters) < 3 || !slices.Equal(o.Counters[:3], []string{"1", "2", "3"}) {
		t.Errorf("counters = %v, want at least 1, 2, 3", o.Counters)
	}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		if !covers(o.Hours[wd], 8*60, 12*60) {
			t.Errorf("%v hours %+v do not cover 08:00–12:00", wd, o.Hours[wd])
		}
		for _, r := range o.Hours[wd] {
			if r.Counters < 3 {
				t.Errorf("%v %+v: fewer than 3 counters serve appointments", wd, r)
			}
		}
	}
	if len(o.Hours[time.Saturday])+len(o.Hours[time.Sunday]) != 0 {
		t.Errorf("weekend hours = %+v %+v, want closed", o.Hours[time.Saturday], o.Hours[time.Sunday])
	}
}

// covers reports whether one range of rs spans start to end.
func covers(rs []TimeRange, start, end int) bool {
	for _, r := range rs {
		if r.Start <= start && r.End >= end {
			return true
		}
	}
	return false
}

func TestLoadOfficesFile(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		offices, err := LoadOfficesFile(filepath.Join("..", "examples", "offices.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(offices) != 1 || offices[0].ID != "geesthacht" || len(offices[0].Services) != 6 {
			t.Fatalf("offices = %+v", offices)
		}
	})
	t.Run("ErrMissing", func(t *testing.T) {
		_, err := LoadOfficesFile(filepath.Join(t.TempDir(), "nope.yaml"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want os.ErrNotExist", err)
		}
	})
}

// baseYAML is a valid offices file; the table edits single lines of it.
var baseYAML = []string{
	"offices:", //  1
	"  - id: test",
	"    name: Testamt",
	"    timezone: Europe/Berlin",
	"    state: SH", //  5
	`    counters: ["1", "2"]`,
	"    services:",
	"      - id: ummeldung",
	"        name: {de: Ummeldung, en: Change of address}",
	"        duration_minutes: 15", // 10
	"    opening_hours:",
	`      mon: ["08:00-12:00", "14:00-16:00"]`,
	`      tue: ["08:00-24:00"]`, // 13
}

// edit returns baseYAML with lines replaced (1-based); a replacement may hold
// several lines, "" deletes the line.
func edit(repl map[int]string) []byte {
	var out []string
	for i, l := range baseYAML {
		r, ok := repl[i+1]
		switch {
		case !ok:
			out = append(out, l)
		case r != "":
			out = append(out, r)
		}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

func TestParseOffices(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		offices, err := ParseOffices("offices.yaml", edit(nil))
		if err != nil {
			t.Fatal(err)
		}
		o := offices[0]
		want := []TimeRange{{Start: 8 * 60, End: 12 * 60, Counters: 2, Seats: 2}, {Start: 14 * 60, End: 16 * 60, Counters: 2, Seats: 2}}
		if d := cmp.Diff(want, o.Hours[time.Monday]); d != "" {
			t.Errorf("monday (-want +got):\n%s", d)
		}
		if got := o.Hours[time.Tuesday]; len(got) != 1 || got[0].End != 1440 {
			t.Errorf("tuesday = %+v, want one range ending 24:00", got)
		}
		if o.SlotMinutes != 5 || o.LeadMinutes != 60 || o.HorizonDays != 56 {
			t.Errorf("defaults: slot %d lead %d horizon %d", o.SlotMinutes, o.LeadMinutes, o.HorizonDays)
		}
		if !slices.Equal(o.ReminderLeads, []time.Duration{24 * time.Hour}) {
			t.Errorf("default reminders %v, want one 24 h before", o.ReminderLeads)
		}
	})
	t.Run("OKReminderHours", func(t *testing.T) {
		for line, want := range map[string][]time.Duration{
			"    reminder_hours: [2, 48]": {48 * time.Hour, 2 * time.Hour},
			"    reminder_hours: []":      nil,
		} {
			offices, err := ParseOffices("offices.yaml", edit(map[int]string{6: `    counters: ["1", "2"]` + "\n" + line}))
			if err != nil {
				t.Fatal(err)
			}
			if got := offices[0].ReminderLeads; !slices.Equal(got, want) {
				t.Errorf("%s: leads %v, want %v", line, got, want)
			}
		}
	})
	t.Run("OKRangeMapping", func(t *testing.T) {
		offices, err := ParseOffices("offices.yaml", edit(map[int]string{13: "      tue:\n        - {time: \"08:00-12:00\", counters: 1, online_share: 0.5}"}))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]TimeRange{{Start: 480, End: 720, Counters: 1, Seats: 0}}, offices[0].Hours[time.Tuesday]); d != "" {
			t.Error(d)
		}
	})

	tests := []struct {
		name      string
		data      []byte
		wantLine  int
		wantField string
		wantMsg   string // part of the message
	}{
		{"unknown office key", edit(map[int]string{4: "    timzone: Europe/Berlin"}), 4, "timzone", `unknown key "timzone"`},
		{"unknown top-level key", edit(map[int]string{1: "office:"}), 1, "office", `unknown key "office"`},
		{"unknown service key", edit(map[int]string{10: "        duration_minutes: 15\n        colour: red"}), 11, "colour", `unknown key "colour"`},
		{"unknown name language", edit(map[int]string{9: "        name: {de: Ummeldung, en: Change of address, fr: Déménagement}"}), 9, "fr", `unknown key "fr"`},
		{"unknown range key", edit(map[int]string{13: "      tue:\n        - {time: \"08:00-12:00\", seats: 2}"}), 14, "", `unknown key "seats"`},
		{"bad time range reversed", edit(map[int]string{12: `      mon: ["12:00-08:00"]`}), 12, "offices[0].opening_hours.mon[0]", "not a valid range"},
		{"bad time range text", edit(map[int]string{13: "      tue:\n        - 8-12"}), 14, "offices[0].opening_hours.tue[0]", "not a range HH:MM-HH:MM"},
		{"end after 24:00", edit(map[int]string{13: `      tue: ["08:00-24:30"]`}), 13, "offices[0].opening_hours.tue[0]", "24:00 at most"},
		{"start at 24:00", edit(map[int]string{13: `      tue: ["24:00-24:00"]`}), 13, "offices[0].opening_hours.tue[0]", "not a valid range"},
		{"off the slot grid", edit(map[int]string{13: `      tue: ["08:03-12:00"]`}), 13, "offices[0].opening_hours.tue[0]", "slot grid"},
		{"unknown weekday", edit(map[int]string{13: `      tues: ["08:00-12:00"]`}), 13, "offices[0].opening_hours.tues", "not a weekday"},
		{"overlapping ranges", edit(map[int]string{12: "      mon:\n        - \"08:00-12:00\"\n        - \"11:30-13:00\""}), 14, "offices[0].opening_hours.mon[1]", `overlaps 08:00-12:00 (line 13)`},
		{"overlapping ranges unsorted", edit(map[int]string{12: "      mon:\n        - \"14:00-16:00\"\n        - \"08:00-14:05\""}), 14, "offices[0].opening_hours.mon[1]", "overlaps 14:00-16:00"},
		{"bad timezone", edit(map[int]string{4: "    timezone: Europe/Geesthacht"}), 4, "offices[0].timezone", "not a known time zone"},
		{"bad state", edit(map[int]string{5: "    state: XX"}), 5, "offices[0].state", "Bundesland"},
		{"duplicate service ids", edit(map[int]string{10: "        duration_minutes: 15\n      - id: ummeldung\n        name: {de: U, en: U}\n        duration_minutes: 10"}), 11, "offices[0].services[1].id", `"ummeldung" appears twice`},
		{"duplicate office ids", append(edit(nil), []byte(strings.Join(baseYAML[1:], "\n")+"\n")...), 14, "offices[1].id", `"test" appears twice`},
		{"duplicate counters", edit(map[int]string{6: `    counters: ["1", "1"]`}), 6, "offices[0].counters", "listed twice"},
		{"duplicate weekday", edit(map[int]string{13: `      mon: ["17:00-18:00"]`}), 13, "", `"mon" already defined at line 12`},
		{"missing name", edit(map[int]string{3: ""}), 2, "offices[0].name", "is required"},
		{"service without english name", edit(map[int]string{9: "        name: {de: Ummeldung}"}), 9, "offices[0].services[0].name", "needs both de and en"},
		{"wrong type", edit(map[int]string{10: "        duration_minutes: fifteen"}), 10, "", "cannot unmarshal"},
		{"duration zero", edit(map[int]string{10: "        duration_minutes: 0"}), 10, "offices[0].services[0].duration_minutes", "not between 1 and 480"},
		{"no services", edit(map[int]string{7: "", 8: "", 9: "", 10: ""}), 2, "offices[0].services", "at least one service"},
		{"bad slot minutes", edit(map[int]string{6: `    counters: ["1", "2"]` + "\n    slot_minutes: 7"}), 7, "offices[0].slot_minutes", "does not divide a day"},
		{"reminder hours zero", edit(map[int]string{6: `    counters: ["1", "2"]` + "\n    reminder_hours: [24, 0]"}), 7, "offices[0].reminder_hours", "not between 1 and 168"},
		{"reminder hours twice", edit(map[int]string{6: `    counters: ["1", "2"]` + "\n    reminder_hours: [2, 2]"}), 7, "offices[0].reminder_hours", "listed twice"},
		{"too many reminders", edit(map[int]string{6: `    counters: ["1", "2"]` + "\n    reminder_hours: [1, 2, 3, 4]"}), 7, "offices[0].reminder_hours", "at most 3"},
		{"syntax error", edit(map[int]string{9: "        name: {de: Ummeldung, en: Change of address"}), 10, "", "did not find expected ',' or '}'"},
		{"syntax error block", edit(map[int]string{7: "    services:\n      - id: ummeldung\n     name: x"}), 9, "", "did not find expected key"},
		{"tab indentation", edit(map[int]string{5: "\tstate: SH"}), 5, "", "tab character"},
		{"empty file", []byte(""), 0, "", "the file is empty"},
		{"only comments", []byte("# nothing here\n"), 0, "", "the file is empty"},
		{"no offices", []byte("offices: []\n"), 1, "offices", "at least one office"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOffices("offices.yaml", tt.data)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError\n%s", err, tt.data)
			}
			if ce.File != "offices.yaml" || ce.Line != tt.wantLine || !strings.HasSuffix(ce.Field, tt.wantField) ||
				!strings.Contains(ce.Msg, tt.wantMsg) {
				t.Fatalf("got file %q line %d field %q msg %q\nwant line %d field %q msg containing %q\n%s",
					ce.File, ce.Line, ce.Field, ce.Msg, tt.wantLine, tt.wantField, tt.wantMsg, tt.data)
			}
			if tt.wantField == "" {
				return
			}
			if !strings.Contains(err.Error(), "offices.yaml:") || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("Error() = %q does not name the file and field", err)
			}
		})
	}
}
