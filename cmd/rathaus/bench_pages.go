package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ticketPageCalls is how many calls the pages line makes, 100 ms apart.
const ticketPageCalls = 20

// benchTicketPages draws --ticket-pages walk-in tickets (500) at office bench
// and opens each one's status stream, as citizens in a waiting room would with their
// phones; then 20 counters call one ticket each, 100 ms apart. Every call
// moves every waiting ticket up one place, so every waiting page gets a
// "status" event per call. Latency: call-next sent → that status read at the
// page. Check: every page still waiting saw its position fall by one per call.
// With a Redis URL the note gives the Redis commands per call and page (all
// commands of the Redis, the process's other loops included).
func (b *bench) benchTicketPages(ctx context.Context) benchResult {
	ticketPages := b.ticketPages
	name := fmt.Sprintf("ticket-pages-%d", ticketPages)
	fail := func(err error) benchResult { return benchResult{Name: name, Note: err.Error()} }
	token, err := b.login(ctx)
	if err != nil {
		return fail(err)
	}
	// The counters open before the pages do: opening one changes every
	// estimate, and the pages would each get a status for it.
	for c := 12; c < 12+ticketPageCalls; c++ {
		if code, err := b.post(ctx, fmt.Sprintf("%s/api/v1/staff/offices/bench/counters/%d/open", b.url, c), nil, nil, token); err != nil || code != 200 {
			return fail(fmt.Errorf("open counter %d: %d %v", c, code, err))
		}
	}
	tokens := make([]string, 0, ticketPages)
	for range ticketPages {
		var out struct{ Token string }
		code, err := b.post(ctx, b.url+"/api/v1/offices/bench/tickets", []byte(`{"service":"s"}`), &out, "")
		if err != nil || code != http.StatusCreated {
			return fail(fmt.Errorf("draw a ticket: %d %v", code, err))
		}
		tokens = append(tokens, out.Token)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make([][]pageStatus, ticketPages)
	var connected, readers sync.WaitGroup
	var received atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: ticketPages}
	for i, tok := range tokens {
		connected.Add(1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			pages[i] = b.readTicketStream(sctx, tr, tok, &connected, &received)
		}()
	}
	connected.Wait()
	// Every page has its first status: it has subscribed to the hub.
	if !waitFor(30*time.Second, func() bool { return received.Load() >= int64(ticketPages) }) {
		return fail(fmt.Errorf("only %d of %d pages got their first status", received.Load(), ticketPages))
	}
	time.Sleep(200 * time.Millisecond)
	before := received.Load()
	stopBar := b.prog.start(name, func() float64 {
		return float64(received.Load()-before) / float64(ticketPages*ticketPageCalls)
	})
	cmds0 := b.redisCommands(ctx)
	cpu0 := processCPU()
	sent := make([]time.Time, 0, ticketPageCalls)
	for c := 12; c < 12+ticketPageCalls; c++ {
		t0 := time.Now()
		code, err := b.post(ctx, fmt.Sprintf("%s/api/v1/staff/offices/bench/counters/%d/call-next", b.url, c), nil, nil, token)
		if err != nil || code != 200 {
			break
		}
		sent = append(sent, t0)
		time.Sleep(100 * time.Millisecond)
	}
	// Each call gives every page one status: the called ones "called", the
	// others their new position.
	waitFor(30*time.Second, func() bool { return received.Load()-before >= int64(ticketPages*len(sent)) })
	cpu := processCPU() - cpu0
	cmds := b.redisCommands(ctx) - cmds0
	cancel()
	readers.Wait()
	stopBar()
	var lat []time.Duration
	complete, waiting := 0, 0
	for _, ss := range pages {
		if len(ss) == 0 {
			continue
		}
		first, ok := ss[0], true
		if first.status != "waiting" {
			continue
		}
		n := 0
		for _, s := range ss[1:] {
			k := first.position - s.position // the call this status answers, 1-based
			if s.status != "waiting" {
				break // called: its page goes on with "called", not positions
			}
			if k < 1 || k > len(sent) {
				ok = false
				break
			}
			lat = append(lat, s.at.Sub(sent[k-1]))
			n++
		}
		if ss[len(ss)-1].status == "waiting" {
			waiting++
			if ok && n == len(sent) && len(sent) == ticketPageCalls {
				complete++
			}
		}
	}
	r := summarize(name, lat, time.Duration(len(sent))*100*time.Millisecond)
	r.Conns = ticketPages
	r.check(complete == waiting && waiting >= ticketPages-ticketPageCalls,
		"every waiting page saw every call: %d of %d", complete, waiting)
	r.Note = "latency: call-next sent → new position read; req/s = statuses/s"
	if calls := len(sent); calls > 0 {
		if cpu > 0 {
			r.Note += fmt.Sprintf("; CPU %.0f µs per call and page", float64(cpu.Microseconds())/float64(ticketPages*calls))
		}
		if cmds > 0 {
			r.Note += fmt.Sprintf("; %.1f Redis commands per call and page", float64(cmds)/float64(ticketPages*calls))
		}
	}
	return r
}

// pageStatus is one "status" event a ticket page read.
type pageStatus struct {
	status   string
	position int
	at       time.Time
}

// readTicketStream reads the status stream of a ticket until ctx ends and
// returns its status events with their arrival times (when the event's first
// line was read, before parsing).
func (b *bench) readTicketStream(ctx context.Context, tr *http.Transport, token string, connected *sync.WaitGroup, received *atomic.Int64) []pageStatus {
	once := sync.OnceFunc(connected.Done)
	defer once()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/api/v1/tickets/"+token+"/stream", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	once()
	r := bufio.NewReader(resp.Body)
	var out []pageStatus
	var at time.Time
	var event, data []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return out
		}
		if at.IsZero() {
			at = time.Now()
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if string(event) == "status" {
				var v struct {
					Ticket struct {
						Status   string
						Position int
					}
				}
				if json.Unmarshal(data, &v) == nil {
					out = append(out, pageStatus{v.Ticket.Status, v.Ticket.Position, at})
					received.Add(1)
				}
			}
			at, event, data = time.Time{}, event[:0], data[:0]
		case bytes.HasPrefix(line, []byte("event:")):
			event = append(event[:0], bytes.TrimSpace(line[6:])...)
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data[:0], bytes.TrimSpace(line[5:])...)
		}
	}
}

// redisCommands is the number of commands the Redis has run so far (the sum
// of INFO commandstats), or 0 when it cannot tell (the embedded store).
func (b *bench) redisCommands(ctx context.Context) int64 {
	if b.st == nil || b.st.Embedded {
		return 0
	}
	info, err := b.st.Client.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		_, rest, ok := strings.Cut(line, ":calls=")
		if !ok {
			continue
		}
		v, _, _ := strings.Cut(rest, ",")
		c, _ := strconv.ParseInt(v, 10, 64)
		n += c
	}
	return n
}
