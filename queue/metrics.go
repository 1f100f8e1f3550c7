package queue

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts what this process did in the queues, per office; sum them
// over the replicas. The waiting tickets and open counters are read from
// Redis when scraped (stateCollector), so every replica reports the same,
// whole picture.
type metrics struct {
	issued *prometheus.CounterVec // office, kind (walk_in, appointment)
	acted  *prometheus.CounterVec // office, action (call_next, finish, no_show, …)
}

func newMetrics() *metrics {
	return &metrics{
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rathaus", Subsystem: "queue", Name: "tickets_total",
			Help: "Tickets issued by this process: kind walk_in (kiosk) or appointment (checked in on time)."}, []string{"office", "kind"}),
		acted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rathaus", Subsystem: "queue", Name: "actions_total",
			Help: "Staff actions this process carried out: call_next (a ticket was called), recall, finish, no_show, park, unpark, transfer."},
			[]string{"office", "action"}),
	}
}

// actionLabel is a staff action as a metric label: no-show → no_show.
func actionLabel(action string) string { return strings.ReplaceAll(action, "-", "_") }

// RegisterMetrics adds the queue's metrics to reg: the counters above and,
// read from Redis on every scrape, rathaus_queue_waiting{office,service} and
// rathaus_queue_open_counters{office}.
func (s *Service) RegisterMetrics(reg prometheus.Registerer) error {
	for _, o := range s.dir.Offices { // every series shows from the start, at 0
		for _, kind := range []string{"walk_in", "appointment"} {
			s.metrics.issued.WithLabelValues(o.ID, kind)
		}
		s.metrics.acted.WithLabelValues(o.ID, "call_next")
		for a := range actionCmds {
			s.metrics.acted.WithLabelValues(o.ID, actionLabel(a))
		}
	}
	for _, c := range []prometheus.Collector{s.metrics.issued, s.metrics.acted, &stateCollector{s: s}} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

var (
	waitingDesc = prometheus.NewDesc("rathaus_queue_waiting", "Tickets waiting now, per office and service (read from Redis when scraped).",
		[]string{"office", "service"}, nil)
	openDesc = prometheus.NewDesc("rathaus_queue_open_counters", "Counters open now, per office (read from Redis when scraped).",
		[]string{"office"}, nil)
)

// stateCollector reads every office's queue when scraped, one pipeline per
// office; an office whose read fails is left out of that scrape.
type stateCollector struct{ s *Service }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- waitingDesc
	ch <- openDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := c.s.clock.Now()
	for _, o := range c.s.dir.Offices {
		st, err := c.s.st.state(ctx, c.s.scope(o, now), 0)
		if err != nil {
			c.s.log.Warn("queue: metrics: reading the queue failed", "office", o.ID, "err", err)
			continue
		}
		for _, sv := range o.Services {
			ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(st.Waiting[sv.ID]), o.ID, sv.ID)
		}
		open := 0
		for _, k := range st.Counters {
			if k.Open {
				open++
			}
		}
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(open), o.ID)
	}
}
