// Package queue owns the walk-in queue of an office: tickets drawn at the kiosk,
// appointment check-ins, counters calling the next ticket, the ticket actions
// of staff, the office event stream that feeds the waiting-room displays over
// Server-Sent Events, waiting-time estimates and daily statistics.
//
// # Shape
//
// Every state change (draw, check-in, open/close counter, call-next, recall,
// no-show, finish, transfer, park, unpark) is one Lua script that also XADDs
// its event to the office's event stream (internal/events, MAXLEN ~), so a
// display is told exactly what happened, and nothing else. Scripts get all
// keys in KEYS (see scope.keys: the day's meta, tickets and tokens hashes, the
// counters hash, the latest-calls list, the service-time averages, the event
// stream, and one appointment and one walk-in sorted set per service of the
// office) and `now` in ARGV; none reads the clock or builds a key.
//
// # Keys (keys.go; all "rathaus:{<office>}:q:…", so one slot per office)
//
//	<day>:meta        hash: seq:<letter>, quota:<service>, arrival, appt:<id>   (48 h)
//	<day>:tickets     hash: number → ticket JSON (no personal data)            (400 days, for statistics)
//	<day>:tokens      hash: SHA-256(token secret) → number                     (48 h)
//	<day>:appt:<svc>  zset: checked-in appointments by start (Unix ms)         (48 h)
//	<day>:walk:<svc>  zset: walk-ins by arrival sequence                       (48 h)
//	counters          hash: counter id → {open, services, current, by, since, call_key}
//	calls             list: latest 20 calls {number, counter, called_at}
//	service_times     hash: service → moving average of the service time (s)
//
// <day> is the office-local date, so numbers restart at local midnight, also
// on the 23- and 25-hour days of DST changes.
//
// # Call order
//
// CallsBefore and NextFor (rules.go) are the rule; callNextCmd implements it
// and TestConcurrentCallNext checks the script against the rule call by call:
// appointments that are due (start <= now) first, earliest start first, then
// by arrival; then walk-ins by arrival across all services the counter
// serves. An appointment that checked in early waits until its start; one
// checked in later than the grace period becomes a walk-in (or is refused,
// Options.Late). A transferred or unparked ticket keeps its arrival, so it
// goes to its old place in the new queue. call-next finishes the ticket the
// counter still has called — unless it is a retry: a call with the
// Idempotency-Key that the counter's called ticket was called with gets that
// ticket again and changes nothing (its first answer was lost). call_key is
// "<first 16 bytes of SHA-256 of the key, hex> <number>" of the counter's last
// call with a key.
//
// # Tokens
//
// A citizen's token is "<office>.<YYYYMMDD>.<secret>" with a 128-bit secret
// from crypto/rand (base64url); the office and day in it locate the ticket, so
// the status URL needs no office. Only the secret's SHA-256 is stored.
//
// # Displays
//
// Each process runs one reader per office (Hub: a blocking XREAD loop that
// starts on the first subscriber) and fans events out to its SSE clients in
// memory; 1,000 displays cost one Redis reader per process. A display
// resumes with Last-Event-ID: the handler subscribes first, then replays the
// stream after that id with XRANGE, then follows live, skipping what it has
// replayed: no gap, no duplicate. A client that cannot keep up is dropped and
// resumes the same way. The snapshot's last_event_id is where a fresh display
// starts its stream. Payloads carry ticket numbers, services and counters only.
//
// # Estimates
//
// A waiting ticket's estimate is the tickets ahead of it in its service's
// queue times that service's moving-average service time (learned on finish,
// weight Options.Alpha; the configured duration until observed), divided by
// the open counters serving the service (at least one). Positions count
// within the ticket's service (due appointments first), not across services.
package queue
