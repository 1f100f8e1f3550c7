package queue

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apidoc"
	"github.com/rathaus/rathaus/internal/auth"
	"github.com/rathaus/rathaus/internal/redistest"
)

// TestOpenAPIDocumentsEveryRoute: the merged document is valid OpenAPI 3 and
// documents every route the queue registers, with its method.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(apidoc.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	st := redistest.OpenURL(t, "")
	f := newFixture(t, st, at(t, "2026-10-01 09:00"), nil)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	authHTTP := auth.NewHTTP(auth.NewService(st.Client, f.clock, slog.New(slog.NewTextHandler(io.Discard, nil))), false)
	NewHTTP(f.svc).Register(r.Group("/api/v1"), authHTTP)
	param := regexp.MustCompile(`:([a-z_]+)`)
	routes := r.Routes()
	if len(routes) < 13 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		path := param.ReplaceAllString(rt.Path, "{$1}")
		item := doc.Paths.Find(path)
		if item == nil {
			t.Errorf("%s %s is not documented", rt.Method, path)
			continue
		}
		if item.GetOperation(strings.ToUpper(rt.Method)) == nil {
			t.Errorf("%s %s: the method is not documented", rt.Method, path)
		}
	}
}

// TestResponsesMatchOpenAPI checks real responses against the documented schemas.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(apidoc.JSON)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, schema string, body []byte, pick func(map[string]any) any) {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v: %s", what, err, body)
		}
		var val any = v
		if pick != nil {
			val = pick(v)
		}
		if err := doc.Components.Schemas[schema].Value.VisitJSON(val); err != nil {
			t.Errorf("%s does not match %s: %v\n%s", what, schema, err, body)
		}
	}
	field := func(k string) func(map[string]any) any { return func(m map[string]any) any { return m[k] } }
	closures := &switchClosure{}
	s := newTestServer(t, redistest.OpenURL(t, ""), at(t, "2026-10-01 09:00"), func(c *Config) { c.Closures = closures })
	_, body := s.do(t, "POST", "/api/v1/offices/testamt/tickets", map[string]string{"service": "pass"}, false)
	check("POST tickets", "IssuedTicket", body, nil)
	var iss Issued
	_ = json.Unmarshal(body, &iss)
	_, body = s.do(t, "GET", "/api/v1/tickets/"+iss.Token, nil, false)
	check("GET tickets/{token}", "QueueTicket", body, field("ticket"))
	staff := "/api/v1/staff/offices/testamt"
	_, body = s.do(t, "POST", staff+"/counters/1/open", nil, true)
	check("open", "Counter", body, field("counter"))
	_, body = s.do(t, "POST", staff+"/counters/1/call-next", nil, true)
	check("call-next", "StaffTicket", body, field("ticket"))
	_, body = s.do(t, "POST", staff+"/tickets/B001/finish", nil, true)
	check("finish", "StaffTicket", body, field("ticket"))
	_, body = s.do(t, "GET", staff+"/tickets", nil, true)
	check("tickets", "StaffTicket", body, func(m map[string]any) any { return m["tickets"].([]any)[0] })
	_, body = s.do(t, "GET", staff+"/stats?from=2026-10-01&to=2026-10-01", nil, true)
	check("stats", "StatRow", body, func(m map[string]any) any { return m["days"].([]any)[0] })
	closures.set(&Closure{ID: "c", From: "2026-10-01", Until: "2026-10-01", Title: "T", Message: "M"})
	_, body = s.do(t, "GET", "/api/v1/offices/testamt/display", nil, false)
	check("display", "Display", body, nil)
}
