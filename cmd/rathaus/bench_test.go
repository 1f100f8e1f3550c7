package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rathaus/rathaus/internal/redistest"
)

// TestBenchCommand runs a small "rathaus bench" on a real redis-server (the
// embedded store is too slow for a rush under -race): the
// scenarios run, the rush books exactly its 100 seats and every ticket is
// called once. It checks outcomes, never speed.
func TestBenchCommand(t *testing.T) {
	redis := redistest.Start(t)
	var out, errOut bytes.Buffer
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	code := run([]string{"bench", "--quiet", "--duration", "300ms", "--rush-clients", "300", "--queue-tickets", "500",
		"--ticket-pages", "60", "--json-out", jsonPath,
		"--scenarios", "baseline-get,baseline-evalsha,booking,booking-paced,availability,mixed,rush,queue,fanout,pages"},
		func(k string) string { return map[string]string{"RATHAUS_REDIS_URL": redis.URL()}[k] }, nil, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"baseline-gin-get", "baseline-evalsha-book", "availability-8w", "mixed-citizens",
		"OK   booked = capacity: 100 = 100, 5xx: 0", "OK   called once each: 500 tickets", "% of adjacent baseline-gin-get",
		"[CPU µs/req: ",
		"booking-paced", "half the closed loop's rate", "OK   every waiting page moved up by every call: 40 of 40",
		"OK   every display got every call: 1000 of 1000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
	// Every single-line scenario reports its CPU per request, Redis's too.
	for _, l := range strings.Split(out.String(), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !slices.Contains([]string{"baseline-gin-get", "booking", "availability-8w", "mixed-citizens"}, f[0]) {
			continue
		}
		here, redis, ok := cpuFigures(l)
		if !ok || here <= 0 || redis <= 0 {
			t.Errorf("line %q: no CPU per request of this process and of Redis", l)
		}
	}
	checkBenchJSON(t, jsonPath)
}

// benchJSON is what --json and --json-out write.
type benchJSON struct {
	Machine string `json:"machine"`
	Results []struct {
		Name     string  `json:"name"`
		Requests int     `json:"requests"`
		RPS      float64 `json:"rps"`
		P99      float64 `json:"p99_ms"`
		Check    string  `json:"check"`
		CheckOK  *bool   `json:"check_ok"`
		Ratio    float64 `json:"ratio"`
		RatioTo  string  `json:"ratio_to"`
	} `json:"results"`
}

// checkBenchJSON reads the JSON a bench wrote next to its table: the same
// lines, with their checks passed and the booking's ratio to its baseline.
func checkBenchJSON(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc benchJSON
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("--json-out: %v\n%s", err, raw)
	}
	if !strings.Contains(doc.Machine, "CPUs") {
		t.Errorf("machine %q", doc.Machine)
	}
	seen := map[string]bool{}
	for _, r := range doc.Results {
		seen[r.Name] = true
		if r.CheckOK != nil && !*r.CheckOK {
			t.Errorf("%s: check failed in the JSON: %s", r.Name, r.Check)
		}
		if r.Name == "booking" && (r.RatioTo != "adjacent baseline-gin-get" || r.Ratio <= 0 || r.RPS <= 0 || r.P99 <= 0) {
			t.Errorf("booking in the JSON: %+v", r)
		}
	}
	for _, want := range []string{"baseline-gin-get", "baseline-evalsha-book", "booking", "booking-rush", "call-next-10-counters", "sse-fanout-1000"} {
		if !seen[want] {
			t.Errorf("the JSON lacks %s: %s", want, raw)
		}
	}
}

// cpuFigures reads "[CPU µs/req: 57 here, 12 Redis]" from a table line.
func cpuFigures(line string) (here, redis float64, ok bool) {
	_, rest, found := strings.Cut(line, "[CPU µs/req: ")
	if !found {
		return 0, 0, false
	}
	n, err := fmt.Sscanf(rest, "%g here, %g Redis]", &here, &redis)
	return here, redis, err == nil && n == 2
}

// TestBenchMemory runs the memory scenario at its smallest stage: tickets,
// then 1,000 bookings spread over the 43 city offices (reported with their
// rate), Redis memory per appointment and availability after the stage.
func TestBenchMemory(t *testing.T) {
	redis := redistest.Start(t)
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--quiet", "--duration", "300ms", "--scenarios", "memory", "--memory-appointments", "1000"},
		func(k string) string { return map[string]string{"RATHAUS_REDIS_URL": redis.URL()}[k] }, nil, &out, &errOut)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"B of Redis per ticket", "booking-43-offices@1k", "the bookings of this stage",
		"availability-8w@1k", "B of Redis per appointment (≤ 600) over 1000", "queued mails left the outbox within"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}
