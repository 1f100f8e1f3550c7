package queue

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rathaus/rathaus/internal/redistest"
	"github.com/rathaus/rathaus/internal/store"
)

// gathered reads the value of metric name with exactly these labels.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics: tickets drawn and staff actions are counted per office; the
// waiting tickets per service and the open counters are read from Redis when
// scraped, so a second process on the same Redis reports the same.
func TestMetrics(t *testing.T) {
	redistest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, at(t, "2026-10-01 09:00"), nil)
		reg := prometheus.NewRegistry()
		if err := f.svc.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		for _, svc := range []string{"ummeldung", "ummeldung", "pass"} {
			must[*Issued](t)(f.svc.Draw(ctx, "testamt", svc))
		}
		must[*Counter](t)(f.svc.OpenCounter(ctx, "testamt", "1", nil, "erika"))
		called, ok, err := f.svc.CallNext(ctx, "testamt", "1", "erika")
		if err != nil || !ok {
			t.Fatalf("call next: %v %v", ok, err)
		}
		must[*StaffTicket](t)(f.svc.Act(ctx, "testamt", called.Number, ActionNoShow, "", "erika"))

		other := newFixture(t, st, at(t, "2026-10-01 09:00"), nil) // another replica
		reg2 := prometheus.NewRegistry()
		if err := other.svc.RegisterMetrics(reg2); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			reg    *prometheus.Registry
			name   string
			labels map[string]string
			want   float64
		}{
			{reg, "rathaus_queue_tickets_total", map[string]string{"office": "testamt", "kind": "walk_in"}, 3},
			{reg, "rathaus_queue_actions_total", map[string]string{"office": "testamt", "action": "call_next"}, 1},
			{reg, "rathaus_queue_actions_total", map[string]string{"office": "testamt", "action": "no_show"}, 1},
			{reg, "rathaus_queue_waiting", map[string]string{"office": "testamt", "service": "ummeldung"}, 1},
			{reg, "rathaus_queue_waiting", map[string]string{"office": "testamt", "service": "pass"}, 1},
			{reg, "rathaus_queue_waiting", map[string]string{"office": "testamt", "service": "fundsache"}, 0},
			{reg, "rathaus_queue_open_counters", map[string]string{"office": "testamt"}, 1},
			{reg2, "rathaus_queue_waiting", map[string]string{"office": "testamt", "service": "ummeldung"}, 1},
			{reg2, "rathaus_queue_open_counters", map[string]string{"office": "testamt"}, 1},
		} {
			got, found := gathered(t, c.reg, c.name, c.labels)
			if !found || got != c.want {
				t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, found, c.want)
			}
		}
		if n, _ := gathered(t, reg2, "rathaus_queue_tickets_total", map[string]string{"office": "testamt", "kind": "walk_in"}); n != 0 {
			t.Error("the other replica counts tickets it did not issue")
		}
		for _, action := range []string{"call_next", "recall", "finish", "no_show", "park", "unpark", "transfer"} {
			if _, found := gathered(t, reg2, "rathaus_queue_actions_total", map[string]string{"office": "testamt", "action": action}); !found {
				t.Errorf("rathaus_queue_actions_total{action=%q} is not there from the start", action)
			}
		}
	})
}
