package booking

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// dayJSON and toDayJSON are how the availability answer was encoded before
// appendAvailabilityJSON: the reference its bytes are compared with.
type dayJSON struct {
	Date      string         `json:"date"`
	Status    string         `json:"status"`
	FreeSlots int            `json:"free_slots"`
	Closure   map[string]any `json:"closure,omitempty"`
}

func toDayJSON(d DayAvailability) dayJSON {
	out := dayJSON{Date: d.Date.String(), Status: d.Status, FreeSlots: d.FreeSlots}
	if d.Closure != nil {
		out.Closure = closureSummary(d.Closure)
	}
	return out
}

// TestAvailabilityJSONMatchesEncodingJSON compares the appended answer with
// encoding/json's encoding of the map gin.H used to be, byte for byte: open,
// full and closed days, holidays, whole-day and partial closures with
// characters that need escaping, and service strings from the query.
func TestAvailabilityJSONMatchesEncodingJSON(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b, o, _ := demoBookings(t, st, time.Date(2021, 9, 10, 10, 0, 0, 0, berlin))
		in := seedClosure()
		in.Title.De = `Umzug <"Rathaus"> & mehr`
		in.Message.En = "Line one\nline two \u2028 \\ é"
		in.Email = ptr("buergerbuero@geesthacht.example")
		if _, err := b.PublishClosure(ctx, o.ID, in, "admin", false); err != nil {
			t.Fatal(err)
		}
		partial := seedClosure()
		partial.From, partial.Until, partial.FromTime, partial.UntilTime = "2021-10-08", "2021-10-08", "09:00", "11:30"
		if _, err := b.PublishClosure(ctx, o.ID, partial, "admin", false); err != nil {
			t.Fatal(err)
		}
		from, to := Date{2021, 9, 1}, Date{2021, 11, 30}
		days, err := b.Availability(ctx, o.ID, "ummeldung", from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, service := range []string{"ummeldung", "", `<script>"x"&`, "dienst\u00e9\u2029\x01", "a\\b", "\xff"} {
			ref := make([]dayJSON, len(days))
			for i, d := range days {
				ref[i] = toDayJSON(d)
			}
			want, err := json.Marshal(map[string]any{"office": o.ID, "service": service, "from": from.String(), "to": to.String(), "days": ref})
			if err != nil {
				t.Fatal(err)
			}
			got := appendAvailabilityJSON(nil, o.ID, service, from, to, days)
			if string(got) != string(want) {
				t.Fatalf("service %q:\n got %s\nwant %s", service, got, want)
			}
		}
	})
}
