package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
	"github.com/rathaus/rathaus/internal/redistest"
)

// TestBackupRestore follows the README's backup and restore steps with real
// redis-servers: a snapshot taken from the running Redis with
// `redis-cli --rdb` (AOF on, as in production) is loaded by a new Redis,
// which then writes its own AOF; rathaus on it has everything booked before
// the snapshot and nothing after it, books on (the seat counts came along),
// and keeps it all across a crash of the new Redis.
func TestBackupRestore(t *testing.T) {
	live := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clk := clock.NewSimulated(time.Date(2026, 11, 30, 8, 50, 0, 0, berlin))
	env := func(redisURL string) []string {
		return append([]string{"RATHAUS_REDIS_URL", redisURL}, scaleEnv...)
	}
	srv := startTestServerWith(t, testConfig(t, env(live.URL())...), Options{Clock: clk})
	book := func(url, start string, i int) (int, bookedResp) {
		t.Helper()
		var b bookedResp
		code, body, err := postJSON(url+"/api/v1/offices/geesthacht/appointments", bookingBody("ummeldung", start, i), &b)
		if err != nil || (code != http.StatusCreated && code != http.StatusConflict) {
			t.Fatalf("booking %s: %d %s %v", start, code, body, err)
		}
		return code, b
	}
	const full = "2026-12-01T09:00:00+01:00"
	var before []bookedResp
	for i := 0; ; i++ { // fill one start, so that the seat counts are part of the backup
		code, b := book(srv.URL, full, i)
		if code == http.StatusConflict {
			break
		}
		before = append(before, b)
	}
	if len(before) == 0 {
		t.Fatal("no seat at all")
	}

	dump := filepath.Join(t.TempDir(), "dump.rdb")
	if out, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strings.TrimPrefix(live.Addr, "127.0.0.1:"), "--rdb", dump).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --rdb: %v\n%s", err, out)
	}
	_, after := book(srv.URL, "2026-12-01T10:00:00+01:00", 100) // after the snapshot: not in it

	restored := redistest.Start(t, "--dir", filepath.Dir(dump), "--dbfilename", "dump.rdb", "--appendfsync", "always")
	rc := restored.Client(t)
	ctx := context.Background()
	if err := rc.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool {
		info, err := rc.Info(ctx, "persistence").Result() // the README's conditions
		return err == nil && strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") &&
			!strings.Contains(info, "aof_rewrites:0\r") && strings.Contains(info, "aof_last_bgrewrite_status:ok")
	}) {
		t.Fatal("the restored Redis did not write its AOF")
	}

	check := func(url string) {
		t.Helper()
		for _, b := range before {
			var got struct{ Appointment struct{ Code, Status string } }
			resp, err := http.Get(url + "/api/v1/appointments/" + b.Token)
			if err != nil {
				t.Fatal(err)
			}
			_ = decodeJSON(resp, &got)
			if resp.StatusCode != 200 || got.Appointment.Code != b.Appointment.Code || got.Appointment.Status != "confirmed" {
				t.Errorf("appointment %s from before the backup: %d %+v", b.Appointment.Code, resp.StatusCode, got)
			}
		}
		resp, err := http.Get(url + "/api/v1/appointments/" + after.Token)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the appointment booked after the snapshot: %d, want 404", resp.StatusCode)
		}
		if code, _ := book(url, full, 200); code != http.StatusConflict {
			t.Errorf("the start that was full at the backup took another booking (%d): the seat counts were not restored", code)
		}
	}
	srv2 := startTestServerWith(t, testConfig(t, env(restored.URL())...), Options{Clock: clk})
	check(srv2.URL)
	code, since := book(srv2.URL, "2026-12-01T11:00:00+01:00", 300)
	if code != http.StatusCreated {
		t.Fatalf("booking on the restored Redis: %d", code)
	}

	// A crash, and the restored Redis started as in production (appendonly
	// yes in its configuration): it loads its own AOF, which holds the
	// backup and what was booked since.
	srv2.Stop()
	restored.Kill()
	final := redistest.Start(t, "--dir", filepath.Dir(dump), "--dbfilename", "dump.rdb", "--appendonly", "yes", "--appendfsync", "always")
	srv3 := startTestServerWith(t, testConfig(t, env(final.URL())...), Options{Clock: clk})
	check(srv3.URL)
	var got struct{ Appointment struct{ Code string } }
	resp, err := http.Get(srv3.URL + "/api/v1/appointments/" + since.Token)
	if err != nil {
		t.Fatal(err)
	}
	_ = decodeJSON(resp, &got)
	if resp.StatusCode != 200 || got.Appointment.Code != since.Appointment.Code {
		t.Errorf("the booking made on the restored Redis is gone after its restart: %d %+v", resp.StatusCode, got)
	}
}

// decodeJSON decodes resp's body into v and closes it.
func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
