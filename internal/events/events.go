// Package events names the office event stream (a capped Redis Stream) that
// queue changes and closure publications append to in the same script as the
// change, and that every server replica reads once per office to fan out to
// its waiting-room displays.
package events

// Key is the office's event stream. Scripts XADD with MAXLEN ~ MaxLen and the
// fields "type" and "data" (JSON, never a name or an e-mail address).
func Key(office string) string { return "rathaus:{" + office + "}:events" }

// MaxLen caps the stream; a display that was away for longer resumes from the snapshot.
const MaxLen = 10000

// Event types.
const (
	TicketIssued     = "issued"
	TicketCalled     = "called"
	TicketRecalled   = "recalled"
	TicketFinished   = "finished"
	TicketNoShow     = "no_show"
	TicketChanged    = "changed" // transfer, park, unpark
	ClosurePublished = "closure"
)
