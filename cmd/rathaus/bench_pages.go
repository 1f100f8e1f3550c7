package main

import (
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

// ticketPageCalls is how many calls the pages line makes, 100 ms apart, one
// at each counter of office "pages".
const ticketPageCalls = 20

// benchTicketPages draws --ticket-pages walk-in tickets (500) at office pages
// and opens each one's status stream, as citizens in a waiting room would with
// their phones; then 20 counters call one ticket each, 100 ms apart. Every
// call moves every waiting ticket up one place, so every waiting page gets a
// new position. Latency: call-next sent → the status that answers it, read at
// the page (a page that is slower than the calls may skip one: its next status
// answers the later call). Check: every page still waiting ends at its
// position less the calls. With a Redis URL the note gives the Redis commands
// per call and page (all commands of the Redis, the process's other loops
// included). The counters are closed again at the end; the tickets stay (a
// later run the same day queues behind them, which the check allows for).
func (b *bench) benchTicketPages(ctx context.Context) benchResult {
	pages := b.ticketPages
	name := fmt.Sprintf("ticket-pages-%d", pages)
	fail := func(err error) benchResult { return benchResult{Name: name, Note: err.Error()} }
	token, err := b.login(ctx)
	if err != nil {
		return fail(err)
	}
	counter := func(c int, action string) string {
		return fmt.Sprintf("%s/api/v1/staff/offices/pages/counters/%d/%s", b.url, c, action)
	}
	// The counters open before the pages do: opening one changes every
	// estimate, and the pages would each get a status for it.
	for c := 1; c <= ticketPageCalls; c++ {
		if code, err := b.post(ctx, counter(c, "open"), nil, nil, token); err != nil || code != 200 {
			return fail(fmt.Errorf("open counter %d: %d %v", c, code, err))
		}
	}
	defer func() {
		for c := 1; c <= ticketPageCalls; c++ {
			_, _ = b.post(ctx, counter(c, "close"), nil, nil, token)
		}
	}()
	tokens := make([]string, 0, pages)
	for range pages {
		var out struct{ Token string }
		code, err := b.post(ctx, b.url+"/api/v1/offices/pages/tickets", []byte(`{"service":"s"}`), &out, "")
		if err != nil || code != http.StatusCreated {
			return fail(fmt.Errorf("draw a ticket: %d %v", code, err))
		}
		tokens = append(tokens, out.Token)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readers := make([]*pageReader, pages)
	var connected, running sync.WaitGroup
	var started, finished atomic.Int64
	tr := &http.Transport{MaxIdleConnsPerHost: pages}
	for i, tok := range tokens {
		readers[i] = &pageReader{started: &started, finished: &finished}
		connected.Add(1)
		running.Add(1)
		go func() {
			defer running.Done()
			readers[i].read(sctx, tr, b.url+"/api/v1/tickets/"+tok+"/stream", &connected)
		}()
	}
	connected.Wait()
	// Every page has its first status: it has subscribed to the hub.
	if !waitFor(30*time.Second, func() bool { return started.Load() >= int64(pages) }) {
		return fail(fmt.Errorf("only %d of %d pages got their first status", started.Load(), pages))
	}
	time.Sleep(200 * time.Millisecond)
	stopBar := b.prog.start(name, func() float64 { return float64(finished.Load()) / float64(pages) })
	cmds0 := b.redisCommands(ctx)
	cpu0 := processCPU()
	sent := make([]time.Time, 0, ticketPageCalls)
	for c := 1; c <= ticketPageCalls; c++ {
		t0 := time.Now()
		code, err := b.post(ctx, counter(c, "call-next"), nil, nil, token)
		if err != nil || code != 200 {
			break
		}
		sent = append(sent, t0)
		time.Sleep(100 * time.Millisecond)
	}
	// A page is done when it was called or has moved up by every call.
	waitFor(30*time.Second, func() bool { return finished.Load() >= int64(pages) })
	cpu := processCPU() - cpu0
	cmds := b.redisCommands(ctx) - cmds0
	cancel()
	running.Wait()
	stopBar()
	var lat []time.Duration
	done, waiting, skipped := 0, 0, 0
	for _, r := range readers {
		ss := r.statuses
		if len(ss) == 0 || ss[0].status != "waiting" {
			continue
		}
		first, last := ss[0], ss[len(ss)-1]
		for _, s := range ss[1:] {
			if s.status != "waiting" {
				break // called: its page goes on with "called", not positions
			}
			if k := first.position - s.position; k >= 1 && k <= len(sent) { // the call it answers
				lat = append(lat, s.at.Sub(sent[k-1]))
			}
		}
		if last.status == "waiting" {
			waiting++
			if last.position == first.position-len(sent) && len(sent) == ticketPageCalls {
				done++
			}
			skipped += len(sent) - (len(ss) - 1)
		}
	}
	r := summarize(name, lat, time.Duration(len(sent))*100*time.Millisecond)
	r.Conns = pages
	r.check(done == waiting && waiting >= pages-ticketPageCalls,
		"every waiting page moved up by every call: %d of %d", done, waiting)
	r.Note = fmt.Sprintf("latency: call-next sent → new position read; req/s = statuses/s; %d calls answered by a later status", skipped)
	if calls := len(sent); calls > 0 {
		if cpu > 0 {
			r.Note += fmt.Sprintf("; CPU %.0f µs per call and page", float64(cpu.Microseconds())/float64(pages*calls))
		}
		if cmds > 0 {
			r.Note += fmt.Sprintf("; %.1f Redis commands per call and page", float64(cmds)/float64(pages*calls))
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

// pageReader reads one ticket page's status stream.
type pageReader struct {
	statuses []pageStatus
	// started counts pages with a first status; finished pages that were
	// called or moved up by ticketPageCalls places.
	started, finished *atomic.Int64
	done              bool
}

// read reads the status stream at url until ctx ends.
func (p *pageReader) read(ctx context.Context, tr *http.Transport, url string, connected *sync.WaitGroup) {
	readSSE(ctx, tr, url, connected, func(event, data []byte, at time.Time) bool {
		if string(event) == "status" {
			var v struct {
				Ticket struct {
					Status   string
					Position int
				}
			}
			if json.Unmarshal(data, &v) == nil {
				p.add(pageStatus{v.Ticket.Status, v.Ticket.Position, at})
			}
		}
		return true
	})
}

func (p *pageReader) add(s pageStatus) {
	p.statuses = append(p.statuses, s)
	if len(p.statuses) == 1 {
		p.started.Add(1)
		return
	}
	first := p.statuses[0]
	if !p.done && (s.status != "waiting" || first.position-s.position >= ticketPageCalls) {
		p.done = true
		p.finished.Add(1)
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
