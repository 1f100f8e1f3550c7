package main

import (
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
)

// scaleEnv switches off the per-address and per-office rate limits (the
// scale and fault tests send thousands of requests from one loopback address
// on purpose) and gives every replica the same secret, as a deployment of
// several replicas must.
var scaleEnv = []string{"RATHAUS_POW_SECRET", "scale-test-secret-0123456789-abcdefghij",
	"RATHAUS_RATE_READ", "off", "RATHAUS_RATE_BOOK", "off", "RATHAUS_RATE_EMAIL", "off",
	"RATHAUS_RATE_OFFICE", "off", "RATHAUS_RATE_TICKET", "off", "RATHAUS_RATE_LOGIN", "off",
	"RATHAUS_RELEASE_DELAY", "0s", "RATHAUS_RELEASE_WINDOW", "0s"}

// startReplicas starts n servers of rathaus on the Redis at redisURL, all
// with the clock clk and the mail server smtpURL.
func startReplicas(t *testing.T, n int, redisURL, smtpURL string, clk clock.Clock) []*testServer {
	t.Helper()
	env := append([]string{"RATHAUS_REDIS_URL", redisURL, "RATHAUS_SMTP_URL", smtpURL,
		"RATHAUS_ADMIN_PASSWORD", testAdminPassword}, scaleEnv...)
	servers := make([]*testServer, n)
	for i := range servers {
		servers[i] = startTestServerWith(t, testConfig(t, env...), Options{Clock: clk})
	}
	return servers
}

func urlsOf(servers []*testServer) []string {
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.URL
	}
	return urls
}

// TestReplicas runs three servers on one Redis: a booking rush across them
// takes exactly the seats there are, every confirmation and every reminder
// is sent exactly once although three schedulers and three outbox workers
// compete, and every call reaches the display streams of every replica.
func TestReplicas(t *testing.T) {
	redisURL, _ := e2eRedis(t)
	catcher := startMailCatcher(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// Monday 08:50: the office is open for walk-ins, and the reminder of an
	// appointment on Tuesday at 09:00 is due at 09:00 today.
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	servers := startReplicas(t, 3, redisURL, catcher.URL(), clk)
	urls := urlsOf(servers)

	t.Run("BookingRush", func(t *testing.T) {
		counts := rush(t, urls, "2026-12-01T09:00:00+01:00", 1000, 32)
		if counts[201] != 3 || counts[409] != 997 {
			t.Fatalf("answers by status = %v, want exactly 3 × 201 (three seats) and 997 × 409", counts)
		}
	})

	t.Run("ConfirmationsOnce", func(t *testing.T) {
		waitFor(30*time.Second, func() bool { n, _ := catcher.count("-confirmation-"); return n >= 3 })
		if n, dup := catcher.count("-confirmation-"); n != 3 || dup != 1 {
			t.Fatalf("confirmations: %d distinct, max %d deliveries of one; want 3 and 1", n, dup)
		}
	})

	t.Run("DisplayFanOut", func(t *testing.T) { displayFanOut(t, urls) })

	t.Run("ReminderOnce", func(t *testing.T) {
		// The reminders fall due at 09:00. Two further replicas start after
		// that and run the due pass at once, racing the three already running.
		clk.Set(time.Date(2026, 11, 30, 9, 1, 0, 0, berlin))
		more := startReplicas(t, 2, redisURL, catcher.URL(), clk)
		waitFor(60*time.Second, func() bool { n, _ := catcher.count("-reminder-"); return n >= 3 })
		for _, s := range append(servers, more...) {
			if err := s.Stop(); err != nil {
				t.Error(err)
			}
		}
		if n, dup := catcher.count("-reminder-"); n != 3 || dup != 1 {
			t.Fatalf("reminders: %d distinct, max %d deliveries of one; want 3 and 1", n, dup)
		}
	})
}
