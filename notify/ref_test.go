package notify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

func TestRef_RoundTrip(t *testing.T) {
	r := Ref{Kind: KindReschedule, Subject: "a1b2c3", Seq: 4, Extra: "1790000000"}
	got, ok := ParseRef(r.Encode())
	if !ok || got != r {
		t.Fatalf("ParseRef(%q) = %+v, %v", r.Encode(), got, ok)
	}
	if r.MessageID() != "a1b2c3-reschedule-4" {
		t.Errorf("MessageID %q", r.MessageID())
	}
	for _, bad := range []string{"", "{}", "r1|", "r1|kind", "r1|kind|subj", "r1|kind|subj|x|", "r1|kind|subj|-1|", "r1||subj|1|", "r2|kind|subj|1|"} {
		if _, ok := ParseRef(bad); ok {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

// fakeResolver is the domain side: it answers from a map, as booking answers
// from its appointments.
type fakeResolver struct {
	mu    sync.Mutex
	msgs  map[string]Message // by subject
	err   error
	calls int
}

func (f *fakeResolver) Resolve(_ context.Context, office string, r Ref) (Message, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return Message{}, false, f.err
	}
	m, ok := f.msgs[r.Subject]
	if !ok || office != "geesthacht" {
		return Message{}, false, nil
	}
	m.Kind = r.Kind
	return m, true, nil
}

// batchResolver adds ResolveAll to fakeResolver and counts its batches.
type batchResolver struct {
	*fakeResolver
	batches int
}

func (b *batchResolver) ResolveAll(ctx context.Context, office string, refs []Ref) ([]Resolved, error) {
	b.mu.Lock()
	b.batches++
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]Resolved, len(refs))
	for i, r := range refs {
		out[i].Msg, out[i].OK, _ = b.Resolve(ctx, office, r)
	}
	return out, nil
}

func addRef(t *testing.T, st *store.Store, r Ref) {
	t.Helper()
	if err := st.Client.XAdd(context.Background(), &redis.XAddArgs{Stream: OutboxKey("geesthacht"), Values: []string{"msg", r.Encode()}}).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestWorker_Refs: a referenced mail is built by the resolver when sent and
// sent once under the Ref's Message-ID; a reference the resolver no longer
// wants is dropped; a failing resolver keeps the entry; a worker without a
// resolver keeps it for a retry instead of losing it.
func TestWorker_Refs(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "one by one", true: "batch"}[batch], func(t *testing.T) {
			redistest.ForEach(t, func(t *testing.T, st *store.Store) {
				srv := startSMTP(t)
				clk := clock.NewSimulated(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
				start := time.Date(2026, 9, 10, 9, 0, 0, 0, berlin)
				res := &fakeResolver{msgs: map[string]Message{"appt1": testMessage("ignored", KindConfirmation, 0, start)}}
				var resolver Resolver = res
				batched := &batchResolver{fakeResolver: res}
				if batch {
					resolver = batched
				}

				// A store failure while resolving: the entry stays pending, nothing is sent.
				res.err = errors.New("store down")
				w := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "w1")
				w.cfg.Resolver = resolver
				addRef(t, st, Ref{Kind: KindConfirmation, Subject: "appt1", Seq: 0})
				if _, err := w.exec(context.Background()); err == nil {
					t.Fatal("exec succeeded although the resolver failed")
				}
				if len(srv.received()) != 0 {
					t.Fatal("sent although the resolver failed")
				}
				// The store is back: the entry is taken over and sent once.
				res.err = nil
				w.cfg.ClaimIdle = -1
				mustExec(t, w)
				mustExec(t, w)
				addRef(t, st, Ref{Kind: KindReminder, Subject: "appt1", Seq: 0})
				addRef(t, st, Ref{Kind: KindReminder, Subject: "gone", Seq: 0}) // deleted meanwhile: dropped
				mustExec(t, w)
				mustExec(t, w)
				ids := messageIDs(t, srv)
				if len(ids) != 2 || !strings.HasPrefix(ids[0], "<appt1-confirmation-0@") || !strings.HasPrefix(ids[1], "<appt1-reminder-0@") {
					t.Fatalf("Message-IDs %v", ids)
				}
				if got := metricValue(w.cfg.Metrics.Dropped.WithLabelValues("geesthacht")); got != 1 {
					t.Errorf("dropped %v, want 1", got)
				}
				assertEmpty(t, st.Client)
				if batch && batched.batches == 0 {
					t.Error("the worker never resolved a batch")
				}

				// Without a resolver a reference is not lost: it waits in the retry set.
				w2 := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "w2")
				addRef(t, st, Ref{Kind: KindConfirmation, Subject: "appt2", Seq: 0})
				mustExec(t, w2)
				if n := st.Client.ZCard(context.Background(), RetryKey("geesthacht")).Val(); n != 1 {
					t.Errorf("retry set has %d members, want the reference", n)
				}
				if len(srv.received()) != 2 {
					t.Errorf("%d mails, want still 2", len(srv.received()))
				}
			})
		})
	}
}
