package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	gomail "github.com/wneessen/go-mail"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

const testFrom = "Bürgerbüro Geesthacht <noreply@rathaus.example>"

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// newTestWorker returns a worker for the demo office sending through tr,
// reading without blocking so that tests drive it pass by pass with exec.
func newTestWorker(t *testing.T, rdb redis.UniversalClient, tr Transport, clk clock.Clock, consumer string) *Worker {
	t.Helper()
	m, err := NewMailer(testFrom, tr)
	if err != nil {
		t.Fatal(err)
	}
	return NewWorker(rdb, WorkerConfig{Office: "geesthacht", Consumer: consumer, Sender: m, Clock: clk,
		Metrics: NewMetrics(prometheus.NewRegistry()), Log: quietLog, Block: -1})
}

func smtpTransport(t *testing.T, s *smtpServer) Transport {
	t.Helper()
	tr, err := NewSMTPTransport(s.url())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func enqueue(t *testing.T, rdb redis.UniversalClient, msgs ...Message) {
	t.Helper()
	for _, m := range msgs {
		if err := Enqueue(context.Background(), rdb, m); err != nil {
			t.Fatal(err)
		}
	}
}

func mustExec(t *testing.T, w *Worker) int {
	t.Helper()
	n, err := w.exec(context.Background())
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	return n
}

// messageIDs lists the Message-IDs of the received mails.
func messageIDs(t *testing.T, s *smtpServer) []string {
	var ids []string
	for _, r := range s.received() {
		m, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Header.Get("Message-ID"))
	}
	return ids
}

// TestWorker_ConfirmMoveCancel sends confirmation, move and cancellation of
// one appointment through a real SMTP server and reads them back.
func TestWorker_ConfirmMoveCancel(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := clock.NewSimulated(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
		w := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "w1")
		start := time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)
		enqueue(t, st.Client,
			testMessage("m-confirm", KindConfirmation, 0, start),
			testMessage("m-move", KindReschedule, 1, start.AddDate(0, 0, 1)),
			testMessage("m-cancel", KindCancellation, 2, start.AddDate(0, 0, 1)))
		if n := mustExec(t, w); n != 3 {
			t.Fatalf("handled %d, want 3", n)
		}
		got := srv.received()
		if len(got) != 3 {
			t.Fatalf("received %d mails, want 3", len(got))
		}
		want := []struct {
			id, method string
			seq        int
			start      time.Time
			status     string
		}{
			{"m-confirm", MethodRequest, 0, start, "CONFIRMED"},
			{"m-move", MethodRequest, 1, start.AddDate(0, 0, 1), "CONFIRMED"},
			{"m-cancel", MethodCancel, 2, start.AddDate(0, 0, 1), "CANCELLED"},
		}
		for i, w := range want {
			r := got[i]
			if r.From != "noreply@rathaus.example" || !slices.Equal(r.To, []string{"anna@example.org"}) {
				t.Errorf("%s: envelope %s -> %v", w.id, r.From, r.To)
			}
			p := parseMail(t, r.Data)
			if mid := p.Header.Get("Message-ID"); mid != "<"+w.id+"@rathaus.example>" {
				t.Errorf("Message-ID %q", mid)
			}
			if p.Text == "" || p.HTML == "" || !strings.Contains(p.Text, "GH-4711") {
				t.Errorf("%s: text %q html %d bytes", w.id, p.Text, len(p.HTML))
			}
			if p.CalendarMethod != w.method {
				t.Errorf("%s: inline text/calendar method=%q, want %q", w.id, p.CalendarMethod, w.method)
			}
			if p.AttachmentName != "invite.ics" || p.AttachmentType != "application/ics" || p.Attachment != p.Calendar {
				t.Errorf("%s: attachment %q %q differs from the inline invite", w.id, p.AttachmentName, p.AttachmentType)
			}
			cal, err := ical.NewDecoder(strings.NewReader(p.Calendar)).Decode()
			if err != nil {
				t.Fatalf("%s: go-ical: %v", w.id, err)
			}
			ev := cal.Events()[0]
			uid, _ := ev.Props.Text(ical.PropUID)
			seq, _ := ev.Props.Get(ical.PropSequence).Int()
			ds, _ := ev.DateTimeStart(nil)
			if m := cal.Props.Get(ical.PropMethod).Value; m != w.method || uid != "appt-7f3a9c@rathaus.example" || seq != w.seq || !ds.Equal(w.start) {
				t.Errorf("%s: go-ical METHOD %s UID %s SEQUENCE %d DTSTART %s", w.id, m, uid, seq, ds)
			}
			js := parseWithICALJS(t, []byte(p.Calendar))
			e := js.Events[0]
			if js.Method != w.method || e.UID != "appt-7f3a9c@rathaus.example" || e.Sequence != w.seq || e.Status != w.status ||
				e.StartUTC != w.start.UTC().Format("2006-01-02T15:04:05.000Z") {
				t.Errorf("%s: ical.js %+v", w.id, js)
			}
		}
		assertEmpty(t, st.Client)
		if v := metricValue(w.cfg.Metrics.Sent.WithLabelValues("geesthacht")); v != 3 {
			t.Errorf("sent metric %v", v)
		}
	})
}

