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
var forgetCmd = store.NewScript(takeSeatsLua + `
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
	dates, err := s.st.bookedDates(ctx, o.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dates {
		if last.Before(d) {
			break
		}
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
	codes, err := s.st.dayCodes(ctx, o.ID, d)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(codes))
	for _, id := range codes {
		ids = append(ids, id)
	}
	appts, err := s.st.appointments(ctx, o, ids)
	if err != nil {
		return 0, err
	}
	byID := make(map[string]Appointment, len(appts))
	for _, a := range appts {
		byID[a.ID] = a
	}
	n := 0
	for code, id := range codes {
		a, found := byID[id]
		switch {
		case !found:
			err = s.st.forgetIndex(ctx, o, d, code, id)
		case a.End.Before(before):
			err = s.st.forget(ctx, o, a)
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
	return n, s.st.dropEmptyDay(ctx, o.ID, d)
}

// bookedDates are the dates that had bookings (the fields of the day
// versions hash), in order.
func (s *redisStore) bookedDates(ctx context.Context, office string) ([]Date, error) {
	keys, err := s.rdb.HKeys(ctx, dayVerKey(office)).Result()
	if err != nil {
		return nil, store.Wrap("booking.bookedDates", err)
	}
	var dates []Date
	for _, k := range keys {
		if d, err := ParseDate(k); err == nil {
			dates = append(dates, d)
		}
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	return dates, nil
}

// dayCodes reads the day index of d: code -> appointment id.
func (s *redisStore) dayCodes(ctx context.Context, office string, d Date) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, dayKey(office, d)).Result()
	return m, store.Wrap("booking.dayCodes", err)
}

// dropEmptyDayCmd forgets the booking count of a past day whose index is empty.
//
//	KEYS[1] day index  KEYS[2] day versions  ARGV[1] date
var dropEmptyDayCmd = store.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then redis.call("HDEL", KEYS[2], ARGV[1]) end
return 1
`)

func (s *redisStore) dropEmptyDay(ctx context.Context, office string, d Date) error {
	err := dropEmptyDayCmd.Run(ctx, s.rdb, []string{dayKey(office, d), dayVerKey(office)}, d.String()).Err()
	return store.Wrap("booking.dropEmptyDay", err)
}

// forget deletes the appointment a and its index entries (see forgetCmd).
func (s *redisStore) forget(ctx context.Context, o *Office, a Appointment) error {
	field := ""
	if a.Email != "" {
		field = emailField(a.Email)
	}
	err := forgetCmd.Run(ctx, s.rdb, []string{apptKey(o.ID, a.ID), dayKey(o.ID, a.Date), emailsKey(o.ID),
		idemKey(o.ID, orDash(a.IdemKey))}, a.ID, a.Code, field, a.End.Unix()).Err()
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
