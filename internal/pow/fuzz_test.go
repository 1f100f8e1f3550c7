package pow

import (
	"encoding/base64"
	"testing"

	"github.com/rathaus/rathaus/internal/apperr"
	"github.com/rathaus/rathaus/internal/clock"
)

// FuzzCheck: any payload is refused as invalid or required, unless it is a
// real solution; it never panics.
func FuzzCheck(f *testing.F) {
	s := New([]byte("fuzz"), nil, clock.NewSimulated(t0))
	f.Add("")
	f.Add("e30=")
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"algorithm":"SHA-256","challenge":"x","number":-1,"salt":"a?expires=99999999999","signature":"y"}`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"algorithm":"SHA-256","number":1e300,"salt":"?expires=1&expires=2"}`)))
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, payload string) {
		p, _, err := s.Check(payload)
		if err == nil {
			if Hash(p.Salt, p.Number) != p.Challenge || s.sign(p.Challenge) != p.Signature {
				t.Fatalf("Check accepted a false solution: %+v", p)
			}
			return
		}
		if c := apperr.CodeOf(err); c != "proof_of_work_invalid" && c != "proof_of_work_required" {
			t.Fatalf("Check(%q) = %v", payload, err)
		}
	})
}
