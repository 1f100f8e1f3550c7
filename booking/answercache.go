package booking

import (
	"sync"
	"sync/atomic"
	"time"
)

// An availability answer (eight weeks of free-slot counts) is asked for far
// more often than it changes: when new slots appear, thousands of citizens
// ask for the same office at once. answerCache keeps the last answer per
// office, service and range with the availability version it was computed
// at — a counter that every script changing seats or closures raises
// (capVerKey). Every request still asks Redis: a cached answer is used only
// when the office's version is the one it was computed at, so it is as
// current as a fresh one (a booking, cancellation, hold or closure made
// before the request is always seen, whichever server made it).
//
// How it asks: while an answer keeps being confirmed ("stable"), with a GET
// of the version alone — the cheapest request Redis has; if the version
// moved, a second round trip reads the records. An answer computed because
// the version moved is "churning": the next request sends its version along
// with the full read (availReadCmd), which answers "unchanged" or the
// records in one round trip; an "unchanged" makes the answer stable again.
// So an office that changes between every two requests costs one round trip
// per request, and one that does not, a GET.
//
// Besides the version, an answer depends on the clock only through today,
// the last bookable date and the first bookable start (startBound) — and, on
// the two DST days of a year, the exact earliest instant (see fits). An
// answer is also never used longer than answerMaxAge: the version is a
// counter, and a Redis that lost its last writes (a failover without WAIT, a
// restore) could count up to the same number with other data.
type answerCache struct {
	m sync.Map // answerKey -> *answer
	n atomic.Int64
}

// answerMaxAge bounds the life of a cached answer (see answerCache).
const answerMaxAge = 2 * time.Second

// maxAnswers bounds the answers kept (about 4–8 KB each): past it, the cache
// starts afresh. Legitimate traffic asks for a few ranges per office and
// service; the bound only matters against requests for arbitrary ranges.
const maxAnswers = 2048

type answerKey struct {
	office   *Office
	service  string
	from, to Date
}

// answer is one cached availability answer. Immutable once published, but
// for its JSON, which is encoded once, by the first request that needs it.
type answer struct {
	closuresVer, version string
	today, last          Date
	bound                startBound
	// exact: the day of the bound is a DST day, where the count depends on
	// the earliest instant itself, not only on the bound.
	exact    bool
	earliest time.Time
	made     time.Time
	// keys are the keys of availReadCmd for these dates (they depend only on
	// today and the last date).
	keys  []string
	dates []Date // the dates read
	days  []DayAvailability

	// stable: the last check found the version unchanged (see answerCache).
	stable atomic.Bool

	jsonOnce sync.Once
	json     []byte
}

// fits reports whether a computes the same days as a fresh answer for q at
// now would, given an unchanged version.
func (a *answer) fits(q dayQuery, now time.Time) bool {
	return a.today == q.today && a.last == q.last && a.bound == q.bound &&
		(!a.exact || a.earliest.Equal(q.earliest)) &&
		!now.Before(a.made) && now.Sub(a.made) < answerMaxAge
}

// JSON returns the answer's body for GET …/availability.
func (a *answer) JSON(k answerKey) []byte {
	a.jsonOnce.Do(func() {
		a.json = appendAvailabilityJSON(make([]byte, 0, 64+48*len(a.days)), k.office.ID, k.service, k.from, k.to, a.days)
	})
	return a.json
}

func (c *answerCache) get(k answerKey) *answer {
	if v, ok := c.m.Load(k); ok {
		return v.(*answer)
	}
	return nil
}

func (c *answerCache) put(k answerKey, a *answer) {
	if _, loaded := c.m.Swap(k, a); loaded {
		return
	}
	if c.n.Add(1) > maxAnswers {
		c.m.Clear()
		c.n.Store(0)
	}
}
