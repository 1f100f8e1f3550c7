package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/booking"
	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/notify"
)

// dumpAll returns every key of rdb with everything it holds as text,
// streams included.
func dumpAll(t *testing.T, rdb redis.UniversalClient) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := redistest.Keys(ctx, rdb, "*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ, _ := rdb.Type(ctx, k).Result()
		var parts []string
		switch typ {
		case "string":
			v, _ := rdb.Get(ctx, k).Result()
			parts = append(parts, v)
		case "hash":
			m, _ := rdb.HGetAll(ctx, k).Result()
			for f, v := range m {
				parts = append(parts, f+"="+v)
			}
			slices.Sort(parts)
		case "zset":
			v, _ := rdb.ZRange(ctx, k, 0, -1).Result()
			parts = append(parts, v...)
		case "set":
			v, _ := rdb.SMembers(ctx, k).Result()
			parts = append(parts, v...)
		case "list":
			v, _ := rdb.LRange(ctx, k, 0, -1).Result()
			parts = append(parts, v...)
		case "stream":
			msgs, _ := rdb.XRange(ctx, k, "-", "+").Result()
			for _, m := range msgs {
				var fields []string
				for f, v := range m.Values {
					fields = append(fields, f+"="+v.(string))
				}
				slices.Sort(fields)
				parts = append(parts, m.ID+" "+strings.Join(fields, " "))
			}
		default:
			t.Fatalf("key %s has type %s, which the dump does not read", k, typ)
		}
		out[k] = strings.Join(parts, "\n")
	}
	return out
}

// TestPrivacyEndToEnd: a citizen downloads and erases their data; after the
// retention period (booking.Forget and notify.TrimDeadLetters, as the
// nightly job runs them) no key in Redis, streams included, holds a name, an
// e-mail address, a phone number or an appointment code — with the mail
// worker running, so that the outbox is drained as in production, and with a
// check-in that made a ticket of an appointment.
func TestPrivacyEndToEnd(t *testing.T) {
	url, rdb := e2eRedis(t)
	clk := hardenedClock(t)
	s := startTestServerWith(t, testConfig(t, "RATHAUS_REDIS_URL", url, "RATHAUS_ADMIN_PASSWORD", "admin-passwort-123"), Options{Clock: clk})
	people := []struct{ name, email, phone, start string }{
		{"Ida Erasmus", "ida.erasmus@example.org", "0160 1111111", tuesday9},
		{"Kurt Cancelmann", "kurt.cancel@example.org", "0160 2222222", "2026-12-01T09:30:00+01:00"},
		{"Lotte Kommtvorbei", "lotte.kommt@example.org", "0160 3333333", "2026-12-01T10:00:00+01:00"},
	}
	var booked []bookedJSON
	for _, p := range people {
		var b bookedJSON
		s.API.Post(t, "/api/v1/offices/geesthacht/appointments", map[string]any{"service": "ummeldung", "start": p.start,
			"name": p.name, "email": p.email, "phone": p.phone}).Want(t, 201).Decode(t, &b)
		booked = append(booked, b)
	}
	// The confirmations go out before the erasure: a mail still waiting when
	// its appointment is erased is dropped (it is written from the record).
	waitForMails(t, s.Config.MailDir, 3)
	var export struct {
		Appointment map[string]string
		DeleteAfter time.Time `json:"delete_after"`
	}
	s.API.Get(t, "/api/v1/appointments/"+booked[0].Token+"/data").Want(t, 200).Decode(t, &export)
	if export.Appointment["name"] != people[0].name || export.Appointment["email"] != people[0].email || export.Appointment["phone"] != people[0].phone {
		t.Fatalf("export = %+v", export)
	}
	s.API.Delete(t, "/api/v1/appointments/"+booked[0].Token+"/data").Want(t, 200)
	s.API.Get(t, "/api/v1/appointments/"+booked[0].Token).WantError(t, 404, "appointment_not_found")
	s.API.Delete(t, "/api/v1/appointments/"+booked[1].Token).Want(t, 200)

	clk.Set(time.Date(2026, 12, 1, 9, 50, 0, 0, clk.Now().Location()))
	s.API.Post(t, "/api/v1/offices/geesthacht/checkins", map[string]any{"code": booked[2].Appointment.Code}).Want(t, 201)

	// 3 confirmations, 2 cancellations; the reminders were due at once (the
	// day before) or are deleted with their appointments.
	waitForMails(t, s.Config.MailDir, 5)
	waitDrained(t, rdb, notify.OutboxKey("geesthacht"))

	ctx := context.Background()
	b := booking.NewBookings(booking.NewDirectory(booking.DemoOffices()), rdb, clk, "http://localhost", testLogger())
	later := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).Add(15 * 24 * time.Hour)
	if n, err := b.Forget(ctx, "geesthacht", later); err != nil || n != 2 {
		t.Fatalf("Forget = %d, %v; want the 2 appointments left", n, err)
	}
	if err := notify.TrimDeadLetters(ctx, rdb, "geesthacht", later.Add(-14*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	dump := dumpAll(t, rdb)
	if len(dump) < 5 {
		t.Fatalf("only %d keys: the dump would prove nothing", len(dump))
	}
	for k, v := range dump {
		for i, p := range people {
			for _, secret := range []string{p.name, p.email, p.phone, booked[i].Appointment.Code, booked[i].Token} {
				if strings.Contains(v, secret) || strings.Contains(k, secret) {
					t.Errorf("key %s still holds %q after the retention period", k, secret)
				}
			}
		}
	}
}

// waitDrained waits until the outbox stream is empty (every mail sent and
// deleted) and has no pending entries.
func waitDrained(t *testing.T, rdb redis.UniversalClient, key string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := rdb.XLen(context.Background(), key).Result()
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %s still holds %d entries after 20 s (%v)", key, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
