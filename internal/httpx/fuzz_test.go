package httpx

import (
	"testing"

	"github.com/rathaus/rathaus/internal/apperr"
)

// FuzzDecodeJSON: any body decodes or fails as a 400/413 apperr, never
// panics, never an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"service":"ummeldung","start":"2026-10-01T09:30:00+02:00","name":"Anna","email":"a@b.de"}`,
		`{"phone":null}`, `{"x":1}`, `[]`, `{"name":1}`, `{} {}`, `{"name":"\ud800"}`, "{\"name\":\"\x00\"}", `[[[[[[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v struct {
			Service string   `json:"service"`
			Start   string   `json:"start"`
			Name    string   `json:"name"`
			Email   string   `json:"email"`
			Phone   *string  `json:"phone"`
			Count   int      `json:"count"`
			List    []string `json:"list"`
		}
		err := DecodeJSONBytes(body, &v)
		if err == nil {
			return
		}
		if k := apperr.KindOf(err); k != apperr.KindMalformed && k != apperr.KindTooLarge {
			t.Fatalf("DecodeJSONBytes(%q) = %v (kind %v), want a malformed-request error", body, err, k)
		}
		if apperr.As(err).Message("en") == "" {
			t.Fatalf("error without a message: %v", err)
		}
	})
}