// assertEmpty checks that nothing waits: no stream entry, no pending entry, no retry.
func assertEmpty(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	if n := rdb.XLen(ctx, OutboxKey("geesthacht")).Val(); n != 0 {
		t.Errorf("outbox has %d entries", n)
	}
	if p, err := rdb.XPending(ctx, OutboxKey("geesthacht"), OutboxGroup).Result(); err != nil || p.Count != 0 {
		t.Errorf("pending %+v %v", p, err)
	}
	if n := rdb.ZCard(ctx, RetryKey("geesthacht")).Val(); n != 0 {
		t.Errorf("retry set has %d members", n)
	}
}

// TestWorker_SMTPDown stops the mail server: nothing is lost, and once it is
// back every mail arrives exactly once.
func TestWorker_SMTPDown(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := clock.NewSimulated(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
		w := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "w1")
		enqueue(t, st.Client, testMessage("before", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		mustExec(t, w)
		srv.stop()
		var ids []string
		for i := range 5 {
			id := "down-" + string(rune('a'+i))
			ids = append(ids, id)
			enqueue(t, st.Client, testMessage(id, KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		}
		// Three passes while the server is down, with the backoff elapsing in between.
		for range 3 {
			mustExec(t, w)
			clk.Advance(time.Hour)
		}
		ctx := context.Background()
		if n := st.Client.ZCard(ctx, RetryKey("geesthacht")).Val() + st.Client.XLen(ctx, OutboxKey("geesthacht")).Val(); n != 5 {
			t.Fatalf("%d messages waiting while the server is down, want 5", n)
		}
		if n := st.Client.XLen(ctx, DeadLetterKey("geesthacht")).Val(); n != 0 {
			t.Fatalf("%d dead letters after 3 failures", n)
		}
		srv.start()
		clk.Advance(time.Hour)
		for range 3 {
			mustExec(t, w)
		}
		got := messageIDs(t, srv)
		want := []string{"<before@rathaus.example>"}
		for _, id := range ids {
			want = append(want, "<"+id+"@rathaus.example>")
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("received %v, want each of %v once", got, want)
		}
		assertEmpty(t, st.Client)
		m := w.cfg.Metrics
		if f, r := metricValue(m.Failed.WithLabelValues("geesthacht")), metricValue(m.Retried.WithLabelValues("geesthacht")); f != 15 || r != 15 {
			t.Errorf("failed %v retried %v, want 15 each", f, r)
		}
	})
}

// TestWorker_DeadLetter: a mail the server always refuses ends in the
// dead-letter stream after MaxAttempts tries, with its message intact.
func TestWorker_DeadLetter(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		clk := clock.NewSimulated(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
		w := newTestWorker(t, st.Client, smtpTransport(t, srv), clk, "w1")
		bad := testMessage("bad", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin))
		bad.To = "always-fails@example.org"
		enqueue(t, st.Client, bad, testMessage("good", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		ctx := context.Background()
		for i := 1; i <= 8; i++ {
			mustExec(t, w)
			dead := st.Client.XLen(ctx, DeadLetterKey("geesthacht")).Val()
			if (i < 8 && dead != 0) || (i == 8 && dead != 1) {
				t.Fatalf("after try %d: %d dead letters", i, dead)
			}
			if i < 8 {
				due := st.Client.ZRangeWithScores(ctx, RetryKey("geesthacht"), 0, -1).Val()
				wantDue := clk.Now().Add(Backoff(i, 30*time.Second, time.Hour))
				if len(due) != 1 || int64(due[0].Score) != wantDue.UnixMilli() {
					t.Fatalf("after try %d: retry set %v, want due %s", i, due, wantDue)
				}
				mustExec(t, w) // not due yet: nothing happens
				clk.Set(wantDue)
			}
		}
		dl := st.Client.XRange(ctx, DeadLetterKey("geesthacht"), "-", "+").Val()
		var msg Message
		if err := json.Unmarshal([]byte(dl[0].Values["msg"].(string)), &msg); err != nil || msg.ID != "bad" || dl[0].Values["attempts"] != "8" {
			t.Errorf("dead letter %v (%v)", dl[0].Values, err)
		}
		if !strings.Contains(dl[0].Values["error"].(string), "451") {
			t.Errorf("dead letter error %q", dl[0].Values["error"])
		}
		if ids := messageIDs(t, srv); !slices.Equal(ids, []string{"<good@rathaus.example>"}) {
			t.Errorf("received %v", ids)
		}
		assertEmpty(t, st.Client)
		if v := metricValue(w.cfg.Metrics.DeadLettered.WithLabelValues("geesthacht")); v != 1 {
			t.Errorf("dead-lettered metric %v", v)
		}
	})
}

// TestWorker_InvalidMessage: what can never be sent goes to the dead letters at once.
func TestWorker_InvalidMessage(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		w := newTestWorker(t, st.Client, smtpTransport(t, srv), clock.NewSimulated(time.Unix(0, 0)), "w1")
		ctx := context.Background()
		st.Client.XAdd(ctx, &redis.XAddArgs{Stream: OutboxKey("geesthacht"), Values: []string{"msg", "{not json"}})
		bad := testMessage("noaddr", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin))
		bad.To = "anna@example.org\r\nBcc: evil@example.org"
		enqueue(t, st.Client, bad)
		mustExec(t, w)
		if n := st.Client.XLen(ctx, DeadLetterKey("geesthacht")).Val(); n != 2 {
			t.Errorf("%d dead letters, want 2", n)
		}
		if len(srv.received()) != 0 {
			t.Errorf("sent %d", len(srv.received()))
		}
		assertEmpty(t, st.Client)
	})
}

