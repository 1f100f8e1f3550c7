package booking

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/notify"
)

// BenchBookScript runs the booking script (bookCmd, sent as EVALSHA) once for
// synthetic appointment i of office "bench-raw": the same keys and arguments a
// real booking sends, without the checks and the read before it. `rathaus
// bench` uses it as the raw-Redis baseline of a booking; it is not for
// production use. Appointment i takes one seat of its own 15-minute span.
func BenchBookScript(ctx context.Context, rdb redis.UniversalClient, i int) error {
	day := Date{2030, time.January, 1}.AddDays(i / 96)
	start := day.Midnight(time.UTC).Add(time.Duration(i%96) * 15 * time.Minute)
	a := Appointment{ID: fmt.Sprintf("bench%d", i), Code: fmt.Sprintf("B%09d", i), Office: "bench-raw", Service: "s",
		Status: StatusConfirmed, Start: start, End: start.Add(15 * time.Minute), Date: day, Unit: Unit(i % 96 * 3),
		Units: 3, Name: "Bench Mark", Email: fmt.Sprintf("b%d@example.org", i), Locale: "de", Token: fmt.Sprintf("t%d", i)}
	args := bookArgs{appt: a, closuresVer: "0", seats: "200,200,200", emailLimit: 100,
		outbox:    notify.Ref{Kind: notify.KindConfirmation, Subject: a.ID},
		capExpiry: start.Add(48 * time.Hour)}
	res, err := (&redisStore{rdb: rdb}).book(ctx, start.Add(-time.Hour), args)
	if err == nil && res != "ok" {
		err = fmt.Errorf("booking.BenchBookScript: %s", res)
	}
	return err
}
