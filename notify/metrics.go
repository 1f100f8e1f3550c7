package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what the outbox workers do, per office.
type Metrics struct {
	Sent         *prometheus.CounterVec
	Failed       *prometheus.CounterVec
	Retried      *prometheus.CounterVec
	DeadLettered *prometheus.CounterVec
	Reclaimed    *prometheus.CounterVec
	Dropped      *prometheus.CounterVec
	Backlog      *prometheus.GaugeVec
	// LastProgress is when each office's worker last got on (see
	// Worker.Progress), as a Unix time: alert on time() - it > 300.
	LastProgress *prometheus.GaugeVec
}

// NewMetrics creates the outbox metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rathaus", Subsystem: "notify",
			Name: name, Help: help}, []string{"office"})
	}
	m := &Metrics{
		Sent:         counter("sent_total", "Mails accepted by the mail server (or written to the mail directory)."),
		Failed:       counter("failed_total", "Send attempts that failed."),
		Retried:      counter("retried_total", "Failed mails scheduled for another try."),
		DeadLettered: counter("dead_lettered_total", "Mails moved to the dead-letter stream."),
		Reclaimed:    counter("reclaimed_total", "Outbox entries taken over from a worker that stopped."),
		Dropped:      counter("dropped_total", "Referenced mails not sent because their record was deleted or a later change superseded them."),
		Backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rathaus", Subsystem: "notify",
			Name: "backlog", Help: "Mails waiting in the outbox or for a retry."}, []string{"office"}),
		LastProgress: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "rathaus", Subsystem: "notify",
			Name: "last_progress_timestamp_seconds", Help: "When this process's outbox worker of the office last got on: started, finished a pass (every few seconds when idle) or handled a mail."}, []string{"office"}),
	}
	if reg != nil {
		reg.MustRegister(m.Sent, m.Failed, m.Retried, m.DeadLettered, m.Reclaimed, m.Dropped, m.Backlog, m.LastProgress)
	}
	return m
}
