// Package apitest is the HTTP client of end-to-end tests: every request it
// sends and every response it gets is checked against rathaus's OpenAPI
// document (internal/apidoc), and a mismatch fails the test. So the document
// cannot drift from what the server really does while the e2e tests pass.
//
// Use it with a server started by the test (cmd/rathaus's Run on ":0"):
//
//	c := apitest.New(t, "http://"+addr)
//	res := c.Get(t, "/api/v1/offices/geesthacht", "Accept-Language", "en")
//	res.Want(t, http.StatusOK)
//	var office struct{ Services []struct{ ID string } }
//	res.Decode(t, &office)
//
//	staff := c.WithBearer(token)               // Authorization: Bearer <token> on every request
//	res = staff.Post(t, "/api/v1/offices/geesthacht/tickets", map[string]any{"service": "ummeldung"})
//	res.WantError(t, http.StatusUnprocessableEntity, "unknown_service")
//
// Every call takes the (sub)test it belongs to, so one client serves all
// subtests. cmd/rathaus's startTestServer hands out such a client.
//
// Bodies are JSON: a string or []byte is sent as it is, anything else is
// marshalled; the Content-Type is application/json unless a "Content-Type"
// header pair is given. To send a request the document forbids on purpose
// (malformed JSON, a wrong content type, an unknown path), use c.Unchecked():
// its requests are not validated, but its responses still are whenever the
// path is documented. Every documented response must list the status it
// answers with: an undocumented status fails the test. Streams
// (text/event-stream) are opened with c.Stream, which checks the status and
// headers and hands back the open response.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/rathaus/rathaus/internal/apidoc"
)

func init() {
	// Text bodies the API serves besides JSON; their schemas are plain strings.
	openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/atom+xml", openapi3filter.PlainBodyDecoder)
}

var (
	loadOnce sync.Once
	doc      *openapi3.T
	router   routers.Router
	loadErr  error
)

// Document returns the merged OpenAPI document, loaded and validated once.
func Document() (*openapi3.T, error) {
	loadOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, loadErr = loader.LoadFromData(apidoc.JSON)
		if loadErr != nil {
			loadErr = fmt.Errorf("apitest: load OpenAPI document: %w", loadErr)
			return
		}
		if loadErr = doc.Validate(loader.Context); loadErr != nil {
			loadErr = fmt.Errorf("apitest: OpenAPI document is invalid: %w", loadErr)
			return
		}
		// Paths are matched on their own: the test server's host is not the
		// document's server.
		doc.Servers = nil
		router, loadErr = legacy.NewRouter(doc)
		if loadErr != nil {
			loadErr = fmt.Errorf("apitest: OpenAPI router: %w", loadErr)
		}
	})
	return doc, loadErr
}

// Client sends requests to one server and checks them against the document.
type Client struct {
	base    string
	header  http.Header
	checked bool
	// HTTP is the underlying client; set HTTP.Jar for cookie sessions.
	HTTP *http.Client
}

// New returns a client for the server at baseURL (e.g. "http://127.0.0.1:4711").
func New(t testing.TB, baseURL string) *Client {
	t.Helper()
	if _, err := Document(); err != nil {
		t.Fatal(err)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), header: http.Header{}, checked: true,
		HTTP: &http.Client{Timeout: 30 * time.Second}}
}

func (c *Client) clone() *Client {
	d := *c
	d.header = c.header.Clone()
	return &d
}

// WithHeader returns a client that sends header k: v on every request.
func (c *Client) WithHeader(k, v string) *Client {
	d := c.clone()
	d.header.Set(k, v)
	return d
}

// WithBearer returns a client that authenticates with token.
func (c *Client) WithBearer(token string) *Client {
	return c.WithHeader("Authorization", "Bearer "+token)
}

// Unchecked returns a client whose requests are not validated (to send what
// the document forbids); responses to documented paths still are.
func (c *Client) Unchecked() *Client {
	d := c.clone()
	d.checked = false
	return d
}

