package queue

// Every key of the queue carries the office as a hash tag, so that all keys of
// one operation live in one cluster slot (together with events.Key). Keys that
// belong to one day carry the office-local date (YYYY-MM-DD).

func officePrefix(office string) string { return "rathaus:{" + office + "}:q:" }

// metaKey is the day's hash of counters: "seq:<letter>" (ticket sequence per
// letter), "quota:<service>" (walk-in tickets drawn), "arrival" (arrival order),
// "appt:<id>" (ticket number of a checked-in appointment).
func metaKey(office, day string) string { return officePrefix(office) + day + ":meta" }

// ticketsKey is the day's hash: ticket number → ticket JSON (no personal data).
func ticketsKey(office, day string) string { return officePrefix(office) + day + ":tickets" }

// tokensKey is the day's hash: SHA-256 of a ticket token's secret → ticket number.
func tokensKey(office, day string) string { return officePrefix(office) + day + ":tokens" }

// apptQueueKey is the day's sorted set of checked-in appointment tickets of a
// service, scored by their appointment start (Unix ms).
func apptQueueKey(office, day, service string) string {
	return officePrefix(office) + day + ":appt:" + service
}

// walkQueueKey is the day's sorted set of walk-in tickets of a service, scored
// by their arrival order.
func walkQueueKey(office, day, service string) string {
	return officePrefix(office) + day + ":walk:" + service
}

// countersKey is the hash: counter id → counter JSON (open, services, current
// ticket, call_key of the call that called it — see callNextCmd).
func countersKey(office string) string { return officePrefix(office) + "counters" }

// callsKey is the list of the latest calls (JSON), newest first, for the display.
func callsKey(office string) string { return officePrefix(office) + "calls" }

// serviceTimesKey is the hash: service → moving average of its service time in seconds.
func serviceTimesKey(office string) string { return officePrefix(office) + "service_times" }
