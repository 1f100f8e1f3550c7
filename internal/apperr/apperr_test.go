package apperr

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestMessage(t *testing.T) {
	tests := []struct {
		e    *Error
		lang string
		want string
	}{
		{New(KindConflict, "slot_taken", "Vergeben.", "Taken."), "de", "Vergeben."},
		{New(KindConflict, "slot_taken", "Vergeben.", "Taken."), "en", "Taken."},
		{New(KindConflict, "slot_taken", "Vergeben.", "Taken."), "fr", "Vergeben."},
		{New(KindConflict, "slot_taken", "", "Taken."), "de", "Taken."},
		{New(KindConflict, "slot_taken", "Vergeben.", ""), "en", "Vergeben."},
	}
	for _, tt := range tests {
		if got := tt.e.Message(tt.lang); got != tt.want {
			t.Errorf("Message(%q) of %+v = %q, want %q", tt.lang, tt.e, got, tt.want)
		}
	}
}

func TestWrapping(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	base := Malformed("bad", "Schlecht.", "Bad.")
	e := base.With(cause)
	if base.Err != nil {
		t.Fatal("With changed the original")
	}
	wrapped := fmt.Errorf("booking.Book: %w", e)
	if got := As(wrapped); got != e || KindOf(wrapped) != KindMalformed || CodeOf(wrapped) != "bad" {
		t.Fatalf("As/KindOf/CodeOf through a wrap: %v %d %s", got, KindOf(wrapped), CodeOf(wrapped))
	}
	if !errors.Is(wrapped, cause) {
		t.Fatal("the cause is not reachable")
	}
	plain := errors.New("boom")
	if As(plain) != nil || KindOf(plain) != KindInternal || CodeOf(plain) != "internal" {
		t.Fatal("a plain error is not internal")
	}
	u := Unavailable(cause)
	if u.Kind != KindUnavailable || u.RetryAfter < time.Second || !errors.Is(u, cause) {
		t.Fatalf("Unavailable = %+v", u)
	}
	if r := RateLimited("slow", "Langsam.", "Slow.", 3*time.Second); r.Kind != KindRateLimited || r.RetryAfter != 3*time.Second {
		t.Fatalf("RateLimited = %+v", r)
	}
	if i := Invalid("email", "invalid_email", "Ungültig.", "Invalid."); i.Kind != KindInvalid || i.Field != "email" {
		t.Fatalf("Invalid = %+v", i)
	}
}
