package booking

import (
	"encoding/json"

	"github.com/rathaus/rathaus/internal/apperr"
)

func codeOf(err error) string { return apperr.CodeOf(err) }

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
