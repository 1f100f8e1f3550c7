package main

import (
	"testing"
	"time"

	"github.com/rathaus/rathaus/booking"
)

// TestReplicaProcesses is TestReplicas with three rathaus processes: the
// binary, each an operating-system process of its own with nothing shared
// but the Redis, on the real clock. A booking rush spread over the three takes
// exactly the seats of one start, each of their confirmations is sent exactly
// once although three outbox workers compete, and every call made through any
// of them reaches the display streams of all three. (Reminders, which fall due
// at set times, are raced across replicas by TestReplicas on a simulated
// clock.)
func TestReplicaProcesses(t *testing.T) {
	redisURL, _ := e2eRedis(t)
	catcher := startMailCatcher(t)
	env := childEnv(t, redisURL, catcher.URL())
	bin := buildBinary(t)
	urls := make([]string, 3)
	for i := range urls {
		urls[i] = startChild(t, bin, env).URL
	}

	t.Run("BookingRush", func(t *testing.T) {
		counts := rush(t, urls, tomorrowAt(t, 10), 600, 32)
		if counts[201] != 3 || counts[409] != 597 {
			t.Fatalf("answers by status = %v, want exactly 3 × 201 (three seats) and 597 × 409", counts)
		}
	})

	t.Run("ConfirmationsOnce", func(t *testing.T) {
		waitFor(30*time.Second, func() bool { n, _ := catcher.count("-confirmation-"); return n >= 3 })
		time.Sleep(time.Second) // a second delivery of one would come now
		if n, dup := catcher.count("-confirmation-"); n != 3 || dup != 1 {
			t.Fatalf("confirmations: %d distinct, max %d deliveries of one; want 3 and 1", n, dup)
		}
	})

	t.Run("DisplayFanOut", func(t *testing.T) { displayFanOut(t, urls) })
}

// tomorrowAt is hour:00 tomorrow in Berlin, in RFC 3339.
func tomorrowAt(t *testing.T, hour int) string {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	d := time.Now().In(berlin).AddDate(0, 0, 1)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, berlin).Format(time.RFC3339)
}

// TestAroundTheClockHasNoHolidays: the office of the real-clock tests has no
// public holiday this year or next, so they run on any day.
func TestAroundTheClockHasNoHolidays(t *testing.T) {
	offices, err := booking.ParseOffices("around.yaml", []byte(aroundTheClock()))
	if err != nil {
		t.Fatal(err)
	}
	y := time.Now().Year()
	if c := offices[0].HolidayClosures(booking.Date{Y: y, M: 1, D: 1}, booking.Date{Y: y + 1, M: 12, D: 31}); len(c) != 0 {
		t.Fatalf("closed on %d public holidays, the first %s", len(c), c[0].From)
	}
}
