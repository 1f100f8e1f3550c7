package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// TestEndToEndOnClusterAndSentinel walks the state changes of every domain
// through the whole server on a 3-master Redis Cluster and on a Sentinel
// set-up: booking, reschedule, cancel, a closure over a booked day, a walk-in
// ticket called with its display event, and the outbox mail. On the cluster
// any script over two slots would fail with CROSSSLOT (a 500 here).
func TestEndToEndOnClusterAndSentinel(t *testing.T) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"cluster", func(t *testing.T) string { return redistest.SharedCluster(t).URL() }},
		{"sentinel", func(t *testing.T) string { return redistest.SharedSentinel(t).URL() }},
	} {
		t.Run(b.name, func(t *testing.T) {
			berlin, _ := time.LoadLocation("Europe/Berlin")
			clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
			catcher := startMailCatcher(t)
			srv := startReplicas(t, 1, b.url(t), catcher.URL(), clk)[0]
			walkThrough(t, srv.URL, catcher)
		})
	}
}

func walkThrough(t *testing.T, url string, catcher *mailCatcher) {
	t.Helper()
	office := url + "/api/v1/offices/geesthacht"
	// Each run books its own start, so that the shared deployment needs no flush.
	start := fmt.Sprintf("2026-12-%02dT%02d:%02d:00+01:00", 1+time.Now().Nanosecond()%4, 8+time.Now().Nanosecond()%3, 15*(time.Now().Nanosecond()%4))
	var b bookedResp
	want := func(step string, code int, err error, wantCode int) {
		t.Helper()
		if err != nil || code != wantCode {
			t.Fatalf("%s: status %d, %v; want %d", step, code, err, wantCode)
		}
	}
	code, _, err := postJSON(office+"/appointments", bookingBody("ummeldung", start, time.Now().Nanosecond()), &b)
	want("book", code, err, http.StatusCreated)
	want("read", getStatus(t, url+"/api/v1/appointments/"+b.Token), nil, http.StatusOK)
	code, _, err = postJSON(url+"/api/v1/appointments/"+b.Token+"/reschedule", map[string]any{"start": "2026-12-07T11:30:00+01:00"}, nil)
	want("reschedule", code, err, http.StatusOK)

	token := login(t, url)
	auth := []string{"Authorization", "Bearer " + token}
	code, _, err = postJSON(url+"/api/v1/admin/offices/geesthacht/closures", map[string]any{"from": "2026-12-07", "until": "2026-12-07",
		"title": "Betriebsausflug", "message": "Morgen wieder für Sie da."}, nil, auth...)
	want("closure over the booked day", code, err, http.StatusCreated)
	var appt struct{ Appointment struct{ Status string } }
	if getJSON(t, url+"/api/v1/appointments/"+b.Token, &appt) != 200 || appt.Appointment.Status != "cancelled" {
		t.Fatalf("the closure did not cancel the appointment: %+v", appt)
	}

	stream := openStream(t, url)
	code, _, err = postJSON(office+"/tickets", map[string]any{"service": "fundsache"}, nil)
	want("ticket", code, err, http.StatusCreated)
	_, _, _ = postJSON(url+"/api/v1/staff/offices/geesthacht/counters/2/open", nil, nil, auth...)
	var called struct{ Ticket struct{ Number string } }
	code, _, err = postJSON(url+"/api/v1/staff/offices/geesthacht/counters/2/call-next", nil, &called, auth...)
	want("call-next", code, err, http.StatusOK)
	for range 100 { // the stream may first replay earlier calls of the shared deployment
		n, err := stream.nextCalled()
		if err != nil {
			t.Fatalf("display stream: %v", err)
		}
		if n == called.Ticket.Number {
			break
		}
	}
	_, _, _ = postJSON(url+"/api/v1/staff/offices/geesthacht/tickets/"+called.Ticket.Number+"/finish", nil, nil, auth...)
	if !waitFor(30*time.Second, func() bool { n, _ := catcher.count("-confirmation-"); return n >= 1 }) {
		t.Fatal("no confirmation mail was sent")
	}
}
