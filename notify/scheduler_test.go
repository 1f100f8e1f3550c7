package notify

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// addReminder writes a reminder the way a booking script does: ZADD the
// message id with its due time, HSET the message JSON under the same id.
func addReminder(t *testing.T, rdb redis.UniversalClient, id string, due time.Time) {
	t.Helper()
	msg := testMessage(id, KindReminder, 0, due.Add(24*time.Hour))
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := rdb.ZAdd(ctx, testDueKey("geesthacht"), redis.Z{Score: float64(due.UnixMilli()), Member: id}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, testDueMsgKey("geesthacht"), id, raw).Err(); err != nil {
		t.Fatal(err)
	}
}

// outboxIDs lists the message ids in the outbox stream, in order.
func outboxIDs(t *testing.T, rdb redis.UniversalClient) []string {
	t.Helper()
	var ids []string
	for _, e := range rdb.XRange(context.Background(), OutboxKey("geesthacht"), "-", "+").Val() {
		var m Message
		if err := json.Unmarshal([]byte(e.Values["msg"].(string)), &m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

// runLog records the instants a job ran at, per scheduler instance.
type runLog struct {
	mu   sync.Mutex
	runs map[string][]time.Time
}

func (l *runLog) job(name, spec, instance string) Job {
	return Job{Name: name, Spec: spec, Run: func(_ context.Context, now time.Time) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.runs == nil {
			l.runs = map[string][]time.Time{}
		}
		l.runs[instance] = append(l.runs[instance], now)
		return nil
	}}
}

func (l *runLog) all() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for _, r := range l.runs {
		out = append(out, r...)
	}
	return out
}

func newTestScheduler(t *testing.T, rdb redis.UniversalClient, clk clock.Clock, instance string, jobs ...Job) *Scheduler {
	t.Helper()
	s := NewScheduler(rdb, clk, berlin, instance, quietLog)
	for _, j := range jobs {
		if err := s.Register(j); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestScheduler_TwoInstances: two replicas against one Redis run each
// instant once and move each reminder into the outbox once.
func TestScheduler_TwoInstances(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewSimulated(time.Date(2026, 10, 24, 0, 0, 0, 0, berlin))
		var log runLog
		a := newTestScheduler(t, st.Client, clk, "a", dueJob(st.Client, "geesthacht", berlin), log.job("tick", "* * * * *", "a"))
		b := newTestScheduler(t, st.Client, clk, "b", dueJob(st.Client, "geesthacht", berlin), log.job("tick", "* * * * *", "b"))
		var want []string
		for i := range 20 {
			id := "rem-" + string(rune('a'+i))
			want = append(want, id)
			addReminder(t, st.Client, id, clk.Now().Add(time.Duration(7*i+3)*time.Minute+20*time.Second))
		}
		const minutes = 180
		ctx := context.Background()
		for i := range minutes {
			clk.Advance(time.Minute)
			first, second := a, b
			if i%3 == 0 {
				first, second = b, a
			}
			first.exec(ctx)
			second.exec(ctx)
		}
		if got := outboxIDs(t, st.Client); !equalStrings(got, want) {
			t.Errorf("outbox %v, want each reminder once: %v", got, want)
		}
		runs := log.all()
		if len(runs) != minutes || len(log.runs["a"]) == 0 || len(log.runs["b"]) == 0 {
			t.Errorf("tick ran %d times (a %d, b %d), want %d in all, shared", len(runs), len(log.runs["a"]), len(log.runs["b"]), minutes)
		}
		seen := map[time.Time]bool{}
		for _, r := range runs {
			if seen[r] {
				t.Errorf("instant %s ran twice", r)
			}
			seen[r] = true
		}
		if n := st.Client.ZCard(ctx, testDueKey("geesthacht")).Val() + st.Client.HLen(ctx, testDueMsgKey("geesthacht")).Val(); n != 0 {
			t.Errorf("%d reminder keys left", n)
		}
		// Two workers (one per replica) send them: each arrives once.
		srv := startSMTP(t)
		wa := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "a")
		wb := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "b")
		wa.cfg.Batch, wb.cfg.Batch = 3, 3
		for range 10 {
			mustExec(t, wa)
			mustExec(t, wb)
		}
		var sent []string
		for _, id := range messageIDs(t, srv) {
			sent = append(sent, strings.TrimSuffix(strings.TrimPrefix(id, "<"), "@rathaus.example>"))
		}
		slices.Sort(sent)
		if !equalStrings(sent, want) {
			t.Errorf("sent %v, want each reminder once: %v", sent, want)
		}
		assertEmpty(t, st.Client)
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestScheduler_DSTReminders: reminders 24 hours before appointments around
// the 2026 DST changes fire at their instant, minute by minute through the
// skipped and the repeated hour.
func TestScheduler_DSTReminders(t *testing.T) {
	tests := []struct {
		name  string
		start time.Time // the appointment
		due   time.Time // when the reminder must fire
	}{
		{"appointment 2026-03-29 10:00", time.Date(2026, 3, 29, 10, 0, 0, 0, berlin), time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC)},
		{"appointment 2026-03-29 03:30", time.Date(2026, 3, 29, 3, 30, 0, 0, berlin), time.Date(2026, 3, 28, 1, 30, 0, 0, time.UTC)},
		{"due 2026-03-29 03:15 CEST, right after the jump", time.Date(2026, 3, 30, 3, 15, 0, 0, berlin), time.Date(2026, 3, 29, 1, 15, 0, 0, time.UTC)},
		{"appointment 2026-10-25 10:00", time.Date(2026, 10, 25, 10, 0, 0, 0, berlin), time.Date(2026, 10, 24, 9, 0, 0, 0, time.UTC)},
		{"due 2026-10-25 02:30 CEST, first pass", time.Date(2026, 10, 26, 1, 30, 0, 0, berlin), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{"due 2026-10-25 02:30 CET, second pass", time.Date(2026, 10, 26, 2, 30, 0, 0, berlin), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
	}
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// one DEL per key: the two keys live in different cluster slots
				st.Client.Del(ctx, OutboxKey("geesthacht"))
				st.Client.Del(ctx, SchedLastKey("reminders:geesthacht"))
				due := ReminderDue(tt.start, 24*time.Hour)
				if !due.Equal(tt.due) {
					t.Fatalf("due %s, want %s", due.UTC(), tt.due)
				}
				addReminder(t, st.Client, "r", due)
				clk := clock.NewSimulated(due.Add(-90 * time.Minute))
				var log runLog
				s := newTestScheduler(t, st.Client, clk, "a", dueJob(st.Client, "geesthacht", berlin), log.job("tick-"+tt.name, "* * * * *", "a"))
				s.exec(ctx)
				for clk.Now().Before(due.Add(2 * time.Minute)) {
					clk.Advance(time.Minute)
					s.exec(ctx)
					moved := len(outboxIDs(t, st.Client)) == 1
					if before := clk.Now().Before(due); before == moved {
						t.Fatalf("at %s (%s): moved %v, due %s", clk.Now().UTC(), clk.Now().In(berlin), moved, due.UTC())
					}
				}
				// every minute from due-90m to due+2m once, through skipped and repeated hours
				if n := len(log.all()); n != 93 {
					t.Errorf("tick ran %d times, want 93", n)
				}
			})
		}
	})
}

