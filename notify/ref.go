package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// A Ref is an outbox entry that names what a mail is about instead of
// carrying it: "r1|<kind>|<subject>|<seq>|<extra>", about 40 bytes instead of
// the 800 of a rendered Message. The worker asks the Resolver of the domain
// that wrote it to build the Message when the entry is sent, from the data the
// domain holds then. Domains write Refs for the mails of their high-volume
// records (booking: an appointment's confirmation, reminder, move and
// cancellation), so that Redis holds each appointment once, not once more per
// pending mail; mails whose content exists nowhere else (a closure's message
// with its alternatives) stay full Messages.
type Ref struct {
	Kind string
	// Subject is the domain's id of the record, e.g. an appointment id.
	Subject string
	// Seq is the record's version the mail belongs to.
	Seq int
	// Extra is kind-specific, e.g. the previous start of a move (Unix seconds).
	Extra string
}

const refPrefix = "r1|"

// Encode is the outbox field value of r.
func (r Ref) Encode() string {
	return refPrefix + r.Kind + "|" + r.Subject + "|" + strconv.Itoa(r.Seq) + "|" + r.Extra
}

// RefPrefix is how the encoded Refs of kind begin: a domain's Lua script that
// writes Refs itself completes it with subject .. "|" .. seq .. "|" .. extra.
func RefPrefix(kind string) string { return refPrefix + kind + "|" }

// MessageID is the Message-ID base of r's mail: "<subject>-<kind>-<seq>",
// the same scheme domains use for full Messages, so that a mail keeps its
// identity however it was queued. A reminder with an extra (the second one
// of an appointment, "2h") adds it: "<subject>-reminder-<seq>-2h".
func (r Ref) MessageID() string {
	id := r.Subject + "-" + r.Kind + "-" + strconv.Itoa(r.Seq)
	if r.Kind == KindReminder && r.Extra != "" {
		id += "-" + r.Extra
	}
	return id
}

// ParseRef reads an outbox value; ok is false when raw is not a Ref (a
// Message JSON, or garbage).
func ParseRef(raw string) (Ref, bool) {
	rest, ok := strings.CutPrefix(raw, refPrefix)
	if !ok {
		return Ref{}, false
	}
	parts := strings.SplitN(rest, "|", 4)
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" {
		return Ref{}, false
	}
	seq, err := strconv.Atoi(parts[2])
	if err != nil || seq < 0 {
		return Ref{}, false
	}
	return Ref{Kind: parts[0], Subject: parts[1], Seq: seq, Extra: parts[3]}, true
}

// Resolver builds the Message of a Ref of one office. ok false means the mail
// has become pointless (its record was deleted, or a later change supersedes
// it): the worker drops the entry without sending. An error is a passing
// failure (the store is down): the entry stays and is tried again.
type Resolver interface {
	Resolve(ctx context.Context, office string, r Ref) (msg Message, ok bool, err error)
}

// BatchResolver is a Resolver that also resolves the references of one batch
// at once (in one round trip to its store); the worker uses it for the
// entries it reads.
type BatchResolver interface {
	Resolver
	ResolveAll(ctx context.Context, office string, refs []Ref) ([]Resolved, error)
}

// Resolved is what Resolve returns for one reference of a batch.
type Resolved struct {
	Msg Message
	OK  bool
}

// ErrNoResolver is the failure of a Ref entry read by a worker that has no
// Resolver: a wiring mistake, so the entry waits (retries) instead of being lost.
var ErrNoResolver = errors.New("notify: outbox holds a reference but the worker has no resolver")

// entryID is the Message-ID of an outbox value (Ref or Message JSON), "" when
// it is neither.
func entryID(raw string) string {
	if r, ok := ParseRef(raw); ok {
		return r.MessageID()
	}
	var m struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(raw), &m) != nil {
		return ""
	}
	return m.ID
}
