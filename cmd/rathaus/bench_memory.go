package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// benchMemory draws 1,000 tickets and measures memory per ticket; then it
// books appointments in stages (1,000, 10,000, 100,000 … up to
// --memory-appointments) and after each stage measures Redis memory per
// appointment and the availability of 8 weeks, so that the table shows how
// cost grows with the number of appointments. It needs a real Redis (INFO memory) and is
// meant for a fresh one.
func (b *bench) benchMemory(ctx context.Context) ([]benchResult, error) {
	if b.st.Embedded {
		return []benchResult{{Name: "memory", Note: "needs a real Redis: give --redis-url"}}, nil
	}
	// Tickets first, while no outbox worker is busy sending, once the
	// server's workers have created their streams.
	time.Sleep(3 * time.Second)
	ticketsBefore, err := b.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	draw := b.drawTickets(ctx, "ticket-draw-1000", 1000)
	time.Sleep(time.Second) // the tickets' events are written
	after, err := b.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	draw.Note = fmt.Sprintf("%.0f B of Redis per ticket", float64(after-ticketsBefore)/float64(max(draw.Requests-draw.Errors, 1)))
	before, err := b.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	var out []benchResult
	booked, i := 0, 0
	for _, level := range []int{1000, 10000, 100000, 1000000} {
		if level > b.memoryN {
			break
		}
		var fill benchResult
		booked, fill = b.fill(ctx, booked, level, &i)
		// Measured at once: the confirmations are still queued (as after a
		// rush), so the figure includes the outbox entries.
		used, err := b.usedMemory(ctx)
		if err != nil {
			return nil, err
		}
		backlog := b.outboxBacklog(ctx)
		per := float64(used-before) / float64(booked)
		url := b.availabilityURL(56)
		if !b.memoryDense {
			url = strings.Replace(url, "/offices/bench/", "/offices/city01/", 1)
		}
		r := runLoad(ctx, loadSpec{name: fmt.Sprintf("availability-8w@%dk", level/1000), conns: b.conns, dur: b.dur,
			do: func(ctx context.Context, _ int) error { return b.get(ctx, url, http.StatusOK) }}, b.prog)
		r.check(per <= 600, "%.0f B of Redis per appointment (≤ 600) over %d, %d mails still queued", per, booked, backlog)
		fill.Note = fmt.Sprintf("the bookings of this stage, %d connections; %d mails queued at its end", b.conns, backlog)
		out = append(out, fill, r)
	}
	// How long the queued confirmations take once the load has stopped.
	if queued := b.outboxBacklog(ctx); queued > 0 {
		waited := b.quiesce(ctx)
		left := b.outboxBacklog(ctx)
		gone := queued - left // sent, or (none expected here) moved to a retry or the dead letters
		out = append(out, benchResult{Name: "outbox-drain", Note: fmt.Sprintf("%d of %d queued mails left the outbox within %.1f s after the last stage (%.0f a second; polled every 0.2 s), %d left",
			gone, queued, waited.Seconds(), float64(gone)/max(waited.Seconds(), 0.001), left)})
	}
	return append([]benchResult{draw}, out...), nil
}

// cityOffices is how many offices the memory scenario spreads its
// appointments over: Berlin's 43 Bürgerämter.
const cityOffices = 43

// allBenchOffices is the offices YAML of the bench: benchOffices and the
// city offices "city01"… of the memory scenario (8 counters around the clock).
func allBenchOffices() string {
	var sb strings.Builder
	sb.WriteString(benchOffices)
	for k := 1; k <= cityOffices; k++ {
		sb.WriteString(benchOfficeYAML(fmt.Sprintf("city%02d", k), fmt.Sprintf("Bürgeramt %d", k), counterList(8)))
	}
	return sb.String()
}

// fill books appointments until booked reaches level and returns the new
// count and the load's figures; *next is the next start index. Appointment
// i goes to city office i mod 43 (one a quarter hour, about 100 a day per
// office), or with --memory-dense all to office bench.
func (b *bench) fill(ctx context.Context, booked, level int, next *int) (int, benchResult) {
	base := *next
	var count int
	name := fmt.Sprintf("booking-%d-offices@%dk", cityOffices, level/1000)
	if b.memoryDense {
		name = fmt.Sprintf("booking-dense@%dk", level/1000)
	}
	r := runLoad(ctx, loadSpec{name: name, conns: b.conns, dur: time.Hour, max: level - booked,
		do: func(ctx context.Context, i int) error {
			office, start := "bench", b.startOf(50000+base+i)
			if !b.memoryDense {
				j := base + i
				office, start = fmt.Sprintf("city%02d", j%cityOffices+1), b.startOf(j/cityOffices)
			}
			code, err := b.book(ctx, office, start, 5_000_000+base+i)
			if err == nil && code != http.StatusCreated {
				err = errStatus(code)
			}
			return err
		}}, b.prog)
	count = r.Requests - r.Errors
	*next = base + r.Requests
	return booked + count, r
}

// outboxBacklog is how many mails wait in the outboxes of the bench offices.
func (b *bench) outboxBacklog(ctx context.Context) int64 {
	var n int64
	for _, o := range append([]string{"bench", "rush", "pages"}, cityIDs()...) {
		n += b.st.Client.XLen(ctx, notify.OutboxKey(o)).Val()
	}
	return n
}

// quiesce waits (up to 3 minutes) until the mails of the lines before are
// sent, so that every line measures its own scenario and not also the
// outbox workers catching up (a booking line leaves tens of thousands of
// confirmations behind). It returns how long it waited.
func (b *bench) quiesce(ctx context.Context) time.Duration {
	start := time.Now()
	for b.outboxBacklog(ctx) > 0 && time.Since(start) < 3*time.Minute && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start)
}

func cityIDs() []string {
	ids := make([]string, cityOffices)
	for k := range ids {
		ids[k] = fmt.Sprintf("city%02d", k+1)
	}
	return ids
}

// redisCPU is the CPU time Redis used so far (used_cpu_sys + used_cpu_user
// of INFO cpu, summed over the masters of a Cluster); ok is false when it
// cannot tell (the embedded store, INFO failed).
func (b *bench) redisCPU(ctx context.Context) (_ time.Duration, ok bool) {
	if b.st == nil || b.st.Embedded {
		return 0, false
	}
	var total float64
	add := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "cpu").Result()
		if err != nil {
			return err
		}
		for _, f := range []string{"used_cpu_sys", "used_cpu_user"} {
			v, err := strconv.ParseFloat(strings.TrimSpace(store.InfoField(info, f)), 64)
			if err != nil {
				return fmt.Errorf("INFO cpu has no %s: %w", f, err)
			}
			total += v
		}
		return nil
	}
	var err error
	switch c := b.st.Client.(type) {
	case *redis.ClusterClient:
		var mu sync.Mutex
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return add(ctx, m)
		})
	case *redis.Client:
		err = add(ctx, c)
	default:
		return 0, false
	}
	if err != nil {
		return 0, false
	}
	return time.Duration(total * float64(time.Second)), true
}

// usedMemory reads used_memory from INFO memory.
func (b *bench) usedMemory(ctx context.Context) (int64, error) {
	info, err := b.st.Client.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: INFO memory: %w", err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: INFO memory has no used_memory")
}
