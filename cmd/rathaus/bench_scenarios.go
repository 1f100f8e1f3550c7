package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rathaus/rathaus/booking"
)

// benchOffices are the offices the bench scenarios use: "bench" (50 seats
// around the clock, 8 weeks ahead), "rush" (100 counters: one start has
// 100 seats) and "pages" (the waiting room of the ticket-pages line, kept
// apart so that its tickets never meet those of the call-next line).
var benchOffices = "offices:\n" + benchOfficeYAML("bench", "Benchamt", benchCounters50) +
	benchOfficeYAML("rush", "Ansturmamt", benchCounters100) + benchOfficeYAML("pages", "Wartezimmer", counterList(ticketPageCalls))

// benchOfficeYAML is one bench office: open around the clock, 5-minute slots,
// one 15-minute service, 8 weeks ahead, no lead time; counters is a YAML list body.
func benchOfficeYAML(id, name, counters string) string {
	return `  - id: ` + id + `
    name: ` + name + `
    timezone: Europe/Berlin
    counters: [` + counters + `]
    slot_minutes: 5
    lead_minutes: 0
    horizon_days: 56
    max_active_per_email: 100
    services:
      - id: s
        letter: S
        name: {de: Standard, en: Standard}
        duration_minutes: 15
    opening_hours: ` + allDay + `
`
}

const allDay = `{mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}`

var benchCounters50, benchCounters100 = counterList(50), counterList(100)

