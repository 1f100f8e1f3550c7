package booking

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// defaultReminderLead is how long before an appointment its reminder goes
// out when the office names no reminder_hours.
const defaultReminderLead = 24 * time.Hour

// reminderCatchUp bounds how far back a reminder run looks after every
// server was down: reminders due earlier than that are not sent late.
const reminderCatchUp = 7 * 24 * time.Hour

// reminderBatch bounds the appointments one reminder script looks at.
const reminderBatch = 300

// Reminders are not stored: an appointment's reminder is due its lead (each
// of Office.ReminderLeads: 24 hours unless the office says otherwise) before
// its start, and a job queues the reminders that fell due since its last run
// — found through the day indexes — as notify.Refs, which the outbox worker
// renders from the appointment when it sends them. The office's cursor of
// each lead (reminderCursorKey) says up to which due time reminders are
// queued; the
// script that queues a batch moves it only if nobody else did, so each
// reminder is queued once even with several servers. A booking, move or
// confirmation made after its reminder was due (Changed later than due minus
// a minute) gets none, as the appointment is that close.

// remindCmd queues the reminders due in (from, to] and moves the cursor.
//
//	KEYS[1] cursor  KEYS[2] outbox  KEYS[3..] appointments
//	ARGV[1] expected cursor ("" none)  ARGV[2] from ms  ARGV[3] to ms (the new cursor)
//	ARGV[4] lead ms  ARGV[5] now ms  ARGV[6] Ref prefix ("r1|reminder|")
//	ARGV[7] the Refs' extra (reminderExtra)  ARGV[8..] the appointments' ids
//
// Returns the number of reminders queued, or -1 when the cursor moved.
var remindCmd = store.NewScript(`
if (redis.call("GET", KEYS[1]) or "") ~= ARGV[1] then return -1 end
local from, to, lead, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n = 0
for i = 3, #KEYS do
  local a = redis.call("HMGET", KEYS[i], "s", "t", "q", "g", "r", "a")
  if a[1] == "confirmed" and a[2] and a[6] and a[6] ~= "" then -- no address: nobody to remind
    local start = tonumber(a[2]) * 1000
    local due = start - lead
    if due > from and due <= to and start > now and tonumber(a[4] or a[5] or "0") * 1000 <= due - 60000 then
      redis.call("XADD", KEYS[2], "*", "msg", ARGV[6] .. ARGV[5 + i] .. "|" .. a[3] .. "|" .. ARGV[7])
      n = n + 1
    end
  end
end
redis.call("SET", KEYS[1], ARGV[3])
return n
`)

// SendDueReminders queues the office's reminders (one per lead of
// Office.ReminderLeads) that fell due up to upTo and were not queued yet. It
// returns how many it queued; replicas may run it at once (see remindCmd).
func (s *Bookings) SendDueReminders(ctx context.Context, officeID string, upTo time.Time) (int, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return 0, ErrOfficeNotFound
	}
	total := 0
	for _, lead := range o.ReminderLeads {
		n, err := s.sendDueReminders(ctx, o, lead, upTo)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// reminderExtra is the Ref extra of a reminder lead before the appointment:
// "" for the 24-hour one (as before there were others), else the hours
// ("2h"), which also keeps the reminders' Message-IDs apart.
func reminderExtra(lead time.Duration) string {
	if lead == defaultReminderLead {
		return ""
	}
	return strconv.Itoa(int(lead/time.Hour)) + "h"
}

// sendDueReminders is SendDueReminders for one lead, with its own cursor.
func (s *Bookings) sendDueReminders(ctx context.Context, o *Office, lead time.Duration, upTo time.Time) (int, error) {
	cur, err := s.st.reminderCursor(ctx, o.ID, lead)
	if err != nil {
		return 0, err
	}
	from := upTo.Add(-time.Minute) // the first run ever
	if ms, err := strconv.ParseInt(cur, 10, 64); err == nil {
		from = time.UnixMilli(ms)
	}
	from = later(from, upTo.Add(-reminderCatchUp))
	if !upTo.After(from) {
		return 0, nil
	}
	// The appointments starting in (from+lead, upTo+lead], by due time.
	first, last := DateOf(from.Add(lead).In(o.Location)), DateOf(upTo.Add(lead).In(o.Location))
	var dates []Date
	for d := first; !last.Before(d); d = d.AddDays(1) {
		dates = append(dates, d)
	}
	all, err := s.st.appointmentsOn(ctx, o, dates)
	if err != nil {
		return 0, err
	}
	var due []Appointment
	for _, a := range all {
		if a.Status == StatusConfirmed && a.Email != "" && a.Start.Add(-lead).After(from) && !a.Start.Add(-lead).After(upTo) {
			due = append(due, a)
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].Start.Before(due[j].Start) })
	now, total, expect := s.clock.Now(), 0, cur
	batch := s.st.reminderBatch
	if batch <= 0 {
		batch = reminderBatch
	}
	for {
		// A batch ends at a start, with every appointment of that start in it.
		end, n := upTo, len(due)
		if n > batch {
			n = batch
			for n < len(due) && due[n].Start.Equal(due[n-1].Start) {
				n++
			}
			end = due[n-1].Start.Add(-lead)
		}
		q, err := s.st.queueReminders(ctx, o.ID, lead, expect, from, end, now, due[:n])
		if err != nil {
			return total, err
		}
		if q < 0 {
			return total, nil // another server ran this window
		}
		total += q
		if !end.Before(upTo) {
			return total, nil
		}
		due, from, expect = due[n:], end, strconv.FormatInt(end.UnixMilli(), 10)
	}
}

