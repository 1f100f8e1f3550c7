package queue

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/events"
	"github.com/rathaus/rathaus/internal/store"
)

// Event is one entry of the office event stream.
type Event struct {
	ID   string // stream id, "ms-seq"
	Type string
	Data string // JSON: ticket numbers, services, counters — never a name
	// frame is the event as a display receives it (see displayFrame), set
	// by the hub before it hands the event to its subscribers.
	frame []byte
}

// eventSource is the Redis side of the event hub.
type eventSource interface {
	lastEventID(ctx context.Context, office string) (string, error)
	readEvents(ctx context.Context, office, after string, block time.Duration) ([]Event, error)
	rangeEvents(ctx context.Context, office, after string, count int64) ([]Event, error)
}

func toEvents(msgs []redis.XMessage) []Event {
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		typ, _ := m.Values["type"].(string)
		data, _ := m.Values["data"].(string)
		out = append(out, Event{ID: m.ID, Type: typ, Data: data})
	}
	return out
}

// lastEventID returns the id of the newest event, "0-0" for an empty stream.
func (s *redisStore) lastEventID(ctx context.Context, office string) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, events.Key(office), "+", "-", 1).Result()
	if err != nil {
		return "", store.Wrap("queue.lastEventID", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// readEvents waits up to block for events after the id after (XREAD BLOCK).
func (s *redisStore) readEvents(ctx context.Context, office, after string, block time.Duration) ([]Event, error) {
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{events.Key(office), after}, Block: block, Count: 500}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Wrap("queue.readEvents", err)
	}
	var out []Event
	for _, st := range res {
		out = append(out, toEvents(st.Messages)...)
	}
	return out, nil
}

// firstEventID returns the id of the oldest event kept, "" for an empty stream.
func (s *redisStore) firstEventID(ctx context.Context, office string) (string, error) {
	msgs, err := s.rdb.XRangeN(ctx, events.Key(office), "-", "+", 1).Result()
	if err != nil {
		return "", store.Wrap("queue.firstEventID", err)
	}
	if len(msgs) == 0 {
		return "", nil
	}
	return msgs[0].ID, nil
}

// rangeEvents returns up to count events after the id after (XRANGE), oldest first.
func (s *redisStore) rangeEvents(ctx context.Context, office, after string, count int64) ([]Event, error) {
	msgs, err := s.rdb.XRangeN(ctx, events.Key(office), after, "+", count+1).Result()
	if err != nil {
		return nil, store.Wrap("queue.rangeEvents", err)
	}
	evs := toEvents(msgs)
	if len(evs) > 0 && evs[0].ID == after {
		evs = evs[1:]
	}
	if int64(len(evs)) > count {
		evs = evs[:count]
	}
	return evs, nil
}
