// Package apidoc holds the OpenAPI 3 document of the HTTP API. It is written by
// hand, kept in the repository and tested against the registered routes and the
// end-to-end traffic.
package apidoc

import _ "embed"

// JSON is openapi.json.
//
//go:embed openapi.json
var JSON []byte
