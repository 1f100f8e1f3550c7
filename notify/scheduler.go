package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/rathaus/rathaus/internal/clock"
)

// Job is a task that domains register with the Scheduler.
type Job struct {
	// Name identifies the job in locks and logs; unique per scheduler
	// (e.g. "reminders:geesthacht").
	Name string
	// Spec is a standard 5-field cron spec ("*/5 * * * *"), read in Location.
	Spec string
	// Location is the time zone of Spec; nil: the scheduler's.
	Location *time.Location
	// Run does the work for the scheduled instant now. It should be
	// idempotent: a run that failed is not repeated for the same instant.
	Run func(ctx context.Context, now time.Time) error
}

type job struct {
	Job
	sched cron.Schedule
	// fine is true for jobs that fire more often than hourly: in the repeated
	// hour of an autumn DST change they run in both passes, while coarser jobs
	// (a daily 02:30) run only in the first.
	fine bool
}

// Scheduler runs registered jobs at their cron instants in the office time
// zone. robfig/cron parses the specs and computes the instants; the
// scheduler itself reads the time from its clock (so tests move a simulated
// one) and, with several replicas, runs each instant once: a run takes a
// Redis lock (SET NX PX) keyed by job and local wall-clock instant. The latest
// handled instant is recorded, so after a downtime a missed run is caught up
// once on start (missed instants are coalesced into the latest).
type Scheduler struct {
	st       *schedStore
	clock    clock.Clock
	loc      *time.Location
	instance string
	log      *slog.Logger
	// LockTTL is how long a run's lock lives; longer than an hour so the
	// repeated DST hour finds it.
	LockTTL time.Duration
	// CatchUp is the longest downtime whose missed run is caught up.
	CatchUp time.Duration
	// Metrics, when set, counts the runs of this instance by outcome and
	// when each job last succeeded (see NewSchedulerMetrics).
	Metrics *SchedulerMetrics

	mu     sync.Mutex
	jobs   []*job
	done   chan struct{}
	stop   sync.Once
	cancel context.CancelFunc
}

// SchedulerMetrics are the scheduled jobs' metrics: runs of this process by
// job and outcome, and when each job last succeeded here. A job runs on one
// replica per instant, so alert on the newest success over all replicas:
// time() - max by (job) (rathaus_job_last_success_timestamp_seconds).
type SchedulerMetrics struct {
	Runs        *prometheus.CounterVec
	LastSuccess *prometheus.GaugeVec
}

// NewSchedulerMetrics creates the job metrics and registers them with reg
// (nil: not registered).
func NewSchedulerMetrics(reg prometheus.Registerer) *SchedulerMetrics {
	m := &SchedulerMetrics{
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rathaus", Subsystem: "job", Name: "runs_total",
			Help: "Scheduled job runs of this process by job and outcome (ok, failed)."}, []string{"job", "outcome"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rathaus", Subsystem: "job", Name: "last_success_timestamp_seconds",
			Help: "When this process last ran the job successfully (Unix time)."}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(m.Runs, m.LastSuccess)
	}
	return m
}

func (m *SchedulerMetrics) observe(job string, ok bool) {
	if m == nil {
		return
	}
	if !ok {
		m.Runs.WithLabelValues(job, "failed").Inc()
		return
	}
	m.Runs.WithLabelValues(job, "ok").Inc()
	m.LastSuccess.WithLabelValues(job).Set(float64(time.Now().UnixNano()) / 1e9)
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Register adds a job; call it before Start.
func (s *Scheduler) Register(j Job) error {
	if j.Name == "" || j.Run == nil {
		return fmt.Errorf("notify.Register: job needs a name and a func")
	}
	sched, err := cronParser.Parse(j.Spec)
	if err != nil {
		return fmt.Errorf("notify.Register %s: %w", j.Name, err)
	}
	if j.Location == nil {
		j.Location = s.loc
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		spec.Location = j.Location
	}
	ref := time.Date(2026, 1, 5, 0, 0, 0, 0, j.Location)
	a := sched.Next(ref)
	fine := sched.Next(a).Sub(a) < time.Hour
	if spec, ok := sched.(*cron.SpecSchedule); ok && !fine {
		sched = gapSchedule{spec: spec, loc: j.Location}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.jobs {
		if x.Name == j.Name {
			return fmt.Errorf("notify.Register: job %q registered twice", j.Name)
		}
	}
	s.jobs = append(s.jobs, &job{Job: j, sched: sched, fine: fine})
	return nil
}

// Start runs the scheduler in a goroutine counted by wg until Shutdown. It
// runs a pass at once (catching up missed runs), then at each next instant.
func (s *Scheduler) Start(wg *sync.WaitGroup) {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			s.exec(ctx)
			wait := min(max(s.nextRun(s.clock.Now()).Sub(s.clock.Now()), 0), time.Minute)
			select {
			case <-s.done:
				return
			case <-time.After(wait):
			}
		}
	}()
}

