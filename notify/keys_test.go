package notify

import "testing"

func TestKeys(t *testing.T) {
	tests := []struct{ got, want string }{
		{OutboxKey("geesthacht"), "rathaus:{geesthacht}:outbox"},
		{DeadLetterKey("geesthacht"), "rathaus:{geesthacht}:outbox:dead"},
		{RetryKey("geesthacht"), "rathaus:{geesthacht}:outbox:retry"},
		{SchedLockKey("reminders:geesthacht", "20261025T0230"), "rathaus:{sched:reminders:geesthacht}:lock:20261025T0230"},
		{SchedLastKey("reminders:geesthacht"), "rathaus:{sched:reminders:geesthacht}:last"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