// reminderCursor is the office's reminder cursor as stored ("" none).
func (s *redisStore) reminderCursor(ctx context.Context, office string, lead time.Duration) (string, error) {
	cur, err := s.rdb.Get(ctx, reminderCursorKey(office, lead)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return cur, store.Wrap("booking.reminderCursor", err)
}

// queueReminders runs remindCmd for appts over the due window (from, to] if
// the cursor is still expect; -1 when it moved.
func (s *redisStore) queueReminders(ctx context.Context, office string, lead time.Duration, expect string, from, to, now time.Time, appts []Appointment) (int, error) {
	keys := []string{reminderCursorKey(office, lead), notify.OutboxKey(office)}
	args := []any{expect, from.UnixMilli(), to.UnixMilli(), lead.Milliseconds(), now.UnixMilli(),
		notify.RefPrefix(notify.KindReminder), reminderExtra(lead)}
	for _, a := range appts {
		keys = append(keys, apptKey(office, a.ID))
		args = append(args, a.ID)
	}
	q, err := remindCmd.Run(ctx, s.rdb, keys, args...).Int()
	return q, store.Wrap("booking.queueReminders", err)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ReminderJob queues the office's due reminders every minute.
func (s *Bookings) ReminderJob(officeID string, loc *time.Location) notify.Job {
	return notify.Job{Name: "reminders:" + officeID, Spec: "* * * * *", Location: loc,
		Run: func(ctx context.Context, now time.Time) error {
			_, err := s.SendDueReminders(ctx, officeID, now)
			return err
		}}
}

// Resolve builds the mail of an outbox reference to an appointment (see
// notify.Ref) from the appointment as it is now; ok is false when the mail
// has become pointless: the appointment was deleted, or the change the mail
// announces was undone by a later one (a confirmation or reminder of an
// appointment cancelled since, a cancellation of one rebooked since).
func (s *Bookings) Resolve(ctx context.Context, office string, r notify.Ref) (notify.Message, bool, error) {
	o, ok := s.dir.Office(office)
	if !ok {
		return notify.Message{}, false, nil
	}
	a, found, err := s.st.getAppointment(ctx, o, r.Subject)
	if err != nil || !found {
		return notify.Message{}, false, err
	}
	m, ok := s.resolved(o, a, r, s.clock.Now())
	return m, ok, nil
}

// ResolveAll is Resolve for the references of one batch of the outbox
// worker, with their appointments read in one round trip
// (notify.BatchResolver).
func (s *Bookings) ResolveAll(ctx context.Context, office string, refs []notify.Ref) ([]notify.Resolved, error) {
	out := make([]notify.Resolved, len(refs))
	o, ok := s.dir.Office(office)
	if !ok {
		return out, nil
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Subject
	}
	appts, found, err := s.st.getAppointments(ctx, o, ids)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for i, r := range refs {
		if found[i] {
			out[i].Msg, out[i].OK = s.resolved(o, appts[i], r, now)
		}
	}
	return out, nil
}

// resolved builds r's mail from its appointment a as it is at now; ok is
// false when the mail is no longer needed.
func (s *Bookings) resolved(o *Office, a Appointment, r notify.Ref, now time.Time) (notify.Message, bool) {
	if a.Email == "" {
		return notify.Message{}, false // booked by staff for a caller without an address: nobody to mail
	}
	var ok bool
	switch r.Kind {
	case notify.KindConfirmation:
		ok = a.Status == StatusConfirmed
	case notify.KindReminder:
		ok = a.Status == StatusConfirmed && a.Start.After(now)
	case notify.KindVerification:
		ok = a.Status == StatusUnverified
	case notify.KindReschedule:
		ok = a.Active()
	case notify.KindCancellation:
		ok = !a.Active()
	}
	if !ok {
		return notify.Message{}, false
	}
	m := s.message(o, a, r.Kind, now)
	if r.Kind == notify.KindReschedule {
		if prev := unixTime(r.Extra, o.Location); !prev.IsZero() {
			m.Appointment.PreviousStart = &prev
		}
	}
	return m, true
}
