package notify

// Every key of an office carries the office as hash tag, so a domain script
// can append to the outbox in the same slot as the change it makes.

// OutboxKey is the office's outbox stream. Domains pass it to their scripts
// in KEYS and XADD a field "msg" holding a JSON Message.
func OutboxKey(office string) string { return "rathaus:{" + office + "}:outbox" }

// DeadLetterKey is the office's stream of messages that failed too often.
func DeadLetterKey(office string) string { return "rathaus:{" + office + "}:outbox:dead" }

// RetryKey is the office's sorted set of outbox messages waiting for their
// next try after a failure: member is "<failed attempts>:<Message JSON>",
// score the due time in Unix milliseconds. The worker moves due members back
// into the outbox stream.
func RetryKey(office string) string { return "rathaus:{" + office + "}:outbox:retry" }

// OutboxGroup is the consumer group every outbox worker reads with.
const OutboxGroup = "mailer"

// SchedLockKey is the lock of one scheduled run: a job at one instant (a
// string built by the scheduler from the local wall-clock time).
func SchedLockKey(job, instant string) string {
	return "rathaus:{sched:" + job + "}:lock:" + instant
}

// SchedLastKey holds the Unix milliseconds of a job's latest scheduled
// instant that was run (or taken by another replica), so that a run missed
// while every server was down is caught up on start.
func SchedLastKey(job string) string { return "rathaus:{sched:" + job + "}:last" }
