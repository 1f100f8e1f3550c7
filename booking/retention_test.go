package booking

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// TestForget books, lets the retention period pass and checks that no key
// but the outbox (which the mail worker drains) still holds the name, the
// address or the code; a younger appointment is kept.
func TestForget(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "")
		old, err := b.Book(ctx, o.ID, BookRequest{Service: "short", Start: slot, Name: "Zacharias Vergessen", Email: "zacharias@example.org", Phone: "0151 999"}, "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		young, err := b.Book(ctx, o.ID, BookRequest{Service: "short", Start: "2026-10-14T09:00:00+02:00", Name: "Bleibt Hier", Email: "bleibt@example.org"}, "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(old.Appointment.End.Add(time.Duration(o.RetentionDays)*24*time.Hour + time.Minute))
		n, err := b.Forget(ctx, o.ID, clk.Now())
		if err != nil || n != 1 {
			t.Fatalf("Forget = %d, %v", n, err)
		}
		if _, _, err := b.Get(ctx, old.Token); codeOf(err) != "appointment_not_found" {
			t.Fatalf("old appointment still there: %v", err)
		}
		if a, _, err := b.Get(ctx, young.Token); err != nil || a.Name != "Bleibt Hier" {
			t.Fatalf("young appointment: %+v, %v", a, err)
		}
		assertForgotten(t, st, notify.OutboxKey(o.ID), "Zacharias", "zacharias@example.org", "0151 999", old.Appointment.Code, old.Appointment.ID)
		// Once the emptied day lies wholly behind the retention period, its
		// booking count goes too; the young appointment's day keeps its own.
		day := old.Appointment.Date.String()
		if ok, err := st.Client.HExists(ctx, dayVerKey(o.ID), day).Result(); err != nil || !ok {
			t.Fatalf("booking count of %s before the day is wholly past: %v, %v", day, ok, err)
		}
		clk.Set(old.Appointment.Date.AddDays(1).Midnight(o.Location).Add(time.Duration(o.RetentionDays)*24*time.Hour + time.Minute))
		if n, err := b.Forget(ctx, o.ID, clk.Now()); err != nil || n != 0 {
			t.Fatalf("second Forget = %d, %v", n, err)
		}
		if ok, err := st.Client.HExists(ctx, dayVerKey(o.ID), day).Result(); err != nil || ok {
			t.Fatalf("booking count of the emptied day %s still kept: %v, %v", day, ok, err)
		}
		youngDay := young.Appointment.Date.String()
		if ok, err := st.Client.HExists(ctx, dayVerKey(o.ID), youngDay).Result(); err != nil || !ok {
			t.Fatalf("booking count of %s (young appointment) gone: %v, %v", youngDay, ok, err)
		}
	})
}

// assertForgotten fails for every key (but skip, the outbox the mail worker
// drains) that still holds one of secrets.
func assertForgotten(t *testing.T, st *store.Store, skip string, secrets ...string) {
	t.Helper()
	keys, err := redistest.Keys(context.Background(), st.Client, "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k == skip {
			continue
		}
		dump := dumpKey(t, st, k)
		for _, secret := range secrets {
			if strings.Contains(dump, secret) {
				t.Errorf("key %s still holds %q", k, secret)
			}
		}
	}
}

// dumpKey returns everything a key holds as text.
func dumpKey(t *testing.T, st *store.Store, k string) string {
	t.Helper()
	ctx := context.Background()
	typ, _ := st.Client.Type(ctx, k).Result()
	var parts []string
	switch typ {
	case "string":
		v, _ := st.Client.Get(ctx, k).Result()
		parts = append(parts, v)
	case "hash":
		m, _ := st.Client.HGetAll(ctx, k).Result()
		for f, v := range m {
			parts = append(parts, f, v)
		}
	case "zset":
		v, _ := st.Client.ZRange(ctx, k, 0, -1).Result()
		parts = append(parts, v...)
	case "set":
		v, _ := st.Client.SMembers(ctx, k).Result()
		parts = append(parts, v...)
	case "stream":
		msgs, _ := st.Client.XRange(ctx, k, "-", "+").Result()
		for _, m := range msgs {
			for f, v := range m.Values {
				parts = append(parts, f, v.(string))
			}
		}
	}
	return strings.Join(parts, "\n")
}
