package booking

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// A day's plan depends only on the office's configuration (opening hours,
// state, open holidays), the date and the active closures, and an
// availability answer needs one for every day it covers. planCache keeps them
// per office for the latest closures, so that a request builds only the plans
// of dates nobody asked for since the closures last changed.
//
// Validity: a set of plans belongs to one closures version *and* one list of
// active closures, compared field by field. The version alone would do while
// it only grows; comparing the closures as well keeps the cache right when it
// does not (a flushed or restored Redis, a failover that lost the last
// change), and when a pipelined read paired a version with closures of the
// next one. Sets are immutable once published: readers take no lock, and a
// request that built missing plans publishes a copy with them added (when
// another request published first, its plans are simply dropped).
type planCache struct {
	offices sync.Map // *Office -> *atomic.Pointer[planSet]
}

// maxCachedDays bounds the plans kept per office. Availability asks for at
// most 92 days at a time, mostly within the horizon; a set that would grow
// past the bound starts afresh with the dates of the request.
const maxCachedDays = 1024

// planSet is the plans of one office under one set of active closures.
type planSet struct {
	version  string
	closures []Closure
	days     map[Date]*cachedPlan
}

// cachedPlan is a day's plan and the length of its day. It is shared between
// requests: nobody may change it (nor its Closure).
type cachedPlan struct {
	DayPlan
	// regular is true on days of 24 hours: there, each unit exists as a
	// local time and counting needs no instants (see countFree).
	regular bool
	// starts are the instants of the units on the other days (the two DST
	// days of a year), from UnitTime.
	starts []unitStart
}

// newCachedPlan builds the plan of d under the active closures.
func newCachedPlan(o *Office, d Date, closures []Closure) *cachedPlan {
	p := &cachedPlan{DayPlan: o.Plan(d, o.closuresOn(d, closures)), regular: o.dayHours(d) == 24}
	if !p.regular {
		p.starts = o.unitStarts(d)
	}
	return p
}

// plans returns the plans of dates for office o under the active closures
// of the given version, building and keeping the missing ones.
func (c *planCache) plans(o *Office, version string, closures []Closure, dates []Date) []*cachedPlan {
	slot := c.slot(o)
	old := slot.Load()
	set := old
	if set == nil || set.version != version || !slices.Equal(set.closures, closures) {
		set = &planSet{version: version, closures: slices.Clone(closures)}
	}
	out := make([]*cachedPlan, len(dates))
	var built map[Date]*cachedPlan
	for i, d := range dates {
		p, ok := set.days[d]
		if !ok {
			if p, ok = built[d]; !ok {
				p = newCachedPlan(o, d, set.closures)
				if built == nil {
					built = make(map[Date]*cachedPlan, len(dates)-i)
				}
				built[d] = p
			}
		}
		out[i] = p
	}
	if built != nil || set != old {
		next := &planSet{version: set.version, closures: set.closures, days: built}
		if len(set.days)+len(built) <= maxCachedDays {
			next.days = maps.Clone(set.days)
			if next.days == nil {
				next.days = make(map[Date]*cachedPlan, len(built))
			}
			maps.Copy(next.days, built)
		}
		slot.CompareAndSwap(old, next)
	}
	return out
}

// slot returns the office's published set (nil before the first request).
func (c *planCache) slot(o *Office) *atomic.Pointer[planSet] {
	if v, ok := c.offices.Load(o); ok {
		return v.(*atomic.Pointer[planSet])
	}
	v, _ := c.offices.LoadOrStore(o, new(atomic.Pointer[planSet]))
	return v.(*atomic.Pointer[planSet])
}