// TestWorker_Reclaim: entries a worker read and never finished are taken
// over by another. The first worker is not dead but slow: it finishes one of
// them ("accepted": its mail server took the mail, it acknowledges) while the
// other is sending the first; the other then finds that entry gone and does
// not send it again.
func TestWorker_Reclaim(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		ctx := context.Background()
		start := time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)
		enqueue(t, st.Client, testMessage("orphan", KindConfirmation, 0, start), testMessage("accepted", KindConfirmation, 0, start))
		slow := &outboxStore{rdb: st.Client, office: "geesthacht"}
		if err := slow.ensureGroup(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := slow.read(ctx, "slow-worker", 10, -1)
		if err != nil || len(got) != 2 {
			t.Fatalf("slow worker read %d: %v", len(got), err)
		}
		var once sync.Once
		tr := transportFunc(func(ctx context.Context, id string, m *gomail.Msg) error {
			once.Do(func() {
				if err := slow.ack(ctx, got[1]); err != nil {
					t.Error(err)
				}
			})
			return smtpTransport(t, srv).Deliver(ctx, id, m)
		})
		w := newTestWorker(t, st.Client, tr, clock.NewSimulated(start), "w2")
		w.cfg.ClaimIdle = -1 // the slow worker's entries count as orphaned at once
		if n := mustExec(t, w); n != 2 {
			t.Fatalf("handled %d, want 2", n)
		}
		if ids := messageIDs(t, srv); !slices.Equal(ids, []string{"<orphan@rathaus.example>"}) {
			t.Errorf("received %v, want only the orphan (the other was finished by the worker it was taken from)", ids)
		}
		if v := metricValue(w.cfg.Metrics.Reclaimed.WithLabelValues("geesthacht")); v != 2 {
			t.Errorf("reclaimed metric %v", v)
		}
		assertEmpty(t, st.Client)
	})
}

type transportFunc func(ctx context.Context, id string, m *gomail.Msg) error

func (f transportFunc) Deliver(ctx context.Context, id string, m *gomail.Msg) error {
	return f(ctx, id, m)
}

