package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/events"
	"github.com/rathaus/rathaus/internal/store"
)

// redisStore runs the queue's scripts and reads. Every script gets the same
// day scope of keys (see dayScope) so that it can find any ticket's queue
// without building a key itself.
type redisStore struct {
	rdb      redis.UniversalClient
	alpha    float64
	ctrCache counterCache
}

// scope is one office day with the office's services, in configuration order.
type scope struct {
	office   string
	day      string
	services []string
}

// keys returns KEYS for a scope:
//
//	KEYS[1] -> day meta hash        KEYS[2] -> day tickets hash
//	KEYS[3] -> day tokens hash      KEYS[4] -> counters hash
//	KEYS[5] -> latest calls list    KEYS[6] -> service times hash
//	KEYS[7] -> office event stream
//	KEYS[7+i]   -> appointment queue of services[i]
//	KEYS[7+n+i] -> walk-in queue of services[i]
func (s scope) keys() []string {
	k := []string{metaKey(s.office, s.day), ticketsKey(s.office, s.day), tokensKey(s.office, s.day),
		countersKey(s.office), callsKey(s.office), serviceTimesKey(s.office), events.Key(s.office)}
	for _, svc := range s.services {
		k = append(k, apptQueueKey(s.office, s.day, svc))
	}
	for _, svc := range s.services {
		k = append(k, walkQueueKey(s.office, s.day, svc))
	}
	return k
}

// args returns the common ARGV head:
//
//	ARGV[1] -> now (Unix ms)   ARGV[2] -> event stream MAXLEN (~)
//	ARGV[3] -> services (JSON array, same order as the queue KEYS)
//	ARGV[4] -> moving-average weight of a new service time
func (s *redisStore) args(sc scope, now time.Time, extra ...any) []any {
	svcs, _ := json.Marshal(sc.services)
	return append([]any{now.UnixMilli(), events.MaxLen, string(svcs), s.alpha}, extra...)
}

// luaPrelude is shared by every state-changing script: it names the KEYS and
// gives helpers to load and save tickets, move them between queues, clear a
// counter and append an event, all through KEYS.
const luaPrelude = `
local now = tonumber(ARGV[1])
local maxlen = ARGV[2]
local services = cjson.decode(ARGV[3])
local alpha = tonumber(ARGV[4])
local K_META, K_TICKETS, K_TOKENS, K_COUNTERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_CALLS, K_TIMES, K_EVENTS = KEYS[5], KEYS[6], KEYS[7]
local nsvc = #services

local function svcIndex(s)
  for i, v in ipairs(services) do if v == s then return i end end
  return nil
end
local function apptKey(s) local i = svcIndex(s); if i then return KEYS[7 + i] end return nil end
local function walkKey(s) local i = svcIndex(s); if i then return KEYS[7 + nsvc + i] end return nil end

local function load(num)
  local raw = redis.call('HGET', K_TICKETS, num)
  if not raw then return nil end
  return cjson.decode(raw)
end
-- save stores t and returns its JSON, which a script returns as it is
-- (encoding a ticket is the larger part of a script's work).
local function save(t)
  local raw = cjson.encode(t)
  redis.call('HSET', K_TICKETS, t.number, raw)
  return raw
end

-- enqueue puts t into its service's queue; the queue expires with the day's meta.
local function enqueue(t)
  local key, score = walkKey(t.service), t.arrival
  if t.kind == 'appointment' then key, score = apptKey(t.service), t.due end
  redis.call('ZADD', key, score, t.number)
  local ttl = redis.call('TTL', K_META)
  if ttl > 0 then redis.call('EXPIRE', key, ttl) end
end
local function dequeue(t)
  local a, w = apptKey(t.service), walkKey(t.service)
  if a then redis.call('ZREM', a, t.number) end
  if w then redis.call('ZREM', w, t.number) end
end

local function note(t, action, by, counter)
  t.history[#t.history + 1] = {action = action, by = by, at = now, counter = counter}
end

local function event(typ, data)
  redis.call('XADD', K_EVENTS, 'MAXLEN', '~', maxlen, '*', 'type', typ, 'data', cjson.encode(data))
end

local function loadCounter(id)
  local raw = redis.call('HGET', K_COUNTERS, id)
  if not raw then return nil end
  return cjson.decode(raw)
end
local function saveCounter(c) redis.call('HSET', K_COUNTERS, c.id, cjson.encode(c)) end

-- releaseCounter frees the counter that holds ticket t.
local function releaseCounter(t)
  if not t.counter then return end
  local c = loadCounter(t.counter)
  if c and c.current == t.number then
    c.current = nil
    saveCounter(c)
  end
end

-- observe folds the ticket's service time into the service's moving average.
local function observe(t)
  if not t.last_call then return end
  local x = (now - t.last_call) / 1000
  if x < 0 then x = 0 end
  if x > 3 * 3600 then return end
  local avg = tonumber(redis.call('HGET', K_TIMES, t.service) or '0')
  if avg <= 0 then avg = x else avg = alpha * x + (1 - alpha) * avg end
  redis.call('HSET', K_TIMES, t.service, tostring(avg))
end

local function finishTicket(t, by)
  observe(t)
  t.status = 'finished'
  t.finished = now
  note(t, 'finish', by, t.counter)
  local raw = save(t)
  event('finished', {number = t.number, service = t.service})
  return raw
end
`

