package httpx

import "github.com/rathaus/rathaus/internal/apperr"

// Envelope returns the status and error body that Error would write for err
// in lang, for answers that are stored and replayed (Idempotency-Key).
func Envelope(err error, lang string) (int, ErrorBody) {
	e := apperr.As(err)
	if e == nil {
		e = internalErr
	}
	return statusOf[e.Kind], ErrorBody{Error: ErrorObject{Code: e.Code, Message: e.Message(lang), Field: e.Field, Details: e.Details}}
}
