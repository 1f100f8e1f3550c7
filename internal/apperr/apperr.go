// Package apperr holds the one error type of rathaus. Errors are data: a kind
// that decides the HTTP status, a stable snake_case code that programs can
// rely on, and a message in German and English that is safe to show.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error; internal/httpx maps each kind to one HTTP status.
type Kind int

// The kinds of error. The zero value is KindInternal so that a forgotten kind
// never leaks as a client error.
const (
	KindInternal Kind = iota
	KindMalformed
	KindUnauthorized
	KindForbidden
	KindNotFound
	KindConflict
	KindTooLarge
	KindUnsupportedMedia
	KindInvalid
	KindRateLimited
	KindUnavailable
	KindMethodNotAllowed
)

// Error is an error that may be shown to the caller.
type Error struct {
	Kind Kind
	// Code is a stable snake_case identifier, e.g. "slot_taken".
	Code string
	// De and En are the human messages; German is the default language.
	De, En string
	// Field names the offending request field for KindInvalid errors.
	Field string
	// RetryAfter is sent as the Retry-After header when set.
	RetryAfter time.Duration
	// Details are extra, documented fields of the error object (e.g. a closure).
	Details map[string]any
	// Err is the cause, logged but never shown.
	Err error
}

// Error implements error with the English message and the cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.En, e.Err)
	}
	return e.Code + ": " + e.En
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Message returns the message in the language lang ("en" or anything else for German).
func (e *Error) Message(lang string) string {
	if lang == "en" && e.En != "" {
		return e.En
	}
	if e.De == "" {
		return e.En
	}
	return e.De
}

// New returns an error of the given kind and code with a German and an English message.
func New(kind Kind, code, de, en string) *Error {
	return &Error{Kind: kind, Code: code, De: de, En: en}
}

// Invalid returns a KindInvalid (422) error for field.
func Invalid(field, code, de, en string) *Error {
	return &Error{Kind: KindInvalid, Code: code, De: de, En: en, Field: field}
}

// Malformed returns a KindMalformed (400) error.
func Malformed(code, de, en string) *Error { return New(KindMalformed, code, de, en) }

// NotFound returns a KindNotFound (404) error.
func NotFound(code, de, en string) *Error { return New(KindNotFound, code, de, en) }

// Conflict returns a KindConflict (409) error.
func Conflict(code, de, en string) *Error { return New(KindConflict, code, de, en) }

// Unavailable returns the error for an unreachable store.
func Unavailable(cause error) *Error {
	return &Error{Kind: KindUnavailable, Code: "store_unavailable",
		De:         "Der Dienst ist vorübergehend nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
		En:         "The service is temporarily unavailable. Please try again shortly.",
		RetryAfter: 5 * time.Second, Err: cause}
}

// RateLimited returns a 429 error that asks the caller to wait retry.
func RateLimited(code, de, en string, retry time.Duration) *Error {
	e := New(KindRateLimited, code, de, en)
	e.RetryAfter = retry
	return e
}

// With returns a copy of e carrying cause as its Err.
func (e *Error) With(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of err; errors that are not *Error are KindInternal.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return KindInternal
}

// CodeOf returns the code of err, or "internal".
func CodeOf(err error) string {
	if e := As(err); e != nil {
		return e.Code
	}
	return "internal"
}
