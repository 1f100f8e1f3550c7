// Package apidoc holds the OpenAPI 3 document of the HTTP API. It is written by
// hand in parts (one file per domain under parts/, so that domains can grow
// their part independently), merged once at start, and tested against the
// registered routes and the end-to-end traffic.
package apidoc

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
)

//go:embed parts/*.json
var parts embed.FS

// JSON is the merged document.
var JSON = mustMerge()

type part struct {
	OpenAPI    string                     `json:"openapi,omitempty"`
	Info       json.RawMessage            `json:"info,omitempty"`
	Servers    json.RawMessage            `json:"servers,omitempty"`
	Tags       []json.RawMessage          `json:"tags,omitempty"`
	Paths      map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas,omitempty"`
		Responses       map[string]json.RawMessage `json:"responses,omitempty"`
		Parameters      map[string]json.RawMessage `json:"parameters,omitempty"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes,omitempty"`
	} `json:"components"`
}

// Merge combines the parts: base.json gives openapi, info and servers; every
// part adds paths and components. A path or component defined twice is an error.
func Merge(fsys fs.FS) ([]byte, error) {
	names, err := fs.Glob(fsys, "parts/*.json")
	if err != nil {
		return nil, fmt.Errorf("apidoc.Merge: %w", err)
	}
	slices.Sort(names)
	var doc part
	doc.Paths = map[string]json.RawMessage{}
	doc.Components.Schemas = map[string]json.RawMessage{}
	doc.Components.Responses = map[string]json.RawMessage{}
	doc.Components.Parameters = map[string]json.RawMessage{}
	doc.Components.SecuritySchemes = map[string]json.RawMessage{}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("apidoc.Merge: %w", err)
		}
		var p part
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("apidoc: %s: %w", n, err)
		}
		if p.OpenAPI != "" {
			doc.OpenAPI, doc.Info, doc.Servers = p.OpenAPI, p.Info, p.Servers
		}
		doc.Tags = append(doc.Tags, p.Tags...)
		for _, m := range []struct{ dst, src map[string]json.RawMessage }{
			{doc.Paths, p.Paths}, {doc.Components.Schemas, p.Components.Schemas},
			{doc.Components.Responses, p.Components.Responses}, {doc.Components.Parameters, p.Components.Parameters},
			{doc.Components.SecuritySchemes, p.Components.SecuritySchemes},
		} {
			for k := range m.src {
				if _, dup := m.dst[k]; dup {
					return nil, fmt.Errorf("apidoc: %s: %q is defined twice", n, k)
				}
			}
			maps.Copy(m.dst, m.src)
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

func mustMerge() []byte {
	b, err := Merge(parts)
	if err != nil {
		panic(err)
	}
	return b
}
