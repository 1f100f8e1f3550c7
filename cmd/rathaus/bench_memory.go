package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// benchMemory books appointments in stages (1,000, 10,000, 100,000 … up to
// --memory-appointments) and after each stage measures Redis memory per
// appointment and the availability of 8 weeks, so that the table shows how
// cost grows with the number of appointments; then it draws 500 tickets and
// measures memory per ticket. It needs a real Redis (INFO memory) and is
// meant for a fresh one.
func (b *bench) benchMemory(ctx context.Context) ([]benchResult, error) {
	if b.st.Embedded {
		return []benchResult{{Name: "memory", Note: "needs a real Redis: give --redis-url"}}, nil
	}
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
		booked = b.fill(ctx, booked, level, &i)
		time.Sleep(2 * time.Second) // the outbox worker has sent the confirmations
		used, err := b.usedMemory(ctx)
		if err != nil {
			return nil, err
		}
		per := float64(used-before) / float64(booked)
		r := runLoad(ctx, loadSpec{name: fmt.Sprintf("availability-8w@%dk", level/1000), conns: b.conns, dur: b.dur,
			do: func(ctx context.Context, _ int) error { return b.get(ctx, b.availabilityURL(56), http.StatusOK) }}, b.prog)
		r.check(per <= 600, "%.0f B of Redis per appointment (≤ 600) over %d", per, booked)
		out = append(out, r)
	}
	ticketsBefore, err := b.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	draw := b.drawTickets(ctx, "ticket-draw-500", 500)
	time.Sleep(time.Second)
	after, err := b.usedMemory(ctx)
	if err != nil {
		return nil, err
	}
	draw.Note = fmt.Sprintf("%.0f B of Redis per ticket", float64(after-ticketsBefore)/float64(max(draw.Requests-draw.Errors, 1)))
	return append(out, draw), nil
}

// fill books appointments of office bench until booked reaches level and
// returns the new count; *next is the next start index.
func (b *bench) fill(ctx context.Context, booked, level int, next *int) int {
	base := *next
	var count int
	r := runLoad(ctx, loadSpec{name: fmt.Sprintf("fill-to-%d", level), conns: b.conns, dur: time.Hour, max: level - booked,
		do: func(ctx context.Context, i int) error {
			code, err := b.book(ctx, "bench", b.startOf(50000+base+i), 5_000_000+base+i)
			if err == nil && code != http.StatusCreated {
				err = errStatus(code)
			}
			return err
		}}, b.prog)
	count = r.Requests - r.Errors
	*next = base + r.Requests
	return booked + count
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
