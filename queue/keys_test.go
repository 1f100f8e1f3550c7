package queue

import "testing"

func TestKeys(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"meta", metaKey("geesthacht", "2026-10-01"), "rathaus:{geesthacht}:q:2026-10-01:meta"},
		{"tickets", ticketsKey("geesthacht", "2026-10-01"), "rathaus:{geesthacht}:q:2026-10-01:tickets"},
		{"tokens", tokensKey("geesthacht", "2026-10-01"), "rathaus:{geesthacht}:q:2026-10-01:tokens"},
		{"appt", apptQueueKey("geesthacht", "2026-10-01", "ummeldung"), "rathaus:{geesthacht}:q:2026-10-01:appt:ummeldung"},
		{"walk", walkQueueKey("geesthacht", "2026-10-01", "ummeldung"), "rathaus:{geesthacht}:q:2026-10-01:walk:ummeldung"},
		{"counters", countersKey("geesthacht"), "rathaus:{geesthacht}:q:counters"},
		{"calls", callsKey("geesthacht"), "rathaus:{geesthacht}:q:calls"},
		{"service times", serviceTimesKey("geesthacht"), "rathaus:{geesthacht}:q:service_times"},
		{"other office", walkQueueKey("ratzeburg", "2027-01-02", "a"), "rathaus:{ratzeburg}:q:2027-01-02:walk:a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
