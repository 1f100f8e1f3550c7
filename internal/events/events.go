// Package events names the office event stream (a capped Redis Stream) that
// queue changes and closure publications append to in the same script as the
// change, and that every server replica reads once per office to fan out to
// its waiting-room displays.
//
// The queue package owns the stream's implementation: its scripts append, its
// hub reads (one blocking XREAD per office and process) and serves the
// display stream, which honours Last-Event-ID by replaying with XRANGE.
package events

// Key is the office's event stream. Scripts XADD with MAXLEN ~ MaxLen and the
// fields "type" and "data" (JSON, never a name or an e-mail address).
func Key(office string) string { return "rathaus:{" + office + "}:events" }

// MaxLen caps the stream; a display that was away for longer resumes from the snapshot.
const MaxLen = 10000

// Event types and their data (JSON objects):
//
//	issued    {"number","service"}
//	called    {"number","counter"}
//	recalled  {"number","counter"}          (displays receive it as "called")
//	finished  {"number","service"}
//	no_show   {"number","service"}
//	transferred {"number","service","from"}
//	parked    {"number","service"}
//	unparked  {"number","service"}
//	counter   {"counter","open"}
//	closure   the published closure notice
const (
	TicketIssued      = "issued"
	TicketCalled      = "called"
	TicketRecalled    = "recalled"
	TicketFinished    = "finished"
	TicketNoShow      = "no_show"
	TicketTransferred = "transferred"
	TicketParked      = "parked"
	TicketUnparked    = "unparked"
	CounterChanged    = "counter" // opened or closed
	ClosurePublished  = "closure"
)
