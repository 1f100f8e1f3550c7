// Package notify sends what the domains ask to be told: the outbox (a Redis
// Stream per office with a consumer group), e-mail rendering and sending,
// iCalendar building and the scheduler. It knows nothing of booking or queue
// beyond the messages they hand it.
package notify

import "time"

// Kinds of message.
const (
	KindConfirmation = "confirmation" // appointment booked (METHOD:REQUEST)
	KindVerification = "verification" // please confirm your e-mail address
	KindReschedule   = "reschedule"   // appointment moved (METHOD:REQUEST, higher SEQUENCE)
	KindCancellation = "cancellation" // appointment cancelled (METHOD:CANCEL)
	KindClosure      = "closure"      // cancelled by a closure, with alternatives (METHOD:CANCEL)
	KindReminder     = "reminder"     // reminder before the appointment (METHOD:REQUEST, same SEQUENCE)
)

// Message is one outbox entry: everything needed to render and send one mail.
// Domains build it, encode it as JSON and append it to the outbox stream
// (field "msg") inside the Lua script that makes the change, so nothing is told
// that did not happen and nothing that happened goes untold.
type Message struct {
	// ID is stable for the life of the message; it becomes the Message-ID.
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Office Office `json:"office"`
	// Locale is "de" or "en".
	Locale string `json:"locale"`
	To     string `json:"to"`
	ToName string `json:"to_name"`
	// Appointment is set for every kind about an appointment.
	Appointment *Appointment `json:"appointment,omitempty"`
	// Closure is set for KindClosure.
	Closure *Closure `json:"closure,omitempty"`
	// Alternatives are suggested free slots (KindClosure).
	Alternatives []Alternative `json:"alternatives,omitempty"`
	// VerifyURL is the link that confirms the e-mail address (KindVerification).
	VerifyURL string    `json:"verify_url,omitempty"`
	Created   time.Time `json:"created"`
}

// Text is a text in German and English.
type Text struct {
	De string `json:"de"`
	En string `json:"en"`
}

// Office is what a mail says about the office.
type Office struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Address  string `json:"address,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Timezone string `json:"timezone"`
}

// Appointment is what a mail says about an appointment.
type Appointment struct {
	// UID is the iCalendar UID, the same for the appointment's whole life.
	UID string `json:"uid"`
	// Sequence rises with every change (iCalendar SEQUENCE).
	Sequence  int    `json:"sequence"`
	Code      string `json:"code"`
	Service   Text   `json:"service"`
	Documents struct {
		De []string `json:"de"`
		En []string `json:"en"`
	} `json:"documents"`
	Fee       Text      `json:"fee"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	ManageURL string    `json:"manage_url"`
	ICSURL    string    `json:"ics_url"`
	// PreviousStart is the old start of a moved appointment (KindReschedule).
	PreviousStart *time.Time `json:"previous_start,omitempty"`
}

// Closure is what a mail says about a closure.
type Closure struct {
	Title   Text   `json:"title"`
	Message Text   `json:"message"`
	From    string `json:"from"`  // YYYY-MM-DD, inclusive
	Until   string `json:"until"` // YYYY-MM-DD, inclusive
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
	ComeBy  string `json:"come_by,omitempty"` // YYYY-MM-DD
}

// Alternative is a suggested slot with a one-click rebook link.
type Alternative struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	RebookURL string    `json:"rebook_url"`
}
