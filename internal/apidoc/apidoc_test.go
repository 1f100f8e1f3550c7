package apidoc

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMerge(t *testing.T) {
	base := `{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {}}, "components": {"schemas": {"A": {}}}}`
	t.Run("OK", func(t *testing.T) {
		fsys := fstest.MapFS{
			"parts/00-base.json": {Data: []byte(base)},
			"parts/10-b.json":    {Data: []byte(`{"paths": {"/b": {}}, "components": {"schemas": {"B": {}}}}`)},
		}
		out, err := Merge(fsys)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			OpenAPI    string
			Paths      map[string]any
			Components struct{ Schemas map[string]any }
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.OpenAPI != "3.0.3" || len(doc.Paths) != 2 || len(doc.Components.Schemas) != 2 {
			t.Fatalf("merged = %s", out)
		}
	})
	t.Run("ErrDuplicatePath", func(t *testing.T) {
		fsys := fstest.MapFS{
			"parts/00-base.json": {Data: []byte(base)},
			"parts/10-b.json":    {Data: []byte(`{"paths": {"/a": {}}}`)},
		}
		if _, err := Merge(fsys); err == nil || !strings.Contains(err.Error(), `"/a" is defined twice`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrMalformedPart", func(t *testing.T) {
		fsys := fstest.MapFS{"parts/00-base.json": {Data: []byte(`{"paths": `)}}
		if _, err := Merge(fsys); err == nil || !strings.Contains(err.Error(), "00-base.json") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Embedded", func(t *testing.T) {
		if !json.Valid(JSON) || !strings.Contains(string(JSON), `"/api/v1/auth/login"`) {
			t.Fatal("the embedded document is not the merged parts")
		}
	})
}
