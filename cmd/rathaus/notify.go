package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/config"
	"github.com/rathaus/rathaus/notify"
)

// notifyJobs lets other wiring files add scheduled jobs (e.g. booking's
// retention job) without touching this file: append in an init func.
var notifyJobs []func(a *app) []notify.Job

// startNotify starts, for every office, an outbox worker and the reminder
// job, and the scheduler; all of them stop when ctx ends. Mails go to
// RATHAUS_SMTP_URL or, when it is unset, as .eml files into RATHAUS_MAIL_DIR.
func (a *app) startNotify(ctx context.Context, wg *sync.WaitGroup) {
	mailer, err := a.newMailer()
	if err != nil {
		a.log.Error("notify: mails cannot be sent", "err", err)
		a.outbox.Store(&outboxState{err: err})
		return
	}
	consumer := instanceName()
	metrics := notify.NewMetrics(a.reg)
	sched := notify.NewScheduler(a.store.Client, a.clock, defaultLocation(), consumer, a.log)
	sched.Metrics = notify.NewSchedulerMetrics(a.reg)
	var workers []*notify.Worker
	for _, o := range a.offices.Offices {
		w := notify.NewWorker(a.store.Client, notify.WorkerConfig{Office: o.ID, Consumer: consumer, Sender: mailer,
			Resolver: a.bookings, Clock: a.clock, Metrics: metrics, Log: a.log, Pacer: a.pacer})
		workers = append(workers, w)
		if err := sched.Register(a.bookings.ReminderJob(o.ID, o.Location)); err != nil {
			a.log.Error("notify: reminder job", "office", o.ID, "err", err)
		}
	}
	for _, jobs := range notifyJobs {
		for _, j := range jobs(a) {
			if err := sched.Register(j); err != nil {
				a.log.Error("notify: job", "job", j.Name, "err", err)
			}
		}
	}
	for _, w := range workers {
		w.Start(wg)
	}
	a.outbox.Store(&outboxState{workers: workers, offices: officeIDs(a.offices.Offices)})
	sched.Start(wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sched.Shutdown()
		for _, w := range workers {
			w.Shutdown()
		}
		_ = mailer.Close() // QUIT on the kept SMTP connections (a send still running may use one more)
	}()
}

// defaultOutboxStall is how long an outbox worker may go without progress
// before /readyz reports it stuck: far longer than a send (SMTP steps time out
// after 30 s) or an idle read (2 s), and as long as other workers wait before
// they take its mails over.
const defaultOutboxStall = 5 * time.Minute

// outboxState is this process's mail sending as /readyz sees it: the workers
// (one per office, offices[i] is workers[i]'s), or why there are none.
type outboxState struct {
	workers []*notify.Worker
	offices []string
	err     error
}

// outboxHealth says whether this process's mail sending gets on: "" when
// the process sends no mail (role web), else "ok" or what is wrong; ok is
// false when it is wrong.
func (a *app) outboxHealth() (status string, ok bool) {
	st := a.outbox.Load()
	switch {
	case a.cfg.Role == config.RoleWeb:
		return "", true
	case st == nil:
		return "starting", true
	case st.err != nil:
		return "no mailer: " + st.err.Error(), false
	}
	var stuck []string
	for i, w := range st.workers {
		if age := time.Since(w.Progress()); age > a.outboxStall {
			stuck = append(stuck, fmt.Sprintf("%s (%s)", st.offices[i], age.Round(time.Second)))
		}
	}
	if len(stuck) > 0 {
		return "stuck: no progress in " + strings.Join(stuck, ", "), false
	}
	return "ok", true
}

func officeIDs(os []*booking.Office) []string {
	ids := make([]string, len(os))
	for i, o := range os {
		ids[i] = o.ID
	}
	return ids
}

func (a *app) newMailer() (*notify.Mailer, error) {
	var tr notify.Transport = notify.DirTransport{Dir: a.cfg.MailDir}
	if a.cfg.SMTPURL != "" {
		t, err := notify.NewSMTPTransport(a.cfg.SMTPURL)
		if err != nil {
			return nil, err
		}
		tr = t
	} else {
		a.log.Warn("notify: RATHAUS_SMTP_URL is not set; mails are written to RATHAUS_MAIL_DIR", "dir", a.cfg.MailDir)
	}
	return notify.NewMailer(a.cfg.MailFrom, tr)
}

// instanceName names this process among the replicas (consumer group, locks).
func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func defaultLocation() *time.Location {
	loc, err := time.LoadLocation(notify.DefaultTimezone)
	if err != nil {
		return time.UTC
	}
	return loc
}