// TestScheduler_DailyJobOnFallBack: a daily 02:30 job runs once on the day
// whose 02:30 happens twice.
func TestScheduler_DailyJobOnFallBack(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewSimulated(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC))
		var log runLog
		s := newTestScheduler(t, st.Client, clk, "a", log.job("retention", "30 2 * * *", "a"))
		ctx := context.Background()
		s.exec(ctx) // first start: catches up 2026-10-24 02:30
		for end := clk.Now().Add(48 * time.Hour); clk.Now().Before(end); {
			clk.Advance(time.Minute)
			s.exec(ctx)
		}
		want := []time.Time{
			time.Date(2026, 10, 24, 2, 30, 0, 0, berlin),
			time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 02:30 CEST, the first of the two
			time.Date(2026, 10, 26, 2, 30, 0, 0, berlin),
		}
		got := log.all()
		if len(got) != len(want) {
			t.Fatalf("ran at %v, want %v", got, want)
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Errorf("run %d at %s, want %s", i, got[i].UTC(), want[i].UTC())
			}
		}
	})
}

// TestScheduler_DailyJobOnSpringForward: a daily 02:30 job still runs on
// the day without 02:30, at 03:00 CEST right after the gap.
func TestScheduler_DailyJobOnSpringForward(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewSimulated(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC))
		var log runLog
		s := newTestScheduler(t, st.Client, clk, "a", log.job("retention", "30 2 * * *", "a"))
		ctx := context.Background()
		s.exec(ctx) // first start: catches up 2026-03-28 02:30
		for end := clk.Now().Add(48 * time.Hour); clk.Now().Before(end); {
			clk.Advance(time.Minute)
			s.exec(ctx)
		}
		want := []time.Time{
			time.Date(2026, 3, 28, 2, 30, 0, 0, berlin),
			time.Date(2026, 3, 29, 3, 0, 0, 0, berlin), // 02:30 does not exist that day
			time.Date(2026, 3, 30, 2, 30, 0, 0, berlin),
		}
		got := log.all()
		if len(got) != len(want) {
			t.Fatalf("ran at %v, want %v", got, want)
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Errorf("run %d at %s, want %s", i, got[i].In(berlin), want[i])
			}
		}
	})
}

