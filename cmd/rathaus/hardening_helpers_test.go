package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/rathaus/rathaus/internal/clock"
)

// hardenedClock stands on Monday 30 November 2026, 12:00 in Berlin: the
// next day (Tuesday 1 December) is bookable from 08:00.
func hardenedClock(t *testing.T) *clock.Simulated {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return clock.NewSimulated(time.Date(2026, 11, 30, 12, 0, 0, 0, berlin))
}

// rawResponse is a response read whole.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// rawDo sends a request without any validation (hostile requests do not
// match the document on purpose); hdr are header name/value pairs.
func rawDo(t testing.TB, method, url string, body []byte, hdr ...string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := hardClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, url, err)
	}
	return rawResponse{Status: res.StatusCode, Header: res.Header, Body: b}
}

var hardClient = &http.Client{Timeout: 30 * time.Second}

func jsonBody(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var codeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// envelopeCode returns the error code of a contract envelope, or "" when
// the body is not one.
func envelopeCode(body []byte) string {
	var env struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil || env.Error.Message == "" || !codeRE.MatchString(env.Error.Code) {
		return ""
	}
	return env.Error.Code
}

// syncBuffer collects log output from the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
