package main

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apitest"
)

// testRouter builds the app's gin engine as Run would, on the embedded store.
func testRouter(t *testing.T) *gin.Engine {
	t.Helper()
	a, err := newApp(testConfig(t), Options{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close() })
	return a.router()
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// documented reports whether gin path p belongs in the OpenAPI document.
func documented(p string) bool {
	return strings.HasPrefix(p, "/api/v1/") || p == "/healthz" || p == "/readyz" || p == "/metrics"
}

// TestOpenAPIMatchesRoutes walks gin's route list: every API route is in the
// document and every documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, err := apitest.Document() // loads and validates with kin-openapi
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, r := range testRouter(t).Routes() {
		if !documented(r.Path) {
			continue
		}
		p := ginParam.ReplaceAllString(r.Path, "{$1}")
		routes = append(routes, r.Method+" "+p)
		item := doc.Paths.Value(p)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in the OpenAPI document", r.Method, p)
		}
	}
	t.Logf("%d routes: %v", len(routes), routes)
	if len(routes) < 8 {
		t.Fatalf("only %d routes found: %v", len(routes), routes)
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !slices.Contains(routes, method+" "+path) {
				t.Errorf("documented %s %s is not a route", method, path)
			}
		}
	}
}
