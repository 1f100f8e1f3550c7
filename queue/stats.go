package queue

import (
	"context"
	"time"
)

// StatRow is one day and service of the statistics. It counts and measures;
// it holds no ticket numbers and no personal data.
type StatRow struct {
	Date         string `json:"date"`
	Service      string `json:"service"`
	Tickets      int    `json:"tickets"`
	WalkIns      int    `json:"walk_ins"`
	Appointments int    `json:"appointments"`
	Served       int    `json:"served"`
	NoShows      int    `json:"no_shows"`
	// Open counts tickets neither served nor marked as not come: still
	// waiting, parked or called — at the end of a past day, those left open
	// (a walk-in who went home, a call the counter never finished).
	Open                 int     `json:"open"`
	WaitP50Minutes       float64 `json:"wait_p50_minutes"`
	WaitP90Minutes       float64 `json:"wait_p90_minutes"`
	ServiceTimeP50Minute float64 `json:"service_time_p50_minutes"`
}

// maxStatDays bounds a statistics request.
const maxStatDays = 366

// DayStats computes the statistics of one day's tickets, one row per service
// in the order of services (services without tickets are left out). A wait
// runs from arrival (or, for an appointment, its start when it came early)
// to the first call; a service time from the last call to finishing.
func DayStats(day string, services []string, tickets []Ticket) []StatRow {
	type acc struct {
		row          StatRow
		waits, times []float64
	}
	by := map[string]*acc{}
	for _, t := range tickets {
		a := by[t.Service]
		if a == nil {
			a = &acc{row: StatRow{Date: day, Service: t.Service}}
			by[t.Service] = a
		}
		a.row.Tickets++
		if t.Kind == KindAppointment || t.Appointment != "" {
			a.row.Appointments++
		} else {
			a.row.WalkIns++
		}
		switch t.Status {
		case StatusFinished:
			a.row.Served++
			if t.LastCall > 0 && t.Finished >= t.LastCall {
				a.times = append(a.times, float64(t.Finished-t.LastCall)/60000)
			}
		case StatusNoShow:
			a.row.NoShows++
		case StatusWaiting, StatusCalled, StatusParked:
			a.row.Open++
		}
		if t.Called > 0 {
			from := max(t.Issued, t.Due)
			a.waits = append(a.waits, float64(max(t.Called-from, 0))/60000)
		}
	}
	var out []StatRow
	for _, svc := range services {
		if a := by[svc]; a != nil {
			a.row.WaitP50Minutes = round1(Percentile(a.waits, 50))
			a.row.WaitP90Minutes = round1(Percentile(a.waits, 90))
			a.row.ServiceTimeP50Minute = round1(Percentile(a.times, 50))
			out = append(out, a.row)
		}
	}
	return out
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// HourRow is one office-local hour of the day over a whole range, all
// services together: when people arrive and how long they wait and are served.
type HourRow struct {
	Hour                 int     `json:"hour"`
	Tickets              int     `json:"tickets"`
	WaitP50Minutes       float64 `json:"wait_p50_minutes"`
	WaitP90Minutes       float64 `json:"wait_p90_minutes"`
	ServiceTimeP50Minute float64 `json:"service_time_p50_minutes"`
}

// HourStats groups tickets by the office-local hour in which they were drawn
// (or, for an appointment, became due), with the same measures as DayStats.
// Hours without tickets are left out.
func HourStats(loc *time.Location, tickets []Ticket) []HourRow {
	var rows [24]HourRow
	var waits, times [24][]float64
	for _, t := range tickets {
		from := max(t.Issued, t.Due)
		h := time.UnixMilli(from).In(loc).Hour()
		rows[h].Tickets++
		if t.Called > 0 {
			waits[h] = append(waits[h], float64(max(t.Called-from, 0))/60000)
		}
		if t.Status == StatusFinished && t.LastCall > 0 && t.Finished >= t.LastCall {
			times[h] = append(times[h], float64(t.Finished-t.LastCall)/60000)
		}
	}
	out := []HourRow{}
	for h := range rows {
		if rows[h].Tickets == 0 {
			continue
		}
		r := rows[h]
		r.Hour = h
		r.WaitP50Minutes, r.WaitP90Minutes = round1(Percentile(waits[h], 50)), round1(Percentile(waits[h], 90))
		r.ServiceTimeP50Minute = round1(Percentile(times[h], 50))
		out = append(out, r)
	}
	return out
}

// Stats returns the statistics of the office-local days from..to (YYYY-MM-DD, inclusive).
func (s *Service) Stats(ctx context.Context, officeID, from, to string) ([]StatRow, error) {
	days, _, err := s.Report(ctx, officeID, from, to)
	return days, err
}

// Report returns the statistics of the office-local days from..to
// (YYYY-MM-DD, inclusive) per day and service, and per hour of the day.
func (s *Service) Report(ctx context.Context, officeID, from, to string) ([]StatRow, []HourRow, error) {
	o, err := s.office(officeID)
	if err != nil {
		return nil, nil, err
	}
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > maxStatDays*24*time.Hour {
		return nil, nil, ErrBadRange
	}
	svcs := scopeAt(o, from).services
	out := []StatRow{}
	var all []Ticket
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		tickets, err := s.st.tickets(ctx, o.ID, day)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, DayStats(day, svcs, tickets)...)
		all = append(all, tickets...)
	}
	return out, HourStats(o.Location, all), nil
}