func counterList(n int) string {
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"%d"`, i)
	}
	return b.String()
}

func numCPU() int { return runtime.NumCPU() }

// errStatus is an unexpected HTTP status.
type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("status %d", int(e)) }

// get sends a GET and wants status want.
func (b *bench) get(ctx context.Context, url string, want int) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return errStatus(resp.StatusCode)
	}
	return nil
}

// post sends body as JSON (a []byte is sent as it is) and returns the status;
// out receives a 2xx body.
func (b *bench) post(ctx context.Context, url string, body, out any, token string) (int, error) {
	var rd io.Reader = http.NoBody
	if raw, ok := body.([]byte); ok {
		rd = bytes.NewReader(raw)
	} else if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode, nil
}

// startOf returns the i-th bookable 15-minute start of office bench: spread
// over the days from tomorrow on, so that 50 seats of each fill evenly.
func (b *bench) startOf(i int) string {
	const perDay = 96
	now := time.Now().In(b.loc)
	day := time.Date(now.Year(), now.Month(), now.Day()+1+(i/perDay)%54, 0, 0, 0, 0, b.loc)
	return day.Add(time.Duration(i%perDay) * 15 * time.Minute).Format(time.RFC3339)
}

// runID keeps e-mail addresses of one run apart from earlier runs.
var runID = rand.Uint32()

// book books start at office for the i-th address of this run. The body is
// put together by hand, not by encoding/json: the load generator shares the
// machine with the server, and the yardstick's client encodes nothing either.
func (b *bench) book(ctx context.Context, office, start string, i int) (int, error) {
	body := make([]byte, 0, 128)
	body = append(body, `{"service":"s","start":`...)
	body = strconv.AppendQuote(body, start) // Go quoting, the same as JSON's for an RFC 3339 time
	body = append(body, `,"name":"Bench Mark","email":"b`...)
	body = strconv.AppendUint(body, uint64(runID), 10)
	body = append(body, '-')
	body = strconv.AppendInt(body, int64(i), 10)
	body = append(body, `@example.org"}`...)
	return b.post(ctx, b.url+"/api/v1/offices/"+office+"/appointments", body, nil, "")
}

// benchBooking books distinct starts at --conns connections.
func (b *bench) benchBooking(ctx context.Context) benchResult {
	r := b.bookingLoad(ctx, "booking", 0, int(rand.Uint32()%5000), 0)
	b.bookingRPS = r.RPS
	return r
}

// benchBookingPaced books at half the rate the closed loop of "booking"
// reached in this run, in an open loop at --conns connections: the latency a
// citizen sees while the server is busy but not overrun (the closed loop
// measures it at saturation, where it is conns / throughput by design).
func (b *bench) benchBookingPaced(ctx context.Context) benchResult {
	if b.bookingRPS <= 0 {
		return benchResult{Name: "booking-paced", Note: "needs the booking scenario before it in the same run"}
	}
	rate := b.bookingRPS / 2
	r := b.bookingLoad(ctx, "booking-paced", rate, 10000+int(rand.Uint32()%5000), 2_000_000)
	r.Note = fmt.Sprintf("paced at %.0f req/s = half the closed loop's rate; latency from when each request was due; %s", rate, r.Note)
	return r
}

// bookingLoad books the starts from off on (addresses numbered from first)
// at --conns connections, paced at rate (0: a closed loop).
func (b *bench) bookingLoad(ctx context.Context, name string, rate float64, off, first int) benchResult {
	var booked, conflicts atomic.Int64
	r := runLoad(ctx, loadSpec{name: name, conns: b.conns, dur: b.dur, rate: rate, do: func(ctx context.Context, i int) error {
		code, err := b.book(ctx, "bench", b.startOf(off+i), first+i)
		switch {
		case err != nil:
			return err
		case code == http.StatusCreated:
			booked.Add(1)
		case code == http.StatusConflict:
			conflicts.Add(1) // a public holiday among the dates
		default:
			return errStatus(code)
		}
		return nil
	}}, b.prog)
	r.Note = fmt.Sprintf("%d booked, %d × 409 on holidays", booked.Load(), conflicts.Load())
	return r
}

// availabilityURL is 8 weeks of availability of office bench.
func (b *bench) availabilityURL(days int) string {
	from := time.Now().In(b.loc)
	return fmt.Sprintf("%s/api/v1/offices/bench/availability?service=s&from=%s&to=%s", b.url,
		from.Format(time.DateOnly), from.AddDate(0, 0, days-1).Format(time.DateOnly))
}

// benchAvailability reads 8 weeks of availability at --conns connections.
func (b *bench) benchAvailability(ctx context.Context) benchResult {
	url := b.availabilityURL(56)
	return runLoad(ctx, loadSpec{name: "availability-8w", conns: b.conns, dur: b.dur, do: func(ctx context.Context, _ int) error {
		return b.get(ctx, url, http.StatusOK)
	}}, b.prog)
}

// benchMixed is citizen traffic: 60% availability (8 weeks), 30% the free
// slots of a day, 10% bookings.
func (b *bench) benchMixed(ctx context.Context) benchResult {
	avail := b.availabilityURL(56)
	off := 20000 + int(rand.Uint32()%5000)
	return runLoad(ctx, loadSpec{name: "mixed-citizens", conns: b.conns, dur: b.dur, do: func(ctx context.Context, i int) error {
		switch i % 10 {
		case 0:
			code, err := b.book(ctx, "bench", b.startOf(off+i), 1_000_000+i)
			if err == nil && code != http.StatusCreated && code != http.StatusConflict {
				err = errStatus(code)
			}
			return err
		case 1, 2, 3:
			day := time.Now().In(b.loc).AddDate(0, 0, 1+i%50).Format(time.DateOnly)
			return b.get(ctx, b.url+"/api/v1/offices/bench/slots?service=s&date="+day, http.StatusOK)
		default:
			return b.get(ctx, avail, http.StatusOK)
		}
	}}, b.prog)
}

// benchRush sends --rush-clients bookings of one start with 100 seats, 512
// at a time: exactly 100 must be booked, and no answer may be a 5xx.
func (b *bench) benchRush(ctx context.Context) benchResult {
	now := time.Now().In(b.loc)
	// a random start, so that runs on the same Redis do not meet, on a day
	// that is no public holiday (the office is closed then: 409 for all)
	var t time.Time
	for t.IsZero() || isHoliday(t) {
		t = time.Date(now.Year(), now.Month(), now.Day()+1+rand.IntN(50), rand.IntN(23), 15*rand.IntN(4), 0, 0, b.loc)
	}
	start := t.Format(time.RFC3339)
	var booked, fivexx atomic.Int64
	var mu sync.Mutex
	byStatus := map[int]int{}
	r := runLoad(ctx, loadSpec{name: "booking-rush", conns: 512, dur: 10 * time.Minute, max: b.rushClients, do: func(ctx context.Context, i int) error {
		code, err := b.book(ctx, "rush", start, 2_000_000+i)
		mu.Lock()
		byStatus[code]++
		mu.Unlock()
		switch {
		case err != nil:
			return err
		case code == http.StatusCreated:
			booked.Add(1)
		case code >= 500:
			fivexx.Add(1)
			return errStatus(code)
		}
		return nil
	}}, b.prog)
	r.check(booked.Load() == 100 && fivexx.Load() == 0, "booked = capacity: %d = 100, 5xx: %d", booked.Load(), fivexx.Load())
	r.Note = fmt.Sprintf("answers by status %v (0: no answer)", byStatus)
	return r
}

// isHoliday reports whether t falls on a public holiday of the bench
// offices (Schleswig-Holstein, the default state).
func isHoliday(t time.Time) bool {
	d := booking.DateOf(t)
	for _, h := range booking.Holidays("SH", t.Year()) {
		if h.Date == d {
			return true
		}
	}
	return false
}

// login returns an admin token of the server.
func (b *bench) login(ctx context.Context) (string, error) {
	var out struct{ Token string }
	code, err := b.post(ctx, b.url+"/api/v1/auth/login", map[string]any{"username": "admin", "password": b.adminPw}, &out, "")
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("bench: login as admin: status %d (give --admin-password)", code)
	}
	return out.Token, err
}

