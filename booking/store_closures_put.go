package booking

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/rathaus/rathaus/internal/events"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// putClosureCmd publishes, changes or withdraws a closure and cancels the
// appointments inside it — one script, so a booking can never slip in: it
// checks the closure version (bookings check it too) and the booking counts
// of the closure's days (bookings raise them).
//
//	KEYS[1] closures  KEYS[2] closures version  KEYS[3] day versions
//	KEYS[4] outbox  KEYS[5] events  KEYS[6] unverified index  KEYS[7] e-mail limits
//	KEYS[8] availability version (raised here as closures change availability)
//	then per appointment i (from 0): KEYS[9+2i] appointment, KEYS[10+2i] cap of its day
//	ARGV[1] now ms  ARGV[2] expected closures version  ARGV[3] closure id
//	ARGV[4] closure JSON  ARGV[5] expected day versions "date=n,date=n"
//	ARGV[6] event JSON ("" none)  ARGV[7] event stream max length
//	ARGV[8] number of appointments
//	then per appointment i: ARGV[9+6i] id, ARGV[10+6i] expected seq,
//	ARGV[11+6i] release seats (1/0), ARGV[12+6i] outbox JSON ("" none),
//	ARGV[13+6i] e-mail field, ARGV[14+6i] cancel reason
//
// Returns "ok", or "changed" when anything moved since the caller read it.
var putClosureCmd = store.NewScript(takeSeatsLua + `
if (redis.call("GET", KEYS[2]) or "0") ~= ARGV[2] then return "changed" end
for pair in string.gmatch(ARGV[5], "[^,]+") do
  local d, n = string.match(pair, "^(.+)=(%d+)$")
  if (redis.call("HGET", KEYS[3], d) or "0") ~= n then return "changed" end
end
local count = tonumber(ARGV[8])
for i = 0, count - 1 do
  local a = redis.call("HMGET", KEYS[9 + 2 * i], "s", "q")
  if (a[1] ~= "confirmed" and a[1] ~= "unverified") or a[2] ~= ARGV[10 + 6 * i] then return "changed" end
end
for i = 0, count - 1 do
  local ak, ck = KEYS[9 + 2 * i], KEYS[10 + 2 * i]
  local id, seq = ARGV[9 + 6 * i], tonumber(ARGV[10 + 6 * i])
  local u = redis.call("HMGET", ak, "u", "n", "e")
  if ARGV[11 + 6 * i] == "1" then
    add_seats(ck, KEYS[8], tonumber(u[1]), tonumber(u[2]), -1)
  end
  redis.call("HSET", ak, "s", "cancelled", "q", seq + 1, "x", ARGV[14 + 6 * i], "xa", ARGV[1])
  ends_replace(KEYS[7], ARGV[13 + 6 * i], u[3], nil)
  redis.call("ZREM", KEYS[6], id)
  if ARGV[12 + 6 * i] ~= "" then redis.call("XADD", KEYS[4], "*", "msg", ARGV[12 + 6 * i]) end
end
redis.call("HSET", KEYS[1], ARGV[3], ARGV[4])
redis.call("INCR", KEYS[2])
redis.call("INCR", KEYS[8])
if ARGV[6] ~= "" then
  redis.call("XADD", KEYS[5], "MAXLEN", "~", ARGV[7], "*", "type", "closure", "data", ARGV[6])
end
return "ok"
`)

// closureCancel is one appointment a closure cancels.
type closureCancel struct {
	appt    Appointment
	release bool
	msg     *notify.Message
}

func (s *redisStore) putClosure(ctx context.Context, now time.Time, office string, c Closure, closuresVer string,
	dayVer map[Date]string, dates []Date, cancels []closureCancel, event any) (string, error) {
	rec, _ := json.Marshal(c.record())
	var ev []byte
	if event != nil {
		ev, _ = json.Marshal(event)
	}
	var pairs []string
	for _, d := range dates {
		v := dayVer[d]
		if v == "" {
			v = "0"
		}
		pairs = append(pairs, d.String()+"="+v)
	}
	sort.Strings(pairs)
	keys := []string{closuresKey(office), closuresVerKey(office), dayVerKey(office), notify.OutboxKey(office),
		events.Key(office), unverifiedKey(office), emailsKey(office), capVerKey(office)}
	args := []any{now.UnixMilli(), closuresVer, c.ID, string(rec), strings.Join(pairs, ","), string(ev), events.MaxLen, len(cancels)}
	for _, x := range cancels {
		a := x.appt
		keys = append(keys, apptKey(office, a.ID), capKey(office, a.Date))
		var m []byte
		if x.msg != nil {
			m, _ = json.Marshal(x.msg)
		}
		rel := "0"
		if x.release {
			rel = "1"
		}
		args = append(args, a.ID, a.Seq, rel, string(m), emailField(a.Email), "closure:"+c.ID)
	}
	res, err := putClosureCmd.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return "", store.Wrap("booking.putClosure", err)
	}
	return res, nil
}
