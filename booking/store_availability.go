package booking

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
)

// availReadCmd reads what an availability answer needs — or, when the
// caller's answer is still current, only says so.
//
//	KEYS[1] closures version  KEYS[2] availability version  KEYS[3] closures
//	KEYS[4…] capacity records of the dates asked for
//	ARGV[1] availability version known ("" none)
//
// Returns {closures version, availability version} when the availability
// version is the known one, else {closures version, availability version,
// closures (field, value …), {record or nil per date}}. The versions are read
// in the same atomic step as the records: an answer is never labelled with a
// version newer than its data.
var availReadCmd = store.NewReadScript(`
local cv = redis.call("GET", KEYS[1]) or "0"
local av = redis.call("GET", KEYS[2]) or "0"
if av == ARGV[1] then return {cv, av} end
local caps = {}
if #KEYS > 3 then caps = redis.call("MGET", unpack(KEYS, 4)) end
return {cv, av, redis.call("HGETALL", KEYS[3]), caps}
`)

// availKeys returns the keys of availReadCmd for the dates.
func availKeys(office string, dates []Date) []string {
	keys := make([]string, 0, 3+len(dates))
	keys = append(keys, closuresVerKey(office), capVerKey(office), closuresKey(office))
	for _, d := range dates {
		keys = append(keys, capKey(office, d))
	}
	return keys
}

// availRead is the outcome of readAvailability.
type availRead struct {
	closuresVer, capVer string
	// unchanged: the availability version is the known one; nothing else
	// was read.
	unchanged bool
	closures  []Closure // active ones
	used      map[Date]Used
}

// readAvailability runs availReadCmd: keys from availKeys(office, dates),
// known the availability version of the caller's answer ("" none).
func (s *redisStore) readAvailability(ctx context.Context, office string, keys []string, dates []Date,
	known string) (availRead, error) {
	res, err := availReadCmd.Run(ctx, s.rdb, keys, known).Slice()
	if err != nil {
		return availRead{}, store.Wrap("booking.readAvailability", err)
	}
	if len(res) < 2 {
		return availRead{}, store.Wrap("booking.readAvailability", errShortReply)
	}
	r := availRead{closuresVer: str(res[0]), capVer: str(res[1])}
	if len(res) == 2 {
		r.unchanged = true
		return r, nil
	}
	if len(res) != 4 {
		return availRead{}, store.Wrap("booking.readAvailability", errShortReply)
	}
	flat, _ := res[2].([]any)
	raw := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		raw[str(flat[i])] = str(flat[i+1])
	}
	c, err := s.decoded(office, r.closuresVer, raw)
	if err != nil {
		return availRead{}, err
	}
	r.closures = c.active
	caps, _ := res[3].([]any)
	r.used = make(map[Date]Used, len(dates))
	for i, v := range caps {
		if v, ok := v.(string); ok && i < len(dates) {
			r.used[dates[i]] = Used(v)
		}
	}
	return r, nil
}

// availVersion reads the office's availability version alone.
func (s *redisStore) availVersion(ctx context.Context, office string) (string, error) {
	v, err := s.rdb.Get(ctx, capVerKey(office)).Result()
	if errors.Is(err, redis.Nil) {
		return "0", nil
	}
	return v, store.Wrap("booking.availVersion", err)
}

var errShortReply = errors.New("unexpected reply of the availability script")

func str(v any) string { s, _ := v.(string); return s }