// Shutdown stops the scheduler and cancels a running job.
func (s *Scheduler) Shutdown() {
	s.stop.Do(func() {
		close(s.done)
		if s.cancel != nil {
			s.cancel()
		}
	})
}

// nextRun is the earliest next instant of any job after now.
func (s *Scheduler) nextRun(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := now.Add(time.Minute)
	for _, j := range s.jobs {
		if t := j.sched.Next(now); t.Before(next) {
			next = t
		}
	}
	return next
}

// exec runs every job whose latest instant up to now has not been handled.
// It returns how many jobs this instance ran.
func (s *Scheduler) exec(ctx context.Context) int {
	s.mu.Lock()
	jobs := append([]*job(nil), s.jobs...)
	s.mu.Unlock()
	now, ran := s.clock.Now(), 0
	for _, j := range jobs {
		ok, err := s.runDue(ctx, j, now)
		if err != nil {
			s.log.Warn("notify: scheduled job failed", "job", j.Name, "err", err)
		}
		if ok {
			ran++
		}
	}
	return ran
}

// runDue runs j for its latest instant in (last handled, now] if this
// instance gets the lock; it reports whether it ran.
func (s *Scheduler) runDue(ctx context.Context, j *job, now time.Time) (bool, error) {
	last, ok, err := s.st.last(ctx, j.Name)
	if err != nil {
		return false, err
	}
	if from := now.Add(-s.CatchUp); !ok || last.Before(from) {
		last = from
	}
	due := latestInstant(j.sched, last, now)
	if due.IsZero() {
		return false, nil
	}
	got, err := s.st.lock(ctx, j.Name, s.instantKey(j, due), s.instance, s.LockTTL)
	if err != nil {
		return false, err
	}
	if got {
		if err := j.Run(ctx, due); err != nil {
			s.Metrics.observe(j.Name, false)
			err = fmt.Errorf("notify: job %s at %s: %w", j.Name, due.Format(time.RFC3339), err)
			_ = s.st.setLast(ctx, j.Name, due)
			return true, err
		}
		s.Metrics.observe(j.Name, true)
	}
	return got, s.st.setLast(ctx, j.Name, due)
}

// latestInstant is the schedule's latest instant in (after, until], zero if
// none. cron only steps forward, and stepping a minute job through the week
// of catch-up (10,080 steps, for every office's jobs at every start) cost a
// fresh server seconds of CPU: so it first looks back from until in doubling
// spans for one that holds an instant, and steps only through that span.
func latestInstant(sched cron.Schedule, after, until time.Time) time.Time {
	from := after
	for d := time.Minute; ; d *= 2 {
		probe := until.Add(-d)
		if !probe.After(after) {
			break
		}
		if t := sched.Next(probe); !t.IsZero() && !t.After(until) {
			from = probe
			break
		}
	}
	var due time.Time
	for t := sched.Next(from); !t.IsZero() && !t.After(until); t = sched.Next(t) {
		due = t
	}
	return due
}

// instantKey names a run in its lock: the local wall-clock minute, plus the
// UTC offset for jobs finer than an hour (see job.fine).
func (s *Scheduler) instantKey(j *job, t time.Time) string {
	t = t.In(j.Location)
	if j.fine {
		return t.Format("20060102T1504-0700")
	}
	return t.Format("20060102T1504")
}

// gapSchedule adds to a coarse schedule the runs robfig/cron skips: a wall
// time that does not exist on the day of the spring DST change (02:30 on the
// last Sunday of March) runs at the first instant after the gap (03:00
// CEST), as cron(8) does. The repeated autumn hour needs no help here: the
// lock keyed by wall-clock time lets only its first pass run.
type gapSchedule struct {
	spec *cron.SpecSchedule
	loc  *time.Location
}

// Next returns the earlier of the spec's next instant and the next gap run.
func (g gapSchedule) Next(t time.Time) time.Time {
	next := g.spec.Next(t)
	if gap := g.nextGapRun(t, next); !gap.IsZero() && (next.IsZero() || gap.Before(next)) {
		return gap
	}
	return next
}

// nextGapRun is the end of the first gap after t and before limit in which
// the spec, read in the offset before the gap, would have fired; zero if none.
func (g gapSchedule) nextGapRun(t, limit time.Time) time.Time {
	cur := t.In(g.loc)
	for range 4 {
		_, end := cur.ZoneBounds()
		if end.IsZero() || (!limit.IsZero() && !end.Before(limit)) {
			return time.Time{}
		}
		_, before := end.Add(-time.Second).Zone()
		_, after := end.Zone()
		if after > before {
			fixed := *g.spec
			fixed.Location = time.FixedZone("", before)
			gapEnd := end.Add(time.Duration(after-before) * time.Second)
			if x := fixed.Next(end.Add(-time.Nanosecond)); !x.IsZero() && x.Before(gapEnd) {
				return end
			}
		}
		cur = end.In(g.loc)
	}
	return time.Time{}
}