// Response is a fully read response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get sends GET path; hdr are header name/value pairs.
func (c *Client) Get(t testing.TB, path string, hdr ...string) *Response {
	t.Helper()
	return c.Do(t, http.MethodGet, path, nil, hdr...)
}

// Post sends POST path with body as JSON (nil: no body).
func (c *Client) Post(t testing.TB, path string, body any, hdr ...string) *Response {
	t.Helper()
	return c.Do(t, http.MethodPost, path, body, hdr...)
}

// Delete sends DELETE path.
func (c *Client) Delete(t testing.TB, path string, hdr ...string) *Response {
	t.Helper()
	return c.Do(t, http.MethodDelete, path, nil, hdr...)
}

// Do sends method path with body and header pairs hdr, validates request and
// response against the document, and returns the read response.
func (c *Client) Do(t testing.TB, method, path string, body any, hdr ...string) *Response {
	t.Helper()
	req := c.NewRequest(t, method, path, body, hdr...)
	return c.Send(t, req)
}

// NewRequest builds a request as Do would send it.
func (c *Client) NewRequest(t testing.TB, method, path string, body any, hdr ...string) *http.Request {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatalf("apitest: marshal body: %v", err)
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatalf("apitest: %s %s: %v", method, path, err)
	}
	for k, vs := range c.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(hdr)%2 != 0 {
		t.Fatalf("apitest: header pairs %q are odd", hdr)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

// Send sends req, validates it and its response, and returns the response.
func (c *Client) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	input, body := c.checkRequest(t, req)
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("apitest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("apitest: %s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	out := &Response{Status: res.StatusCode, Header: res.Header, Body: data}
	c.checkResponse(t, input, out, false)
	return out
}

// Stream sends GET path for an event stream, validates the request and the
// response's status and headers, and returns the open response; the caller
// closes its body.
func (c *Client) Stream(t testing.TB, path string, hdr ...string) *http.Response {
	t.Helper()
	req := c.NewRequest(t, http.MethodGet, path, nil, hdr...)
	input, _ := c.checkRequest(t, req)
	client := *c.HTTP
	client.Timeout = 0
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("apitest: GET %s: %v", path, err)
	}
	c.checkResponse(t, input, &Response{Status: res.StatusCode, Header: res.Header}, true)
	return res
}

// checkRequest validates req (buffering its body) and returns the input for
// the response check, nil when the path is not documented and unchecked.
func (c *Client) checkRequest(t testing.TB, req *http.Request) (*openapi3filter.RequestValidationInput, []byte) {
	t.Helper()
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			t.Fatalf("apitest: read request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if c.checked {
			t.Fatalf("apitest: %s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		}
		return nil, body
	}
	input := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			IncludeResponseStatus: true, MultiError: true}}
	if c.checked {
		if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
			t.Fatalf("apitest: request %s %s does not match the OpenAPI document:\n%v", req.Method, req.URL.Path, err)
		}
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return input, body
}

func (c *Client) checkResponse(t testing.TB, input *openapi3filter.RequestValidationInput, res *Response, headersOnly bool) {
	t.Helper()
	if input == nil {
		return
	}
	opts := *input.Options
	opts.ExcludeResponseBody = headersOnly
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: res.Status,
		Header: res.Header, Body: io.NopCloser(bytes.NewReader(res.Body)), Options: &opts}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Fatalf("apitest: response %d to %s %s does not match the OpenAPI document:\n%v\nbody: %s",
			res.Status, input.Request.Method, input.Request.URL.Path, err, truncate(res.Body))
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// Want fails the test unless the response has status.
func (r *Response) Want(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, truncate(r.Body))
	}
	return r
}

// Decode unmarshals the JSON body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode body: %v; body: %s", err, truncate(r.Body))
	}
}

// ErrorBody is the contract's error envelope.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// WantError fails the test unless the response has status and the error
// envelope with code; it returns the envelope.
func (r *Response) WantError(t testing.TB, status int, code string) ErrorBody {
	t.Helper()
	r.Want(t, status)
	var e ErrorBody
	r.Decode(t, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error = %+v, want code %q with a message", e.Error, code)
	}
	return e
}
