package queue

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

var actionCmds = map[string]*redis.Script{
	ActionRecall: recallCmd, ActionNoShow: noShowCmd, ActionFinish: finishCmd,
	ActionTransfer: transferCmd, ActionPark: parkCmd, ActionUnpark: unparkCmd,
}

// The ticket action scripts share their shape:
//
// KEYS: the day scope (see scope.keys). ARGV: the common head (see args), then
//
//	ARGV[5] -> ticket number   ARGV[6] -> who   ARGV[7] -> action argument
//
// Returns {1, ticket} when done, {-4} for an unknown ticket, {-2} when the
// ticket's status does not allow the action, {-3} when the recall limit is reached.

// recallCmd calls a called ticket again (ARGV[7] -> the most recalls allowed).
var recallCmd = newScript(`
local t = load(ARGV[5])
if not t then return {-4} end
if t.status ~= 'called' then return {-2} end
local n = t.recalls or 0
if n >= tonumber(ARGV[7]) then return {-3} end
t.recalls = n + 1
t.last_call = now
note(t, 'recall', ARGV[6], t.counter)
local raw = save(t)
redis.call('LPUSH', K_CALLS, cjson.encode({number = t.number, counter = t.counter, called_at = now}))
redis.call('LTRIM', K_CALLS, 0, 19)
event('recalled', {number = t.number, counter = t.counter})
return {1, raw}
`)

// noShowCmd marks a called or parked ticket as not having come.
var noShowCmd = newScript(`
local t = load(ARGV[5])
if not t then return {-4} end
if t.status ~= 'called' and t.status ~= 'parked' then return {-2} end
releaseCounter(t)
t.status = 'no_show'
t.finished = now
note(t, 'no_show', ARGV[6], t.counter)
local raw = save(t)
event('no_show', {number = t.number, service = t.service})
return {1, raw}
`)

// finishCmd finishes a called ticket and learns its service time.
var finishCmd = newScript(`
local t = load(ARGV[5])
if not t then return {-4} end
if t.status ~= 'called' then return {-2} end
releaseCounter(t)
local raw = finishTicket(t, ARGV[6])
return {1, raw}
`)

// transferCmd moves a waiting, called or parked ticket to another service
// (ARGV[7]); it keeps its number and its place by arrival (or appointment start).
var transferCmd = newScript(`
local t = load(ARGV[5])
if not t then return {-4} end
if t.status ~= 'waiting' and t.status ~= 'called' and t.status ~= 'parked' then return {-2} end
if not svcIndex(ARGV[7]) then return {-2} end
dequeue(t)
releaseCounter(t)
local from = t.service
t.service = ARGV[7]
t.status = 'waiting'
note(t, 'transfer', ARGV[6], t.counter)
t.counter = nil
local raw = save(t)
enqueue(t)
event('transferred', {number = t.number, service = t.service, from = from})
return {1, raw}
`)

// parkCmd sets a waiting or called ticket aside; it keeps its place for unpark.
var parkCmd = newScript(`
local t = load(ARGV[5])
if not t then return {-4} end
if t.status ~= 'waiting' and t.status ~= 'called' then return {-2} end
dequeue(t)
releaseCounter(t)
t.status = 'parked'
note(t, 'park', ARGV[6], t.counter)
local raw = save(t)
event('parked', {number = t.number, service = t.service})
return {1, raw}
`)

// unparkCmd puts a parked ticket back into its queue at its old place.
var unparkCmd = newScript(`
local t = load(ARGV[5])
if not t then return {-4} end
if t.status ~= 'parked' then return {-2} end
t.status = 'waiting'
note(t, 'unpark', ARGV[6], t.counter)
t.counter = nil
local raw = save(t)
enqueue(t)
event('unparked', {number = t.number, service = t.service})
return {1, raw}
`)

// action runs one ticket action script.
func (s *redisStore) action(ctx context.Context, action string, sc scope, now time.Time, number, by string, arg any) (int64, *Ticket, error) {
	cmd, ok := actionCmds[action]
	if !ok {
		return 0, nil, ErrUnknownAction
	}
	v, err := cmd.Run(ctx, s.rdb, sc.keys(), s.args(sc, now, number, by, arg)...).Result()
	return scriptResult("queue."+action, v, err)
}
