package queue

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rathaus/rathaus/booking"
)

// LocalDay returns the office-local date of t (YYYY-MM-DD): ticket numbers
// restart at local midnight, also on the 23- and 25-hour days of DST changes.
func LocalDay(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.DateOnly)
}

// FormatNumber returns the ticket number of the seq-th ticket of a letter: A001.
func FormatNumber(letter string, seq int64) string {
	return fmt.Sprintf("%s%03d", letter, seq)
}

// OpenAt reports whether o is open at t by its weekly opening hours in its own
// time zone; when not, it gives the reason in German and English.
func OpenAt(o *booking.Office, t time.Time) (open bool, reasonDe, reasonEn string) {
	local := t.In(o.Location)
	ranges := o.Hours[local.Weekday()]
	if len(ranges) == 0 {
		return false, "heute ist kein Öffnungstag.", "it is not open on this weekday."
	}
	minute := local.Hour()*60 + local.Minute()
	for _, r := range ranges {
		if minute >= r.Start && minute < r.End {
			return true, "", ""
		}
	}
	for _, r := range ranges {
		if minute < r.Start {
			at := fmt.Sprintf("%02d:%02d", r.Start/60, r.Start%60)
			return false, "es öffnet heute wieder um " + at + " Uhr.", "it opens again today at " + at + "."
		}
	}
	return false, "es hat für heute geschlossen.", "it has closed for today."
}

// Candidate is a waiting ticket as the call order sees it.
type Candidate struct {
	Number  string
	Service string
	// Appointment tickets are called from Due (Unix ms) on, ahead of walk-ins.
	Appointment bool
	Due         int64
	Arrival     int64
}

// CallsBefore reports whether a is called before b at now (Unix ms): due
// appointments first (earliest start first, then arrival), then walk-ins by
// arrival. Appointments not yet due are not called at all (see Callable).
func CallsBefore(a, b Candidate, now int64) bool {
	ad, bd := a.Appointment && a.Due <= now, b.Appointment && b.Due <= now
	if ad != bd {
		return ad
	}
	if ad && a.Due != b.Due {
		return a.Due < b.Due
	}
	return a.Arrival < b.Arrival
}

// Callable reports whether c may be called at now: walk-ins always, appointments once due.
func Callable(c Candidate, now int64) bool { return !c.Appointment || c.Due <= now }

// NextFor returns the ticket a counter serving services calls at now, and false
// when none is callable. It is the rule that the call-next script implements.
func NextFor(waiting []Candidate, services []string, now int64) (Candidate, bool) {
	var best Candidate
	found := false
	for _, c := range waiting {
		if !slices.Contains(services, c.Service) || !Callable(c, now) {
			continue
		}
		if !found || CallsBefore(c, best, now) {
			best, found = c, true
		}
	}
	return best, found
}

// EstimateWaitMinutes estimates the wait of a ticket with ahead tickets before
// it, when its service takes avgSeconds on average and counters counters serve
// it (at least one is assumed, since a closed queue still moves later on).
func EstimateWaitMinutes(ahead int, avgSeconds float64, counters int) int {
	if ahead <= 0 || avgSeconds <= 0 {
		return 0
	}
	counters = max(counters, 1)
	return int(math.Ceil(float64(ahead) * avgSeconds / float64(counters) / 60))
}

// MovingAverage folds the observation x into the average avg with weight
// alpha; the first observation (avg <= 0) is taken as it is.
func MovingAverage(avg, x, alpha float64) float64 {
	if avg <= 0 {
		return x
	}
	return alpha*x + (1-alpha)*avg
}

// Percentile returns the p-th percentile (0–100, nearest rank) of values, 0 for none.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// CheckinResult classifies the moment of a check-in.
type CheckinResult int

// Check-in results.
const (
	CheckinOnTime CheckinResult = iota
	CheckinWrongDay
	CheckinEarly
	CheckinLate
)

// CheckinTiming classifies a check-in at now for an appointment starting at
// start: it must be the same office-local day, not more than early before the
// start, and counts as late more than grace after it.
func CheckinTiming(now, start time.Time, loc *time.Location, early, grace time.Duration) CheckinResult {
	switch {
	case LocalDay(now, loc) != LocalDay(start, loc):
		return CheckinWrongDay
	case now.Before(start.Add(-early)):
		return CheckinEarly
	case now.After(start.Add(grace)):
		return CheckinLate
	}
	return CheckinOnTime
}