// drawTickets draws n tickets at office bench from 16 connections.
func (b *bench) drawTickets(ctx context.Context, name string, n int) benchResult {
	return runLoad(ctx, loadSpec{name: name, conns: 16, dur: 10 * time.Minute, max: n, do: func(ctx context.Context, _ int) error {
		code, err := b.post(ctx, b.url+"/api/v1/offices/bench/tickets", map[string]any{"service": "s"}, nil, "")
		if err == nil && code != http.StatusCreated {
			err = errStatus(code)
		}
		return err
	}}, b.prog)
}

// benchQueue draws --queue-tickets tickets (3,000), then 10 counters call
// next (and finish) until nobody waits: call-next latency at 10 concurrent
// counters, and a check that every ticket was called exactly once. (With 900
// tickets the line lasted 0.2 s and its p99 was the 9th-slowest call: one
// pause of the process moved it by a factor of two between runs.)
func (b *bench) benchQueue(ctx context.Context) ([]benchResult, error) {
	token, err := b.login(ctx)
	if err != nil {
		return nil, err
	}
	const counters = 10
	tickets := b.queueTickets
	for c := 1; c <= counters; c++ {
		if code, err := b.post(ctx, fmt.Sprintf("%s/api/v1/staff/offices/bench/counters/%d/open", b.url, c), nil, nil, token); err != nil || code != 200 {
			return nil, fmt.Errorf("bench: open counter %d: %d %v", c, code, err)
		}
	}
	draw := b.drawTickets(ctx, "ticket-draw", tickets)
	var mu sync.Mutex
	var lat []time.Duration
	seen := map[string]int{}
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stopBar := b.prog.start("call-next-10", func() float64 { mu.Lock(); defer mu.Unlock(); return float64(len(seen)) / float64(tickets) })
	for c := 1; c <= counters; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 * tickets { // bounded: the queue empties first
				var out struct{ Ticket struct{ Number string } }
				t0 := time.Now()
				code, err := b.post(ctx, fmt.Sprintf("%s/api/v1/staff/offices/bench/counters/%d/call-next", b.url, c), nil, &out, token)
				d := time.Since(t0)
				if err != nil || (code != 200 && code != 204) {
					errs.Add(1)
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				if code == 200 {
					seen[out.Ticket.Number]++
				}
				mu.Unlock()
				if code == 204 {
					return
				}
				_, _ = b.post(ctx, fmt.Sprintf("%s/api/v1/staff/offices/bench/tickets/%s/finish", b.url, out.Ticket.Number), nil, nil, token)
			}
		}()
	}
	wg.Wait()
	stopBar()
	r := summarize("call-next-10-counters", lat, time.Since(start))
	r.Conns, r.Errors = counters, int(errs.Load())
	twice := 0
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	// A ticket whose draw answer was lost (a client timeout) exists all the
	// same and is called too: at least every acknowledged one, none twice.
	acked := draw.Requests - draw.Errors
	r.check(len(seen) >= acked && len(seen) <= draw.Requests && twice == 0,
		"called once each: %d tickets (%d drawn, %d acknowledged), %d twice", len(seen), draw.Requests, acked, twice)
	r.Note = "rate includes finish"
	return []benchResult{draw, r}, nil
}

