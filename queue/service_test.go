package queue

import (
	"context"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

func TestDraw(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, at(t, "2026-10-01 09:00"), nil)
		var got []string
		for _, svc := range []string{"ummeldung", "ummeldung", "pass", "ummeldung"} {
			iss, err := f.svc.Draw(ctx, "testamt", svc)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, iss.Ticket.Number)
		}
		want := []string{"A001", "A002", "B001", "A003"}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("numbers %v, want %v", got, want)
			}
		}
		t.Run("PositionAndEstimate", func(t *testing.T) {
			iss, err := f.svc.Draw(ctx, "testamt", "ummeldung")
			if err != nil {
				t.Fatal(err)
			}
			// three ummeldung tickets ahead, 15 minutes each, no counter open (counted as one)
			if iss.Ticket.Position != 4 || iss.Ticket.EstimatedWaitMinutes != 45 || iss.Ticket.Status != StatusWaiting {
				t.Fatalf("ticket %+v, want position 4, 45 minutes, waiting", iss.Ticket)
			}
			v, office, err := f.svc.Status(ctx, iss.Token)
			if err != nil || office != "testamt" || *v != iss.Ticket {
				t.Fatalf("Status = %+v %q %v, want %+v", v, office, err, iss.Ticket)
			}
		})
		t.Run("ErrQuotaReached", func(t *testing.T) {
			for range 2 {
				if _, err := f.svc.Draw(ctx, "testamt", "fundsache"); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.svc.Draw(ctx, "testamt", "fundsache")
			wantCode(t, err, "quota_reached")
			// other services are not affected
			if _, err := f.svc.Draw(ctx, "testamt", "pass"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("ErrUnknownService", func(t *testing.T) {
			_, err := f.svc.Draw(ctx, "testamt", "nope")
			wantCode(t, err, "unknown_service")
		})
		t.Run("ErrTokenNotFound", func(t *testing.T) {
			_, _, err := f.svc.Status(ctx, "testamt.20261001.AAAAAAAAAAAAAAAAAAAAAA")
			wantCode(t, err, "ticket_not_found")
		})
	})
}

func TestDrawRefused(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t.Run("ErrNotOpen", func(t *testing.T) {
			f := newFixture(t, st, at(t, "2026-10-05 07:30"), nil)
			f.office.Hours[time.Monday] = f.office.Hours[time.Monday][:0]
			f.office.Hours[time.Monday] = append(f.office.Hours[time.Monday], hours(8*60, 12*60))
			_, err := f.svc.Draw(ctx, "testamt", "ummeldung")
			wantCode(t, err, "office_not_open")
		})
		t.Run("ErrClosed", func(t *testing.T) {
			closure := &Closure{ID: "c1", From: "2026-10-01", Until: "2026-10-02", Title: "Betriebsausflug", Message: "Heute geschlossen."}
			f := newFixture(t, st, at(t, "2026-10-01 09:00"), func(c *Config) { c.Closures = fixedClosure{closure} })
			_, err := f.svc.Draw(ctx, "testamt", "ummeldung")
			wantCode(t, err, "office_closed")
			d, err := f.svc.Display(ctx, "testamt", "de")
			if err != nil || d.Closure == nil || d.Closure.Message != "Heute geschlossen." {
				t.Fatalf("display closure = %+v, %v", d, err)
			}
		})
		t.Run("ErrOfficeNotFound", func(t *testing.T) {
			f := newFixture(t, st, at(t, "2026-10-01 09:00"), nil)
			_, err := f.svc.Draw(ctx, "nirgendwo", "ummeldung")
			wantCode(t, err, "office_not_found")
		})
	})
}

// TestNumbersRestartAtLocalMidnightDST draws tickets across the local
// midnights around both DST changes of 2026 in Europe/Berlin.
func TestNumbersRestartAtLocalMidnightDST(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, time.Time{}, nil)
		steps := []struct {
			utc  string
			want string
		}{
			{"2026-03-28T22:59:00Z", "A001"}, // Sat 23:59 CET
			{"2026-03-28T23:00:00Z", "A001"}, // Sun 00:00 CET: new day (23 hours long)
			{"2026-03-29T00:59:00Z", "A002"}, // 01:59 CET
			{"2026-03-29T01:00:00Z", "A003"}, // 03:00 CEST, right after the gap
			{"2026-03-29T21:59:00Z", "A004"}, // 23:59 CEST
			{"2026-03-29T22:00:00Z", "A001"}, // Mon 00:00 CEST
			{"2026-10-24T22:00:00Z", "A001"}, // Sun 00:00 CEST (25 hours long)
			{"2026-10-25T00:30:00Z", "A002"}, // 02:30 CEST
			{"2026-10-25T01:30:00Z", "A003"}, // 02:30 CET, the same local time again: no repeat
			{"2026-10-25T22:59:00Z", "A004"}, // 23:59 CET
			{"2026-10-25T23:00:00Z", "A001"}, // Mon 00:00 CET
		}
		for _, s := range steps {
			ts, _ := time.Parse(time.RFC3339, s.utc)
			f.clock.Set(ts)
			iss, err := f.svc.Draw(ctx, "testamt", "ummeldung")
			if err != nil {
				t.Fatal(err)
			}
			if iss.Ticket.Number != s.want {
				t.Errorf("at %s (local %s): %s, want %s", s.utc, ts.In(f.office.Location).Format("2006-01-02 15:04 MST"),
					iss.Ticket.Number, s.want)
			}
		}
	})
}
