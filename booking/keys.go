package booking

// Every key of an office carries the office id as hash tag ("{geesthacht}"),
// so each booking operation's keys live in one cluster slot and every state
// change is one atomic script, also on Redis Cluster.

import (
	"strconv"
	"time"
)

func officePrefix(office string) string { return "rathaus:{" + office + "}:" }

// capKey is the compact capacity record of a day: byte i = seats taken in unit i.
func capKey(office string, d Date) string { return officePrefix(office) + "cap:" + d.String() }

// apptKey is an appointment hash.
func apptKey(office, id string) string { return officePrefix(office) + "appt:" + id }

// dayKey indexes a day's appointments: a hash from appointment code to id.
// It is how a code is found (check-in) and how a day is listed; a code is
// unique within its day. Up to 512 appointments a day Redis keeps it as one
// compact listpack (about 40 bytes per appointment).
func dayKey(office string, d Date) string { return officePrefix(office) + "day:" + d.String() }

// emailsKey limits active appointments per e-mail address: a hash from a
// hash of the address (see emailField) to the end times (Unix seconds, comma
// separated) of its active appointments.
func emailsKey(office string) string { return officePrefix(office) + "emails" }

// remindersKey holds the due time (Unix ms) up to which the office's
// reminders have been queued (see SendDueReminders).
func remindersKey(office string) string { return officePrefix(office) + "reminders:upto" }

// reminderCursorKey is remindersKey for the reminders lead before the
// appointments: the 24-hour reminder keeps the key it always had, others get
// their own ("reminders:upto:2h").
func reminderCursorKey(office string, lead time.Duration) string {
	if lead == defaultReminderLead {
		return remindersKey(office)
	}
	return remindersKey(office) + ":" + strconv.Itoa(int(lead/time.Hour)) + "h"
}

// holdKey is a hold hash.
func holdKey(office, id string) string { return officePrefix(office) + "hold:" + id }

// holdsKey indexes holds by expiry (ms).
func holdsKey(office string) string { return officePrefix(office) + "holds" }

// unverifiedKey indexes unverified appointments by confirmation deadline (ms).
func unverifiedKey(office string) string { return officePrefix(office) + "unverified" }

// releasesKey queues the seats of cancelled and moved appointments until their
// delayed release: member "<date>|<nonce>|<unit>|<units>", score release (ms).
func releasesKey(office string) string { return officePrefix(office) + "releases" }

// idemKey is the record of an Idempotency-Key (stored as a hash of the key).
func idemKey(office, keyHash string) string { return officePrefix(office) + "idem:" + keyHash }

// closuresKey maps closure ids to closure JSON.
func closuresKey(office string) string { return officePrefix(office) + "closures" }

// closuresVerKey counts closure changes; booking scripts check it so that a
// booking never slips into a closure published at the same moment.
func closuresVerKey(office string) string { return officePrefix(office) + "closures:ver" }

// capVerKey counts the changes of the office's availability: every script
// that takes or gives back seats raises it (add_seats), and so does every
// change of the closures. An availability answer computed at one count is
// current while the count stays the same (see answerCache).
func capVerKey(office string) string { return officePrefix(office) + "capver" }

// dayVerKey counts, per date, the bookings and moves into it; a closure's
// script checks the counts of its dates so that no booking slips in between
// reading the affected appointments and publishing.
func dayVerKey(office string) string { return officePrefix(office) + "dayver" }
