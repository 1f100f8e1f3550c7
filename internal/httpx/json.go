package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// DecodeJSON reads the request body strictly into v: exactly one JSON value,
// no unknown fields, right types. Each failure is a 400 (413 when too large)
// with a message naming the problem.
func DecodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrTooLarge
		}
		return apperr.Malformed("unreadable_body", "Die Anfrage konnte nicht gelesen werden.", "The request body could not be read.").With(err)
	}
	return DecodeJSONBytes(body, v)
}

// DecodeJSONBytes is DecodeJSON on a body already read.
func DecodeJSONBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Malformed("empty_body", "Die Anfrage hat keinen Inhalt; JSON erwartet.", "The request body is empty; JSON expected.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.Malformed("malformed_json", "Nach dem JSON-Objekt folgt noch etwas.", "There is data after the JSON value.")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		return apperr.Malformed("malformed_json",
			fmt.Sprintf("Ungültiges JSON an Position %d.", syn.Offset),
			fmt.Sprintf("Malformed JSON at offset %d.", syn.Offset)).With(err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		e := apperr.Malformed("wrong_type",
			fmt.Sprintf("Das Feld %q hat den falschen Typ (erwartet: %s).", field, typ.Type),
			fmt.Sprintf("Field %q has the wrong type (expected %s).", field, typ.Type)).With(err)
		e.Field = field
		return e
	case strings.HasPrefix(msg, "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		e := apperr.Malformed("unknown_field",
			fmt.Sprintf("Unbekanntes Feld %q.", name), fmt.Sprintf("Unknown field %q.", name)).With(err)
		e.Field = name
		return e
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.Malformed("malformed_json", "Das JSON ist unvollständig.", "The JSON is incomplete.").With(err)
	case strings.Contains(msg, "exceeded max depth"):
		return apperr.Malformed("malformed_json", "Das JSON ist zu tief verschachtelt.", "The JSON is nested too deeply.").With(err)
	}
	return apperr.Malformed("malformed_json", "Ungültiges JSON.", "Malformed JSON.").With(err)
}

// Lang returns "en" when the request prefers English, else "de".
// The order of Accept-Language decides; quality values are honoured.
func Lang(c *gin.Context) string {
	if v, ok := c.Get(langKey); ok {
		return v.(string)
	}
	l := ParseLang(c.GetHeader("Accept-Language"))
	c.Set(langKey, l)
	return l
}

const langKey = "rathaus.lang"

// ParseLang picks "de" or "en" from an Accept-Language header; German by default.
func ParseLang(h string) string {
	best, bestQ := "de", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		base, _, _ := strings.Cut(tag, "-")
		if base != "de" && base != "en" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if q > 0 && q > bestQ { // q=0 means "not this language"
			best, bestQ = base, q
		}
	}
	return best
}
