package booking

import (
	"context"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// TestRecordFields: whatever happens to an appointment, its record holds
// only the fields of the table in appointment.go (a script that wrote a
// field by another name would go unread), and reading it back gives the
// appointment that was booked.
func TestRecordFields(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, clk := newBookings(t, st, "    confirm_by_email: true\n")
		r := req("anna@example.org", slot)
		r.Phone = "04152 130"
		bk, err := b.Book(ctx, o.ID, r, "en", &Idempotency{KeyHash: "k1", Response: func(Booked) []byte { return []byte("{}") }})
		if err != nil {
			t.Fatal(err)
		}
		check := func(step string) Appointment {
			t.Helper()
			m, err := st.Client.HGetAll(ctx, apptKey(o.ID, bk.Appointment.ID)).Result()
			if err != nil {
				t.Fatal(err)
			}
			for k := range m {
				if _, ok := recordNames[k]; !ok {
					t.Errorf("after %s: unknown field %q in the record", step, k)
				}
			}
			a, _, err := b.Get(ctx, bk.Token)
			if err != nil {
				t.Fatalf("after %s: %v", step, err)
			}
			return a
		}
		a := check("booking")
		want := bk.Appointment
		if a.Code != want.Code || a.Name != "Anna Muster" || a.Email != "anna@example.org" || a.Phone != "04152 130" ||
			a.Locale != "en" || a.Status != StatusUnverified || !a.Start.Equal(want.Start) || !a.End.Equal(want.End) ||
			a.Unit != want.Unit || a.Units != want.Units || a.Date != want.Date || a.Token != bk.Token ||
			a.Created.Unix() != clk.Now().Unix() || !a.Changed.Equal(a.Created) || a.VerifyBy.IsZero() || a.IdemKey != "k1" {
			t.Fatalf("read back %+v, booked %+v", a, want)
		}
		if _, err := b.Confirm(ctx, bk.Token); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		if _, err := b.Reschedule(ctx, bk.Token, "2026-10-05T10:00:00+02:00"); err != nil {
			t.Fatal(err)
		}
		if a := check("move"); a.Changed.Unix() != clk.Now().Unix() || a.Seq != 1 || a.Start.Hour() != 10 || !a.VerifyBy.IsZero() {
			t.Fatalf("after move %+v", a)
		}
		if err := b.MarkCheckedIn(ctx, o.ID, bk.Appointment.ID, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Cancel(ctx, bk.Token); err != nil {
			t.Fatal(err)
		}
		if a := check("cancel"); a.Status != StatusCancelled || a.CancelReason != "citizen" || a.CheckedIn.IsZero() {
			t.Fatalf("after cancel %+v", a)
		}
		data, err := b.Export(ctx, bk.Token)
		if err != nil {
			t.Fatal(err)
		}
		if data.Appointment["name"] != "Anna Muster" || data.Appointment["token"] != bk.Token ||
			data.Appointment["start"] != "2026-10-05T10:00:00+02:00" || data.Appointment["status"] != StatusCancelled {
			t.Errorf("export %v", data.Appointment)
		}
	})
}
