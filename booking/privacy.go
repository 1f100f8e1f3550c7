package booking

import (
	"context"
	"time"

	"github.com/rathaus/rathaus/internal/store"
	"github.com/rathaus/rathaus/notify"
)

// PersonalData is everything the booking store holds about the holder of
// one appointment (GDPR Art. 15 and 20): the stored record field by field,
// and when it will be deleted.
type PersonalData struct {
	// Office names the controller's office.
	Office string `json:"office"`
	// Appointment is the stored record: name, e-mail address, phone,
	// language, times, status, code, history of changes.
	Appointment map[string]string `json:"appointment"`
	// DeleteAfter is when the retention job deletes the record at the latest.
	DeleteAfter time.Time `json:"delete_after"`
	// Elsewhere says what else may hold the data for a short time.
	Elsewhere []string `json:"elsewhere"`
}

// Export returns the personal data stored for the appointment of token.
func (s *Bookings) Export(ctx context.Context, token string) (PersonalData, error) {
	a, o, err := s.Get(ctx, token)
	if err != nil {
		return PersonalData{}, err
	}
	m, err := s.st.rdb.HGetAll(ctx, apptKey(o.ID, a.ID)).Result()
	if err != nil {
		return PersonalData{}, store.Wrap("booking.Export", err)
	}
	if len(m) == 0 {
		return PersonalData{}, ErrAppointmentNotFound
	}
	return PersonalData{Office: o.Name, Appointment: exportFields(m, o.ID, o.Location),
		DeleteAfter: a.End.Add(time.Duration(o.RetentionDays) * 24 * time.Hour).In(o.Location),
		Elsewhere: []string{
			"e-mails to you wait in the outbox until they are sent (then they are deleted); mails that could not be delivered are kept as long as the appointment, or until you erase your data",
			"e-mails waiting in the outbox name the appointment only; they are written from the record above when sent",
		}}, nil
}

// Erase cancels the appointment of token if it is still active (the holder
// is told as with any cancellation) and deletes its personal data now
// instead of after the retention period. The token no longer works after.
func (s *Bookings) Erase(ctx context.Context, token string) error {
	a, o, err := s.Get(ctx, token)
	if err != nil {
		return err
	}
	if a.Active() {
		if _, err := s.cancel(ctx, token, "erased"); err != nil {
			return err
		}
	}
	if err := s.st.forget(ctx, o, a); err != nil {
		return err
	}
	if err := notify.ForgetMessages(ctx, s.st.rdb, o.ID, a.ID+"-"); err != nil {
		return store.Wrap("booking.Erase", err)
	}
	s.log.Info("booking: personal data erased on request", "office", o.ID, "appointment", a.ID)
	return nil
}
