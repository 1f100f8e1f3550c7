package queue

import (
	"testing"
	"time"

	"github.com/rathaus/rathaus/booking"
)

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestLocalDayDST(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name string
		utc  string
		want string
	}{
		{"spring day before midnight", "2026-03-28T22:59:59Z", "2026-03-28"},
		{"spring local midnight (UTC+1)", "2026-03-28T23:00:00Z", "2026-03-29"},
		{"spring day, after the gap", "2026-03-29T21:59:59Z", "2026-03-29"},
		{"after spring day (UTC+2)", "2026-03-29T22:00:00Z", "2026-03-30"},
		{"autumn local midnight (UTC+2)", "2026-10-24T22:00:00Z", "2026-10-25"},
		{"autumn day, 25 h long", "2026-10-25T22:59:59Z", "2026-10-25"},
		{"after autumn day (UTC+1)", "2026-10-25T23:00:00Z", "2026-10-26"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := time.Parse(time.RFC3339, tc.utc)
			if got := LocalDay(ts, loc); got != tc.want {
				t.Errorf("LocalDay(%s) = %s, want %s", tc.utc, got, tc.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		letter string
		seq    int64
		want   string
	}{{"A", 1, "A001"}, {"B", 17, "B017"}, {"E", 999, "E999"}, {"E", 1000, "E1000"}} {
		if got := FormatNumber(tc.letter, tc.seq); got != tc.want {
			t.Errorf("FormatNumber(%q, %d) = %q, want %q", tc.letter, tc.seq, got, tc.want)
		}
	}
}

func TestOpenAt(t *testing.T) {
	loc := berlin(t)
	o := &booking.Office{Location: loc}
	o.Hours[time.Monday] = []booking.TimeRange{{Start: 8 * 60, End: 12 * 60}, {Start: 14 * 60, End: 16 * 60}}
	tests := []struct {
		name   string
		local  string
		open   bool
		reason string
	}{
		{"before opening", "2026-10-05T07:59", false, "it opens again today at 08:00."},
		{"opening minute", "2026-10-05T08:00", true, ""},
		{"lunch", "2026-10-05T12:00", false, "it opens again today at 14:00."},
		{"afternoon", "2026-10-05T15:59", true, ""},
		{"evening", "2026-10-05T16:00", false, "it has closed for today."},
		{"sunday", "2026-10-04T10:00", false, "it is not open on this weekday."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := time.ParseInLocation("2006-01-02T15:04", tc.local, loc)
			if err != nil {
				t.Fatal(err)
			}
			open, _, en := OpenAt(o, ts)
			if open != tc.open || en != tc.reason {
				t.Errorf("OpenAt(%s) = %v %q, want %v %q", tc.local, open, en, tc.open, tc.reason)
			}
		})
	}
}

func TestNextFor(t *testing.T) {
	const now = 1_000_000
	waiting := []Candidate{
		{Number: "A001", Service: "a", Arrival: 1},
		{Number: "B001", Service: "b", Arrival: 2},
		{Number: "A002", Service: "a", Appointment: true, Due: now + 60_000, Arrival: 3}, // early
		{Number: "B002", Service: "b", Appointment: true, Due: now - 5_000, Arrival: 4},
		{Number: "A003", Service: "a", Appointment: true, Due: now - 5_000, Arrival: 5},
		{Number: "A004", Service: "a", Appointment: true, Due: now - 9_000, Arrival: 6},
	}
	tests := []struct {
		name     string
		waiting  []Candidate
		services []string
		now      int64
		want     string
		ok       bool
	}{
		{"due appointments first, earliest start", waiting, []string{"a", "b"}, now, "A004", true},
		{"same start: arrival decides", waiting[:5], []string{"a", "b"}, now, "B002", true},
		{"filtered by service", waiting, []string{"b"}, now, "B002", true},
		{"no due appointment: walk-in by arrival", waiting, []string{"a", "b"}, now - 10_000, "A001", true},
		{"early appointment waits", waiting[2:3], []string{"a"}, now, "", false},
		{"service nobody waits for", waiting, []string{"c"}, now, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NextFor(tc.waiting, tc.services, tc.now)
			if ok != tc.ok || got.Number != tc.want {
				t.Errorf("NextFor = %q %v, want %q %v", got.Number, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestEstimateWaitMinutes(t *testing.T) {
	tests := []struct {
		ahead    int
		avg      float64
		counters int
		want     int
	}{
		{0, 600, 2, 0}, {1, 600, 1, 10}, {3, 600, 2, 15}, {3, 600, 0, 30}, {1, 61, 1, 2}, {5, 0, 3, 0},
	}
	for _, tc := range tests {
		if got := EstimateWaitMinutes(tc.ahead, tc.avg, tc.counters); got != tc.want {
			t.Errorf("EstimateWaitMinutes(%d, %v, %d) = %d, want %d", tc.ahead, tc.avg, tc.counters, got, tc.want)
		}
	}
}

func TestMovingAverage(t *testing.T) {
	if got := MovingAverage(0, 300, 0.2); got != 300 {
		t.Errorf("first observation: got %v", got)
	}
	if got := MovingAverage(300, 600, 0.2); got != 360 {
		t.Errorf("got %v, want 360", got)
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct{ p, want float64 }{{50, 5}, {90, 9}, {100, 10}, {0, 1}} {
		if got := Percentile(v, tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty: want 0")
	}
}