// benchFanout connects 1,000 display streams of office bench, then calls 20
// tickets one after the other and measures, for every stream and call, the
// time from sending call-next to the event's arrival.
func (b *bench) benchFanout(ctx context.Context) benchResult {
	const clients, calls = 1000, 20
	fail := func(err error) benchResult { return benchResult{Name: "sse-fanout-1000", Note: err.Error()} }
	token, err := b.login(ctx)
	if err != nil {
		return fail(err)
	}
	if code, err := b.post(ctx, b.url+"/api/v1/staff/offices/bench/counters/11/open", nil, nil, token); err != nil || code != 200 {
		return fail(fmt.Errorf("open counter: %d %v", code, err))
	}
	b.drawTickets(ctx, "fanout-tickets", calls)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	arrivals := make([][]arrival, clients)
	var connected, readers sync.WaitGroup
	var received atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	for i := range clients {
		connected.Add(1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			arrivals[i] = b.readStream(sctx, tr, &connected, calls, &received)
		}()
	}
	connected.Wait()
	time.Sleep(500 * time.Millisecond) // every stream has subscribed to the hub
	stopBar := b.prog.start("sse-fanout-1000", func() float64 { return float64(received.Load()) / (clients * calls) })
	sent := map[string]time.Time{}
	prev := ""
	cpu0 := processCPU()
	for range calls {
		if prev != "" {
			_, _ = b.post(ctx, b.url+"/api/v1/staff/offices/bench/tickets/"+prev+"/finish", nil, nil, token)
		}
		var out struct{ Ticket struct{ Number string } }
		t0 := time.Now()
		code, err := b.post(ctx, b.url+"/api/v1/staff/offices/bench/counters/11/call-next", nil, &out, token)
		if err != nil || code != 200 {
			break
		}
		sent[out.Ticket.Number], prev = t0, out.Ticket.Number
		time.Sleep(100 * time.Millisecond) // calls at a counter's pace, one at a time
	}
	waitFor(30*time.Second, func() bool { return received.Load() >= int64(clients*len(sent)) })
	cpu := processCPU() - cpu0
	cancel()
	readers.Wait()
	stopBar()
	var lat []time.Duration
	complete := 0
	for _, as := range arrivals {
		n := 0
		for _, a := range as {
			if t0, ok := sent[a.number]; ok {
				lat = append(lat, a.at.Sub(t0))
				n++
			}
		}
		if n == len(sent) && n == calls {
			complete++
		}
	}
	r := summarize("sse-fanout-1000", lat, time.Duration(len(sent))*100*time.Millisecond)
	r.Conns = clients
	r.check(complete == clients, "every display got every call: %d of %d", complete, clients)
	r.Note = "latency: call-next sent → event read; req/s = events/s"
	if cpu > 0 && len(sent) > 0 {
		// CPU of the whole process (server and the 1,000 readers) per call and display:
		// unlike latency, it hardly depends on what else runs on the machine
		r.Note += fmt.Sprintf("; CPU %.0f µs per call and display", float64(cpu.Microseconds())/float64(clients*len(sent)))
	}
	return r
}

// arrival is a "called" event read by a display.
type arrival struct {
	number string
	at     time.Time
}

// readStream reads the display stream of office bench until ctx ends or
// calls events arrived, and returns them with their arrival times: the time
// the event's first line was read off the connection, before any parsing,
// so that the readers' own work (1,000 of them share the server's cores)
// counts as little as it can.
func (b *bench) readStream(ctx context.Context, tr *http.Transport, connected *sync.WaitGroup, calls int, received *atomic.Int64) []arrival {
	out := make([]arrival, 0, calls)
	readSSE(ctx, tr, b.url+"/api/v1/offices/bench/display/stream", connected, func(event, data []byte, at time.Time) bool {
		if string(event) == "called" {
			if n := calledNumber(data); n != "" {
				out = append(out, arrival{n, at})
				received.Add(1)
			}
		}
		return len(out) < calls
	})
	return out
}

// readSSE reads the event stream at url and hands each event to on with the
// time its first line was read off the connection, before any parsing (so
// that the readers' own work, on the cores they share with the server, counts
// as little as it can). It returns when on returns false, the stream ends or
// ctx ends; connected is marked done once the stream is open (or failed).
func readSSE(ctx context.Context, tr *http.Transport, url string, connected *sync.WaitGroup, on func(event, data []byte, at time.Time) bool) {
	once := sync.OnceFunc(connected.Done)
	defer once()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	once()
	r := bufio.NewReader(resp.Body)
	var at time.Time // when the current event's first line was read
	var event, data []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if at.IsZero() {
			at = time.Now()
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if len(event) > 0 && !on(event, data, at) {
				return
			}
			at, event, data = time.Time{}, event[:0], data[:0]
		case bytes.HasPrefix(line, []byte("event:")):
			event = append(event[:0], bytes.TrimSpace(line[6:])...)
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data[:0], bytes.TrimSpace(line[5:])...)
		}
	}
}

// calledNumber returns the ticket number of a "called" event's data.
func calledNumber(data []byte) string {
	var ev struct{ Number string }
	if json.Unmarshal(data, &ev) != nil {
		return ""
	}
	return ev.Number
}

// waitFor polls cond every 20 ms until it holds or d passes; it reports
// whether it held (the bench and the tests wait for events with it; it
// asserts nothing about time).
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
