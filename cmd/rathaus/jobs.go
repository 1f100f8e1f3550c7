package main

import (
	"context"
	"errors"
	"time"

	"github.com/rathaus/rathaus/notify"
)

func init() { notifyJobs = append(notifyJobs, sweepJobs, retentionJobs) }

// sweepJobs give back, every minute, the seats of expired holds, of
// unverified appointments not confirmed in time and of cancellations whose
// (randomised) release is due. Each release is a script that checks again, and
// the scheduler's lock runs each minute once across replicas.
func sweepJobs(a *app) []notify.Job {
	var jobs []notify.Job
	for _, o := range a.offices.Offices {
		jobs = append(jobs, notify.Job{Name: "sweep:" + o.ID, Spec: "* * * * *", Location: o.Location,
			Run: func(ctx context.Context, now time.Time) error { return a.bookings.SweepOffice(ctx, o.ID, now) }})
	}
	return jobs
}

// retentionJobs delete, every night at 03:15 office time (outside the DST
// hour), the personal data of appointments that ended more than the office's
// retention period ago, and the dead-lettered mails of that age.
func retentionJobs(a *app) []notify.Job {
	var jobs []notify.Job
	for _, o := range a.offices.Offices {
		jobs = append(jobs, notify.Job{Name: "retention:" + o.ID, Spec: "15 3 * * *", Location: o.Location,
			Run: func(ctx context.Context, now time.Time) error {
				n, err := a.bookings.Forget(ctx, o.ID, now)
				if n > 0 {
					a.log.Info("retention: personal data deleted", "office", o.ID, "appointments", n)
				}
				before := now.Add(-time.Duration(o.RetentionDays) * 24 * time.Hour)
				return errors.Join(err, notify.TrimDeadLetters(ctx, a.store.Client, o.ID, before))
			}})
	}
	return jobs
}