func newScript(body string) *redis.Script { return store.NewScript(luaPrelude+body, 1) }

// decodeTicket decodes a ticket JSON value returned by a script.
func decodeTicket(v any) (*Ticket, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("queue: script returned %T, want ticket JSON", v)
	}
	var t Ticket
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("queue: decode ticket: %w", err)
	}
	return &t, nil
}

// scriptResult splits a script's reply {code, ticket JSON?}.
func scriptResult(op string, v any, err error) (int64, *Ticket, error) {
	if err != nil {
		return 0, nil, store.Wrap(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return 0, nil, fmt.Errorf("%s: unexpected reply %v", op, v)
	}
	code, _ := arr[0].(int64)
	if len(arr) < 2 {
		return code, nil, nil
	}
	t, err := decodeTicket(arr[1])
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", op, err)
	}
	return code, t, nil
}

// ticket reads one ticket of a day.
func (s *redisStore) ticket(ctx context.Context, office, day, number string) (*Ticket, error) {
	raw, err := s.rdb.HGet(ctx, ticketsKey(office, day), number).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrTicketNotFound
	}
	if err != nil {
		return nil, store.Wrap("queue.ticket", err)
	}
	return decodeTicket(raw)
}

// ticketByToken resolves a token's secret hash to the ticket of that day.
func (s *redisStore) ticketByToken(ctx context.Context, office, day, secretHash string) (*Ticket, error) {
	num, err := s.rdb.HGet(ctx, tokensKey(office, day), secretHash).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrTokenNotFound
	}
	if err != nil {
		return nil, store.Wrap("queue.ticketByToken", err)
	}
	return s.ticket(ctx, office, day, num)
}

// tickets reads all tickets of a day.
func (s *redisStore) tickets(ctx context.Context, office, day string) ([]Ticket, error) {
	all, err := s.rdb.HGetAll(ctx, ticketsKey(office, day)).Result()
	if err != nil {
		return nil, store.Wrap("queue.tickets", err)
	}
	out := make([]Ticket, 0, len(all))
	for _, raw := range all {
		var t Ticket
		if err := json.Unmarshal([]byte(raw), &t); err != nil {
			return nil, fmt.Errorf("queue.tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// newRedisStore returns the queue's store on st's client.
func newRedisStore(st *store.Store, alpha float64) *redisStore {
	return &redisStore{rdb: st.Client, alpha: alpha}
}
