package booking

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// TestExportAndErase: the export holds the stored record; erasing cancels,
// deletes the record and every index entry at once (only the outbox, which
// the mail worker drains, still carries the cancellation mail), and the
// token stops working.
func TestExportAndErase(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := newBookings(t, st, "")
		idem := &Idempotency{KeyHash: HashKey([]byte("key-1")), Response: bookedBody}
		bk, err := b.Book(ctx, o.ID, BookRequest{Service: "short", Start: slot, Name: "Erika Löschmich", Email: "erika@example.org", Phone: "0170 1234"}, "de", idem)
		if err != nil {
			t.Fatal(err)
		}
		// A confirmation that could not be delivered, and one waiting for its next try, as the mail worker leaves them.
		undeliverable := `{"id":"` + bk.Appointment.ID + `-confirmation-0","to":"erika@example.org","to_name":"Erika Löschmich"}`
		st.Client.XAdd(ctx, &redis.XAddArgs{Stream: notify.DeadLetterKey(o.ID), Values: []string{"msg", undeliverable, "error", "550 erika@example.org unknown"}})
		st.Client.ZAdd(ctx, notify.RetryKey(o.ID), redis.Z{Score: 1, Member: "2:" + undeliverable})
		st.Client.XAdd(ctx, &redis.XAddArgs{Stream: notify.DeadLetterKey(o.ID), Values: []string{"msg", `{"id":"other-confirmation-0","to":"x@example.org"}`}})
		d, err := b.Export(ctx, bk.Token)
		if err != nil {
			t.Fatal(err)
		}
		if d.Appointment["name"] != "Erika Löschmich" || d.Appointment["email"] != "erika@example.org" || d.Appointment["phone"] != "0170 1234" ||
			!d.DeleteAfter.After(bk.Appointment.End) {
			t.Fatalf("export = %+v", d)
		}
		if err := b.Erase(ctx, bk.Token); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.Get(ctx, bk.Token); codeOf(err) != "appointment_not_found" {
			t.Fatalf("Get after erase: %v", err)
		}
		if _, err := b.Export(ctx, bk.Token); codeOf(err) != "appointment_not_found" {
			t.Fatalf("Export after erase: %v", err)
		}
		if err := b.Erase(ctx, bk.Token); codeOf(err) != "appointment_not_found" {
			t.Fatalf("second erase: %v", err)
		}
		assertCap(t, st, o, Date{2026, 10, 5}, 54, 0)
		assertForgotten(t, st, notify.OutboxKey(o.ID), "Löschmich", "erika@example.org", "0170 1234", bk.Appointment.Code, bk.Appointment.ID)
		if n, _ := st.Client.XLen(ctx, notify.DeadLetterKey(o.ID)).Result(); n != 1 {
			t.Fatalf("%d dead letters left, want only the other citizen's", n)
		}
		if got := outboxKinds(t, st.Client, o.ID); len(got) != 2 || got[1] != notify.KindCancellation {
			t.Fatalf("outbox = %v, want confirmation and cancellation", got)
		}
	})
}

// TestNameCannotChange: a move keeps the name; nothing in the service
// changes a name (there is no method for it, and the HTTP side has no
// PATCH or PUT on an appointment: see cmd/rathaus's hardening tests).
func TestNameCannotChange(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := newBookings(t, st, "")
		bk, err := b.Book(ctx, o.ID, req("name@example.org", slot), "de", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Reschedule(ctx, bk.Token, "2026-10-05T10:00:00+02:00"); err != nil {
			t.Fatal(err)
		}
		a, _, err := b.Get(ctx, bk.Token)
		if err != nil || a.Name != "Anna Muster" || a.Email != "name@example.org" {
			t.Fatalf("after the move: %+v, %v", a, err)
		}
	})
}
