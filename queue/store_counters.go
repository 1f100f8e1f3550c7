package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/rathaus/rathaus/internal/store"
)

// openCounterCmd opens a counter (or changes its services while open).
//
// KEYS: the day scope. ARGV: the common head, then
//
//	ARGV[5] -> counter id   ARGV[6] -> services it serves (JSON array, not empty)
//	ARGV[7] -> who
//
// Returns {1}.
var openCounterCmd = newScript(`
local c = loadCounter(ARGV[5]) or {id = ARGV[5]}
c.open = true
c.services = cjson.decode(ARGV[6])
c.by = ARGV[7]
c.since = now
saveCounter(c)
event('counter', {counter = c.id, open = true})
return {1}
`)

// closeCounterCmd closes a counter; a ticket it has called stays called until
// staff finish it (or mark it otherwise).
//
// KEYS: the day scope. ARGV: the common head, then ARGV[5] -> counter id, ARGV[6] -> who.
// Returns {1}, or {0} when the counter was not open.
var closeCounterCmd = newScript(`
local c = loadCounter(ARGV[5])
if not c or not c.open then return {0} end
c.open = false
c.by = ARGV[6]
c.since = now
saveCounter(c)
event('counter', {counter = c.id, open = false})
return {1}
`)

// openCounter runs openCounterCmd.
func (s *redisStore) openCounter(ctx context.Context, sc scope, now time.Time, counter string, services []string, by string) error {
	svcs, _ := json.Marshal(services)
	err := openCounterCmd.Run(ctx, s.rdb, sc.keys(), s.args(sc, now, counter, string(svcs), by)...).Err()
	return store.Wrap("queue.openCounter", err)
}

// closeCounter runs closeCounterCmd.
func (s *redisStore) closeCounter(ctx context.Context, sc scope, now time.Time, counter, by string) error {
	err := closeCounterCmd.Run(ctx, s.rdb, sc.keys(), s.args(sc, now, counter, by)...).Err()
	return store.Wrap("queue.closeCounter", err)
}

// callNextCmd calls the best waiting ticket for a counter: due appointments of
// its services first (earliest start, then arrival), else the walk-in of its
// services that arrived first. A ticket the counter still has called is
// finished first. Being one script, two counters can never get one ticket.
//
// A call with a key (ARGV[7], the hash of the request's Idempotency-Key) that
// the counter's current ticket was called with, while that ticket is still
// called there, is a retry whose first answer was lost: it changes nothing and
// returns that ticket, where a call without the key would finish it unseen.
// The counter keeps "<key> <number>" of its last call as call_key.
//
// KEYS: the day scope. ARGV: the common head, then ARGV[5] -> counter id,
// ARGV[6] -> who, ARGV[7] -> call key ("" for none).
//
// Returns {1, ticket} when called, {2, ticket} when a retry found its call,
// {0} when nobody waits, {-1} when the counter is not open.
var callNextCmd = newScript(`
local id, by, callKey = ARGV[5], ARGV[6], ARGV[7]
local c = loadCounter(id)
if not c or not c.open then return {-1} end
if c.current then
  local prev = load(c.current)
  if callKey ~= '' and c.call_key == callKey .. ' ' .. c.current and prev and prev.status == 'called' and prev.counter == id then
    return {2, redis.call('HGET', K_TICKETS, c.current)}
  end
  -- the counter's ticket of an earlier day is not in today's hash; a ticket of
  -- today with the same number is only finished when this counter called it
  if prev and prev.status == 'called' and prev.counter == id then finishTicket(prev, by) end
  c.current = nil
end

local best, bestDue, bestArrival, bestKey = nil, nil, nil, nil
for _, s in ipairs(c.services) do
  local key = apptKey(s)
  if key then
    local first = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
    if first[1] then
      local due = tonumber(first[2])
      for _, num in ipairs(redis.call('ZRANGEBYSCORE', key, due, due)) do
        local t = load(num)
        if best == nil or due < bestDue or (due == bestDue and t.arrival < bestArrival) then
          best, bestDue, bestArrival, bestKey = num, due, t.arrival, key
        end
      end
    end
  end
end
if not best then
  for _, s in ipairs(c.services) do
    local key = walkKey(s)
    if key then
      local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      if first[1] and (best == nil or tonumber(first[2]) < bestArrival) then
        best, bestArrival, bestKey = first[1], tonumber(first[2]), key
      end
    end
  end
end
if not best then
  saveCounter(c)
  return {0}
end

redis.call('ZREM', bestKey, best)
local t = load(best)
t.status = 'called'
t.counter = id
if not t.called then t.called = now end
t.last_call = now
t.recalls = 0
note(t, 'call', by, id)
local raw = save(t)
c.current = t.number
if callKey ~= '' then c.call_key = callKey .. ' ' .. t.number else c.call_key = nil end
saveCounter(c)
redis.call('LPUSH', K_CALLS, cjson.encode({number = t.number, counter = id, called_at = now}))
redis.call('LTRIM', K_CALLS, 0, 19)
event('called', {number = t.number, counter = id})
return {1, raw}
`)

// callNext runs callNextCmd; key is the call's key ("" for none).
func (s *redisStore) callNext(ctx context.Context, sc scope, now time.Time, counter, by, key string) (int64, *Ticket, error) {
	v, err := callNextCmd.Run(ctx, s.rdb, sc.keys(), s.args(sc, now, counter, by, key)...).Result()
	return scriptResult("queue.callNext", v, err)
}

// counters reads every counter of the office, sorted by id.
func (s *redisStore) counters(ctx context.Context, office string) ([]Counter, error) {
	all, err := s.rdb.HGetAll(ctx, countersKey(office)).Result()
	if err != nil {
		return nil, store.Wrap("queue.counters", err)
	}
	out := make([]Counter, 0, len(all))
	for id, raw := range all {
		c, err := s.ctrCache.decode(office, id, raw) // the staff console reads them after every event
		if err != nil {
			return nil, fmt.Errorf("queue.counters: %w", err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