// TestWorker_HeaderInjection: names with CR/LF, a quote-and-Bcc trick or
// non-Latin characters add no header and no recipient.
func TestWorker_HeaderInjection(t *testing.T) {
	names := []string{
		"Eve\r\nBcc: evil@example.org",
		`Eve" <evil@example.org>, "Bcc: evil@example.org`,
		"\"Bcc: evil@example.org\r\n\r\nbody",
		"山田 太郎 \u2028Bcc: evil@example.org",
		"Ölçü Ярослава Ǆ",
	}
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		w := newTestWorker(t, st.Client, smtpTransport(t, srv), clock.NewSimulated(time.Unix(0, 0)), "w1")
		for i, name := range names {
			m := testMessage("inj-"+string(rune('a'+i)), KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin))
			m.ToName = name
			m.Office.Name = "Amt\r\nX-Injected: 1"
			enqueue(t, st.Client, m)
		}
		mustExec(t, w)
		got := srv.received()
		if len(got) != len(names) {
			t.Fatalf("received %d", len(got))
		}
		allowed := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version",
			"Reply-To", "Subject", "To", "X-Auto-Response-Suppress"}
		for i, r := range got {
			if !slices.Equal(r.To, []string{"anna@example.org"}) {
				t.Errorf("%q: envelope recipients %v", names[i], r.To)
			}
			m, err := mail.ReadMessage(bytes.NewReader(r.Data))
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range m.Header {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, allowed) {
				t.Errorf("%q: headers %v, want %v", names[i], keys, allowed)
			}
			to, err := m.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != "anna@example.org" || to[0].Name != oneLine(names[i]) {
				t.Errorf("%q: To %v %v", names[i], to, err)
			}
			for k, vs := range m.Header {
				for _, v := range vs {
					if strings.ContainsFunc(v, func(r rune) bool { return r > 0x7e }) {
						t.Errorf("%q: header %s is not RFC 2047 encoded: %q", names[i], k, v)
					}
				}
			}
		}
	})
}

// TestDirTransport: without SMTP each mail is one complete .eml file named after the message.
func TestDirTransport(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		dir := filepath.Join(t.TempDir(), "mail-out")
		w := newTestWorker(t, st.Client, DirTransport{Dir: dir}, clock.NewSimulated(time.Unix(0, 0)), "w1")
		enqueue(t, st.Client, testMessage("m-1", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)),
			testMessage("../../etc/passwd", KindReminder, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		mustExec(t, w)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{safeName("../../etc/passwd") + ".eml", "m-1.eml"}; !slices.Equal(names, want) {
			t.Fatalf("files %v, want %v", names, want)
		}
		b, err := os.ReadFile(filepath.Join(dir, "m-1.eml"))
		if err != nil {
			t.Fatal(err)
		}
		p := parseMail(t, b)
		if p.CalendarMethod != MethodRequest || p.Header.Get("Message-ID") != "<m-1@rathaus.example>" {
			t.Errorf("eml: method %q id %q", p.CalendarMethod, p.Header.Get("Message-ID"))
		}
		assertEmpty(t, st.Client)
	})
}

func BenchmarkBuild(b *testing.B) {
	m, err := NewMailer(testFrom, DirTransport{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	msg := testMessage("m1", KindConfirmation, 1, time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC))
	for b.Loop() {
		gm, err := m.Build(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := gm.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// metricValue reads a counter or gauge.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// TestWorker_StartShutdown runs the worker's own loop: a mail appended while
// it blocks on the stream arrives, and Shutdown ends the loop.
func TestWorker_StartShutdown(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		srv := startSMTP(t)
		w := newTestWorker(t, st.Client, smtpTransport(t, srv), clock.Real{}, "w1")
		w.cfg.Block = 100 * time.Millisecond
		var wg sync.WaitGroup
		w.Start(&wg)
		enqueue(t, st.Client, testMessage("live", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		deadline := time.Now().Add(20 * time.Second)
		for len(srv.received()) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		w.Shutdown()
		w.Shutdown() // twice is harmless
		wg.Wait()
		if ids := messageIDs(t, srv); !slices.Equal(ids, []string{"<live@rathaus.example>"}) {
			t.Errorf("received %v", ids)
		}
		assertEmpty(t, st.Client)
	})
}

// BenchmarkBuildDeliverDir is what the outbox worker does per mail with
// RATHAUS_MAIL_DIR: render, build the MIME message and write it as a file.
func BenchmarkBuildDeliverDir(b *testing.B) {
	tr := DirTransport{Dir: b.TempDir()}
	m, err := NewMailer(testFrom, tr)
	if err != nil {
		b.Fatal(err)
	}
	msg := testMessage("m1", KindConfirmation, 1, time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC))
	for b.Loop() {
		if err := m.Send(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
}
