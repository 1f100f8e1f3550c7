package booking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// releasePolicy delays the return of seats that a citizen gave up
// (cancellation, or the old slot of a move), so that no one can hand a slot
// to a buyer by cancelling at an agreed moment: the seats come back no
// sooner than delay after the cancellation, at a random moment within window
// after that. Closures and unconfirmed bookings that expire free their
// seats at once; no one chose their moment.
type releasePolicy struct {
	delay, window time.Duration
}

// SetReleaseDelay sets the delayed release of cancelled seats (zero delay
// and window: at once, the default of NewBookings).
func (s *Bookings) SetReleaseDelay(delay, window time.Duration) {
	s.release = releasePolicy{delay: delay, window: window}
}

// releaseAt picks the release moment of seats given up at now; the zero
// time means at once.
func (s *Bookings) releaseAt(now time.Time) time.Time {
	p := s.release
	if p.delay <= 0 && p.window <= 0 {
		return time.Time{}
	}
	at := now.Add(p.delay)
	if p.window > 0 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(p.window)))
		if err != nil {
			panic("booking: crypto/rand failed: " + err.Error())
		}
		at = at.Add(time.Duration(n.Int64()))
	}
	return at
}

func releaseMillis(at time.Time) int64 {
	if at.IsZero() {
		return 0
	}
	return max(at.UnixMilli(), 1)
}

// releaseMember starts a releases entry: the date of the seats and a nonce
// (the script appends unit and units). It names no appointment, so the
// queue holds nothing the retention job would have to delete.
func releaseMember(d Date) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return d.String() + "|" + hex.EncodeToString(b[:])
}

// releaseCmd gives queued seats back once their release is due.
//
//	KEYS[1] delayed releases  KEYS[2] cap of the entry's date  KEYS[3] availability version
//	ARGV[1] now ms  ARGV[2] member
//
// Returns 1 if released, 0 if not due or gone. A day whose capacity record
// has expired (it lies in the past) only loses the entry.
var releaseCmd = store.NewScript(takeSeatsLua + `
local due = redis.call("ZSCORE", KEYS[1], ARGV[2])
if not due or tonumber(due) > tonumber(ARGV[1]) then return 0 end
redis.call("ZREM", KEYS[1], ARGV[2])
local unit, units = string.match(ARGV[2], "|(%d+)|(%d+)$")
if unit and redis.call("EXISTS", KEYS[2]) == 1 then add_seats(KEYS[2], KEYS[3], tonumber(unit), tonumber(units), -1) end
return 1
`)

// sweepReleases gives back the seats whose delayed release is due.
func (s *Bookings) sweepReleases(ctx context.Context, o *Office, now time.Time) error {
	members, err := s.st.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: releasesKey(o.ID), Start: "-inf",
		Stop: now.UnixMilli(), ByScore: true, Count: 500}).Result()
	if err != nil {
		return store.Wrap("booking.sweepReleases", err)
	}
	for _, m := range members {
		date, _, _ := strings.Cut(m, "|")
		d, err := ParseDate(date)
		if err != nil {
			d = o.Today(now) // cannot happen: every member starts with its date
		}
		if err := releaseCmd.Run(ctx, s.st.rdb, []string{releasesKey(o.ID), capKey(o.ID, d), capVerKey(o.ID)}, now.UnixMilli(), m).Err(); err != nil {
			return store.Wrap("booking.sweepReleases", err)
		}
	}
	return nil
}

// PendingReleases counts the office's seats still waiting for their delayed release.
func (s *Bookings) PendingReleases(ctx context.Context, officeID string) (int64, error) {
	n, err := s.st.rdb.ZCard(ctx, releasesKey(officeID)).Result()
	return n, store.Wrap("booking.PendingReleases", err)
}
