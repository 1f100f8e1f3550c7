package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/events"
	"github.com/rathaus/rathaus/internal/store"
)

// ahead counts the tickets called before a waiting ticket in its service's
// queues: for an appointment the appointments of earlier start; for a walk-in
// the appointments already due plus the walk-ins that arrived earlier.
func (s *redisStore) ahead(ctx context.Context, office, day string, t *Ticket, now time.Time) (int, error) {
	appt, walk := apptQueueKey(office, day, t.Service), walkQueueKey(office, day, t.Service)
	if t.Kind == KindAppointment {
		n, err := s.rdb.ZRank(ctx, appt, t.Number).Result()
		if errors.Is(err, redis.Nil) {
			return 0, nil
		}
		return int(n), store.Wrap("queue.ahead", err)
	}
	pipe := s.rdb.Pipeline()
	due := pipe.ZCount(ctx, appt, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
	rank := pipe.ZRank(ctx, walk, t.Number)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, store.Wrap("queue.ahead", err)
	}
	return int(due.Val() + rank.Val()), nil
}

// queueState is what the display and the estimates read in one round trip.
type queueState struct {
	Waiting      map[string]int     // service → waiting tickets (walk-ins and checked-in appointments)
	Calls        []callJSON         // latest calls, newest first
	Counters     []Counter          // every counter
	ServiceTimes map[string]float64 // service → moving average (s)
	LastEventID  string
}

// callJSON is one entry of the latest calls list.
type callJSON struct {
	Number   string `json:"number"`
	Counter  string `json:"counter"`
	CalledAt int64  `json:"called_at"`
}

// state reads the queue state of a day.
func (s *redisStore) state(ctx context.Context, sc scope, calls int) (*queueState, error) {
	pipe := s.rdb.Pipeline()
	walk := make([]*redis.IntCmd, len(sc.services))
	appt := make([]*redis.IntCmd, len(sc.services))
	for i, svc := range sc.services {
		walk[i] = pipe.ZCard(ctx, walkQueueKey(sc.office, sc.day, svc))
		appt[i] = pipe.ZCard(ctx, apptQueueKey(sc.office, sc.day, svc))
	}
	lr := pipe.LRange(ctx, callsKey(sc.office), 0, int64(calls-1))
	ctrs := pipe.HGetAll(ctx, countersKey(sc.office))
	times := pipe.HGetAll(ctx, serviceTimesKey(sc.office))
	last := pipe.XRevRangeN(ctx, events.Key(sc.office), "+", "-", 1)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, store.Wrap("queue.state", err)
	}
	st := &queueState{Waiting: map[string]int{}, ServiceTimes: map[string]float64{}}
	for i, svc := range sc.services {
		st.Waiting[svc] = int(walk[i].Val() + appt[i].Val())
	}
	for _, raw := range lr.Val() {
		var c callJSON
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return nil, fmt.Errorf("queue.state: %w", err)
		}
		st.Calls = append(st.Calls, c)
	}
	if err := s.decodeEstimateInputs(st, sc.office, ctrs.Val(), times.Val()); err != nil {
		return nil, fmt.Errorf("queue.state: %w", err)
	}
	if l := last.Val(); len(l) > 0 {
		st.LastEventID = l[0].ID
	}
	return st, nil
}

// estimateInputs reads what a ticket's estimate needs besides its rank, in
// one round trip: the office's counters and its service times (the rest of
// a queueState stays empty).
func (s *redisStore) estimateInputs(ctx context.Context, office string) (*queueState, error) {
	pipe := s.rdb.Pipeline()
	ctrs := pipe.HGetAll(ctx, countersKey(office))
	times := pipe.HGetAll(ctx, serviceTimesKey(office))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, store.Wrap("queue.estimateInputs", err)
	}
	st := &queueState{ServiceTimes: map[string]float64{}}
	if err := s.decodeEstimateInputs(st, office, ctrs.Val(), times.Val()); err != nil {
		return nil, fmt.Errorf("queue.estimateInputs: %w", err)
	}
	return st, nil
}

// decodeEstimateInputs fills st's Counters and ServiceTimes from the
// office's hashes.
func (s *redisStore) decodeEstimateInputs(st *queueState, office string, counters, times map[string]string) error {
	for id, raw := range counters {
		c, err := s.ctrCache.decode(office, id, raw)
		if err != nil {
			return err
		}
		st.Counters = append(st.Counters, c)
	}
	for svc, v := range times {
		f, _ := strconv.ParseFloat(v, 64)
		st.ServiceTimes[svc] = f
	}
	return nil
}

// counterCache keeps each counter's last JSON with its decoded value, so that
// a counter whose JSON has not changed is not decoded again: a ticket's view
// and the display read every counter of the office, and decoding them all
// cost an office with 50 counters ≈ 50 µs per read. One entry per counter.
type counterCache struct {
	mu sync.Mutex
	m  map[string]cachedCounter // office + "\x00" + counter id
}

type cachedCounter struct {
	raw string
	c   Counter
}

// decode returns the counter of JSON raw, decoding it only when it differs
// from what the counter had the last time. The value's Services slice is
// shared: callers only read it.
func (cc *counterCache) decode(office, id, raw string) (Counter, error) {
	key := office + "\x00" + id
	cc.mu.Lock()
	e, ok := cc.m[key]
	cc.mu.Unlock()
	if ok && e.raw == raw {
		return e.c, nil
	}
	var c Counter
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return Counter{}, err
	}
	cc.mu.Lock()
	if cc.m == nil {
		cc.m = map[string]cachedCounter{}
	}
	cc.m[key] = cachedCounter{raw: raw, c: c}
	cc.mu.Unlock()
	return c, nil
}
