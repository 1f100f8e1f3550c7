package queue

import (
	"context"
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
