// Package httpx is the HTTP layer shared by every domain: the error envelope,
// strict JSON decoding, the language of a request and the middleware chain.
package httpx

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/rathaus/rathaus/internal/apperr"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[apperr.Kind]int{
	apperr.KindInternal:         http.StatusInternalServerError,
	apperr.KindMalformed:        http.StatusBadRequest,
	apperr.KindUnauthorized:     http.StatusUnauthorized,
	apperr.KindForbidden:        http.StatusForbidden,
	apperr.KindNotFound:         http.StatusNotFound,
	apperr.KindConflict:         http.StatusConflict,
	apperr.KindTooLarge:         http.StatusRequestEntityTooLarge,
	apperr.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	apperr.KindInvalid:          http.StatusUnprocessableEntity,
	apperr.KindRateLimited:      http.StatusTooManyRequests,
	apperr.KindUnavailable:      http.StatusServiceUnavailable,
	apperr.KindMethodNotAllowed: http.StatusMethodNotAllowed,
}

// StatusOf returns the HTTP status for err.
func StatusOf(err error) int {
	if s, ok := statusOf[apperr.KindOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the contract's error envelope.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the inside of the envelope.
type ErrorObject struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Field   string         `json:"field,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

var internalErr = apperr.New(apperr.KindInternal, "internal",
	"Interner Fehler. Bitte versuchen Sie es später noch einmal.", "Internal error. Please try again later.")

// Error writes err as the contract's error envelope and aborts the chain.
// Errors that are not *apperr.Error become "internal" and are logged with the
// cause; their text is never shown.
func Error(c *gin.Context, err error) {
	e := apperr.As(err)
	if e == nil {
		e = internalErr
	}
	status, ok := statusOf[e.Kind]
	if !ok {
		e, status = internalErr, http.StatusInternalServerError
	}
	if status >= 500 {
		slog.ErrorContext(c.Request.Context(), "request failed", "request_id", RequestID(c),
			"route", c.FullPath(), "code", e.Code, "err", err)
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	c.Error(err) //nolint:errcheck // recorded for the access log
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorObject{
		Code: e.Code, Message: e.Message(Lang(c)), Field: e.Field, Details: e.Details,
	}})
}

// Common errors of the HTTP layer.
var (
	ErrNotFoundRoute = apperr.NotFound("not_found", "Diese Adresse gibt es nicht.", "There is no such address.")
	ErrMethod        = apperr.New(apperr.KindMethodNotAllowed, "method_not_allowed", "Diese Methode ist hier nicht erlaubt.", "This method is not allowed here.")
	ErrTooLarge      = apperr.New(apperr.KindTooLarge, "body_too_large", "Die Anfrage ist zu groß (höchstens 1 MiB).", "The request body is too large (at most 1 MiB).")
	ErrMediaType     = apperr.New(apperr.KindUnsupportedMedia, "unsupported_media_type", "Die Anfrage muss JSON sein (Content-Type: application/json).", "The request body must be JSON (Content-Type: application/json).")
)
