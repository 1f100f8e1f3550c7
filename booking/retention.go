package booking

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// forgetCmd deletes an appointment that ended before the retention period:
// its record with the name, address and phone, and every index entry.
//
//	KEYS[1] appointment  KEYS[2] its day index  KEYS[3] e-mail limits
//	KEYS[4] its idempotency record (the stored booking answer)
//	ARGV[1] id  ARGV[2] code  ARGV[3] e-mail field  ARGV[4] end (Unix s)
//
// Returns 1.
var forgetCmd = redis.NewScript(takeSeatsLua + `
redis.call("DEL", KEYS[1])
if redis.call("HGET", KEYS[2], ARGV[2]) == ARGV[1] then redis.call("HDEL", KEYS[2], ARGV[2]) end
if ARGV[3] ~= "" then ends_replace(KEYS[3], ARGV[3], ARGV[4], nil) end
redis.call("DEL", KEYS[4])
return 1
`)

// Forget deletes the personal data of the office's appointments that ended
// more than its retention period before now. It returns how many it deleted.
// It walks the days that had bookings (the day versions hash lists them) up
// to the last day that can hold such an appointment.
func (s *Bookings) Forget(ctx context.Context, officeID string, now time.Time) (int, error) {
	o, ok := s.dir.Office(officeID)
	if !ok {
		return 0, ErrOfficeNotFound
	}
	before := now.Add(-time.Duration(o.RetentionDays) * 24 * time.Hour)
	last := DateOf(before.In(o.Location))
	keys, err := s.st.rdb.HKeys(ctx, dayVerKey(o.ID)).Result()
	if err != nil {
		return 0, store.Wrap("booking.Forget", err)
	}
	var dates []Date
	for _, k := range keys {
		if d, err := ParseDate(k); err == nil && !last.Before(d) {
			dates = append(dates, d)
		}
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	n := 0
	for _, d := range dates {
		m, err := s.forgetDay(ctx, o, d, before)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// forgetDay forgets the appointments of d that ended before before; when
// the day is empty afterwards and wholly past, its booking count goes too.
func (s *Bookings) forgetDay(ctx context.Context, o *Office, d Date, before time.Time) (int, error) {
	codes, err := s.st.rdb.HGetAll(ctx, dayKey(o.ID, d)).Result()
	if err != nil {
		return 0, store.Wrap("booking.Forget", err)
	}
	n := 0
	for code, id := range codes {
		a, found, err := s.st.getAppointment(ctx, o, id)
		switch {
		case err != nil:
			return n, err
		case !found:
			err = s.st.forgetIndex(ctx, o, d, code, id)
		case a.End.Before(before):
			err = s.st.forget(ctx, o, id)
		default:
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	if d.AddDays(1).Midnight(o.Location).After(before) {
		return n, nil
	}
	left, err := s.st.rdb.Exists(ctx, dayKey(o.ID, d)).Result()
	if err == nil && left == 0 {
		err = s.st.rdb.HDel(ctx, dayVerKey(o.ID), d.String()).Err()
	}
	return n, store.Wrap("booking.Forget", err)
}

// forget deletes the appointment id and its index entries (see forgetCmd).
// An index entry whose record is gone already is cleaned up too.
func (s *redisStore) forget(ctx context.Context, o *Office, id string) error {
	a, found, err := s.getAppointment(ctx, o, id)
	if err != nil {
		return err
	}
	if !found {
		return nil
	}
	field := ""
	if a.Email != "" {
		field = emailField(a.Email)
	}
	err = forgetCmd.Run(ctx, s.rdb, []string{apptKey(o.ID, id), dayKey(o.ID, a.Date), emailsKey(o.ID),
		idemKey(o.ID, orDash(a.IdemKey))}, id, a.Code, field, a.End.Unix()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Wrap("booking.forget", err)
	}
	return nil
}

// forgetIndex removes the day index entry code -> id of d whose record is
// gone already.
func (s *redisStore) forgetIndex(ctx context.Context, o *Office, d Date, code, id string) error {
	err := forgetCmd.Run(ctx, s.rdb, []string{apptKey(o.ID, id), dayKey(o.ID, d), emailsKey(o.ID), idemKey(o.ID, "-")},
		id, code, "", "0").Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Wrap("booking.forget", err)
	}
	return nil
}
