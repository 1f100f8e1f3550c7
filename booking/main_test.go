package booking

import (
	"testing"

	"github.com/rathaus/rathaus/internal/redistest"
)

// TestMain runs the tests; on the cluster backend every script of the
// package must then have run there (see redistest.Main).
func TestMain(m *testing.M) { redistest.Main(m) }
