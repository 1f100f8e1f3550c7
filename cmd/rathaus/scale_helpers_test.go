package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Helpers of the scale and fault tests: raw HTTP (no OpenAPI check, which
// would cost more than the request under load), SSE reading, mail counting.

// rawClient is an HTTP client with room for many parallel loopback requests.
var rawClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
	MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}}

// postJSON sends body as JSON and returns the status, the decoded body (when
// out is not nil) and the Retry-After header.
func postJSON(url string, body any, out any, hdr ...string) (int, string, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, "", err
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// bookingBody is a booking request for the demo office.
func bookingBody(service, start string, i int) map[string]any {
	return map[string]any{"service": service, "start": start, "name": "Last Test",
		"email": fmt.Sprintf("client%d@example.org", i)}
}

// bookedResp is the part of a 201 the fault tests keep.
type bookedResp struct {
	Appointment struct{ Code, Status string }
	Token       string
}

// rush sends n booking requests for one start across urls (round robin) from
// workers goroutines and counts the answers by status.
func rush(t *testing.T, urls []string, start string, n, workers int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				code, _, err := postJSON(urls[i%len(urls)]+"/api/v1/offices/geesthacht/appointments",
					bookingBody("ummeldung", start, i), nil)
				if err != nil {
					code = -1
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return counts
}

// login returns a bearer token of the admin.
func login(t *testing.T, url string) string {
	t.Helper()
	var out struct{ Token string }
	code, _, err := postJSON(url+"/api/v1/auth/login", map[string]any{"username": "admin", "password": testAdminPassword}, &out)
	if err != nil || code != 200 {
		t.Fatalf("login: %d %v", code, err)
	}
	return out.Token
}

const testAdminPassword = "admin-passwort-123"

// sseStream reads "called" events of a display stream.
type sseStream struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// openStream connects to the display stream of the demo office at url. The
// context's deadline only keeps a broken test from hanging.
func openStream(t *testing.T, url string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/offices/geesthacht/display/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		cancel()
		t.Fatalf("stream %s: %v %v", url, resp, err)
	}
	s := &sseStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return s
}

// nextCalled returns the number in the next "called" event.
func (s *sseStream) nextCalled() (string, error) {
	var name, data string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if name == "called" {
				var ev struct{ Number string }
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					return "", err
				}
				return ev.Number, nil
			}
			name, data = "", ""
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

// mails counts the .eml files in dir whose name contains part.
func mails(t *testing.T, dir, part string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.Contains(filepath.Base(f), part) {
			n++
		}
	}
	return n
}

// mailDir makes a mail directory shared by several servers.
func mailDir(t *testing.T) string {
	d := filepath.Join(t.TempDir(), "mail")
	if err := os.MkdirAll(d, 0o750); err != nil {
		t.Fatal(err)
	}
	return d
}

// mailCatcher is an SMTP server on loopback that counts deliveries per
// Message-ID, so a mail sent twice shows as 2 (an .eml directory would hide
// it: a second delivery replaces the file).
type mailCatcher struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	seen map[string]int
}

// startMailCatcher starts a mailCatcher until the test ends.
func startMailCatcher(t *testing.T) *mailCatcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mailCatcher{addr: ln.Addr().String(), seen: map[string]int{}}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &catchSession{m: m}, nil }))
	m.srv.Domain = "localhost"
	go m.srv.Serve(ln)
	t.Cleanup(func() { m.srv.Close() })
	return m
}

// URL is the RATHAUS_SMTP_URL of the catcher.
func (m *mailCatcher) URL() string { return "smtp://" + m.addr + "?tls=none" }

// count returns how many distinct mails whose Message-ID contains part
// arrived, and the most deliveries of any one of them.
func (m *mailCatcher) count(part string) (distinct, maxDup int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.seen {
		if strings.Contains(id, part) {
			distinct++
			maxDup = max(maxDup, n)
		}
	}
	return distinct, maxDup
}

type catchSession struct{ m *mailCatcher }

func (s *catchSession) Reset()                               {}
func (s *catchSession) Logout() error                        { return nil }
func (s *catchSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *catchSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *catchSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, msg.Body)
	s.m.mu.Lock()
	s.m.seen[msg.Header.Get("Message-Id")]++
	s.m.mu.Unlock()
	return nil
}

// displayFanOut opens two display streams on each of the three servers at
// urls, draws six tickets across them and calls them through every server
// and counter in turn: every stream must show every call, in order.
func displayFanOut(t *testing.T, urls []string) {
	t.Helper()
	var streams []*sseStream
	for _, u := range urls {
		streams = append(streams, openStream(t, u), openStream(t, u))
	}
	token := login(t, urls[0])
	var want []string
	for i := range 6 {
		var tk struct{ Ticket struct{ Number string } }
		code, _, err := postJSON(urls[i%3]+"/api/v1/offices/geesthacht/tickets", map[string]any{"service": "fundsache"}, &tk)
		if err != nil || code != 201 {
			t.Fatalf("ticket: %d %v", code, err)
		}
		want = append(want, tk.Ticket.Number)
	}
	auth := []string{"Authorization", "Bearer " + token}
	for c := 1; c <= 3; c++ {
		if code, _, err := postJSON(fmt.Sprintf("%s/api/v1/staff/offices/geesthacht/counters/%d/open", urls[c-1], c), nil, nil, auth...); err != nil || code != 200 {
			t.Fatalf("open counter %d: %d %v", c, code, err)
		}
	}
	for i := range want {
		// each call through another replica and counter; a counter
		// finishes its ticket before it calls the next
		if i >= 3 {
			url := fmt.Sprintf("%s/api/v1/staff/offices/geesthacht/tickets/%s/finish", urls[i%3], want[i-3])
			if code, _, err := postJSON(url, nil, nil, auth...); err != nil || code != 200 {
				t.Fatalf("finish: %d %v", code, err)
			}
		}
		url := fmt.Sprintf("%s/api/v1/staff/offices/geesthacht/counters/%d/call-next", urls[i%3], i%3+1)
		if code, _, err := postJSON(url, nil, nil, auth...); err != nil || code != 200 {
			t.Fatalf("call-next %d: %d %v", i, code, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(streams))
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j, w := range want {
				got, err := s.nextCalled()
				if err != nil || got != w {
					errs <- fmt.Errorf("stream %d (replica %d): event %d = %q, %v; want %q", i, i/2, j, got, err, w)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