// TestScheduler_CatchUp: a run missed while the server was down is caught
// up once when it starts again.
func TestScheduler_CatchUp(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewSimulated(time.Date(2026, 5, 4, 3, 0, 30, 0, berlin))
		var log runLog
		ctx := context.Background()
		newTestScheduler(t, st.Client, clk, "a", log.job("daily", "0 3 * * *", "a")).exec(ctx)
		clk.Set(time.Date(2026, 5, 6, 10, 0, 0, 0, berlin)) // down for two days
		s := newTestScheduler(t, st.Client, clk, "b", log.job("daily", "0 3 * * *", "b"))
		s.exec(ctx)
		s.exec(ctx)
		want := []time.Time{time.Date(2026, 5, 4, 3, 0, 0, 0, berlin), time.Date(2026, 5, 6, 3, 0, 0, 0, berlin)}
		got := append(log.runs["a"], log.runs["b"]...)
		if len(got) != 2 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
			t.Errorf("ran at %v, want %v", got, want)
		}
	})
}

func TestScheduler_Register(t *testing.T) {
	s := NewScheduler(nil, nil, berlin, "a", quietLog)
	run := func(context.Context, time.Time) error { return nil }
	if err := s.Register(Job{Name: "x", Spec: "61 * * * *", Run: run}); err == nil {
		t.Error("bad spec accepted")
	}
	if err := s.Register(Job{Name: "x", Spec: "* * * * *", Run: run}); err != nil {
		t.Fatal(err)
	}
	if err := s.Register(Job{Name: "x", Spec: "* * * * *", Run: run}); err == nil {
		t.Error("second job of the same name accepted")
	}
}

// TestScheduler_Metrics: each run of this instance is counted by outcome,
// and a success records when; a failed run leaves the last success alone.
func TestScheduler_Metrics(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewSimulated(time.Date(2026, 5, 4, 3, 0, 30, 0, berlin))
		fail := false
		job := Job{Name: "flaky", Spec: "* * * * *", Run: func(context.Context, time.Time) error {
			if fail {
				return errors.New("store down")
			}
			return nil
		}}
		s := newTestScheduler(t, st.Client, clk, "a", job)
		s.Metrics = NewSchedulerMetrics(prometheus.NewRegistry())
		value := func(c prometheus.Collector) float64 {
			t.Helper()
			ch := make(chan prometheus.Metric, 1)
			c.Collect(ch)
			var m dto.Metric
			if err := (<-ch).Write(&m); err != nil {
				t.Fatal(err)
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
		ctx := context.Background()
		s.exec(ctx)
		clk.Advance(time.Minute)
		s.exec(ctx)
		ok, last := value(s.Metrics.Runs.WithLabelValues("flaky", "ok")), value(s.Metrics.LastSuccess.WithLabelValues("flaky"))
		if ok != 2 || last <= 0 {
			t.Fatalf("after two good runs: ok %v, last success %v", ok, last)
		}
		fail = true
		clk.Advance(time.Minute)
		s.exec(ctx)
		if failed := value(s.Metrics.Runs.WithLabelValues("flaky", "failed")); failed != 1 {
			t.Errorf("failed runs %v, want 1", failed)
		}
		if got := value(s.Metrics.LastSuccess.WithLabelValues("flaky")); got != last {
			t.Errorf("a failed run moved the last success from %v to %v", last, got)
		}
	})
}
