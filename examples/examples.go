// Package examples ships the example files of rathaus; the demo office is the
// example offices file itself, so the two can never drift apart.
package examples

import _ "embed"

// OfficesYAML is examples/offices.yaml: the built-in demo office.
//
//go:embed offices.yaml
var OfficesYAML []byte
