package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	start := time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC) // 10:00 in Berlin (CEST)
	wantWhen := map[string]string{"de": "Montag, 5. Oktober 2026, 10:00 Uhr", "en": "Monday, 5 October 2026, 10:00"}
	wantDoc := map[string]string{"de": "Altes Ausweisdokument", "en": "Your old identity document"}
	wantService := map[string]string{"de": "Personalausweis beantragen", "en": "Apply for an identity card"}
	for _, kind := range Kinds {
		for _, l := range Langs {
			t.Run(kind+"/"+l, func(t *testing.T) {
				msg := testMessage("m1", kind, 1, start)
				msg.Locale = l
				r, err := Render(msg)
				if err != nil {
					t.Fatal(err)
				}
				if r.Subject == "" || strings.ContainsAny(r.Subject, "\r\n") {
					t.Errorf("subject %q", r.Subject)
				}
				for _, part := range []struct{ name, body string }{{"text", r.Text}, {"html", r.HTML}} {
					want := []string{"Bürgerbüro Geesthacht", "Markt 15, 21502 Geesthacht", wantService[l], wantWhen[l], "GH-4711",
						"https://rathaus.example/manage/tok123"}
					if kind != KindCancellation && kind != KindClosure {
						want = append(want, wantDoc[l])
					}
					if kind == KindVerification {
						want = append(want, "https://rathaus.example/verify/v-abc")
					}
					if kind == KindClosure {
						want = append(want, "https://rathaus.example/rebook/tok123?slot=1", map[string]string{"de": "Betriebsausflug", "en": "Staff outing"}[l])
					}
					for _, w := range want {
						if !strings.Contains(part.body, w) {
							t.Errorf("%s part lacks %q:\n%s", part.name, w, part.body)
						}
					}
					if strings.Contains(part.body, "Anna") || strings.Contains(part.body, "anna@example.org") {
						t.Errorf("%s part names the citizen; it need not", part.name)
					}
				}
				if m := MethodFor(kind); r.Method != m || (m != "") != (r.ICS != nil) {
					t.Errorf("method %q ics %d bytes, want method %q", r.Method, len(r.ICS), m)
				}
			})
		}
	}
	t.Run("HTML is escaped", func(t *testing.T) {
		msg := testMessage("m1", KindConfirmation, 0, start)
		msg.Office.Name = `<script>alert(1)</script>`
		r, err := Render(msg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.HTML, "<script>") {
			t.Errorf("unescaped: %s", r.HTML)
		}
	})
	t.Run("ErrInvalidMessage", func(t *testing.T) {
		for name, mod := range map[string]func(*Message){
			"unknown kind":       func(m *Message) { m.Kind = "spam" },
			"no appointment":     func(m *Message) { m.Appointment = nil },
			"no id":              func(m *Message) { m.ID = "" },
			"closure no closure": func(m *Message) { m.Kind = KindClosure; m.Closure = nil },
			"bad time zone":      func(m *Message) { m.Office.Timezone = "Mars/Olympus" },
		} {
			msg := testMessage("m1", KindConfirmation, 0, start)
			mod(&msg)
			if _, err := Render(msg); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s: err %v, want ErrInvalidMessage", name, err)
			}
		}
	})
}

func TestReminderDue(t *testing.T) {
	tests := []struct {
		start, want time.Time
	}{
		// 24 hours before, in absolute time: across the spring change the wall clock moves one hour.
		{time.Date(2026, 3, 29, 10, 0, 0, 0, berlin), time.Date(2026, 3, 28, 9, 0, 0, 0, berlin)},
		{time.Date(2026, 10, 25, 10, 0, 0, 0, berlin), time.Date(2026, 10, 24, 11, 0, 0, 0, berlin)},
		{time.Date(2026, 7, 1, 9, 0, 0, 0, berlin), time.Date(2026, 6, 30, 9, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		if got := ReminderDue(tt.start, 0); !got.Equal(tt.want) {
			t.Errorf("ReminderDue(%s) = %s, want %s", tt.start, got.In(berlin), tt.want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	msg := testMessage("m1", KindConfirmation, 1, time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC))
	for b.Loop() {
		if _, err := Render(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppointmentICS(b *testing.B) {
	msg := testMessage("m1", KindConfirmation, 1, time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC))
	for b.Loop() {
		if _, err := AppointmentICS(msg, MethodRequest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFold(b *testing.B) {
	msg := testMessage("m1", KindConfirmation, 1, time.Date(2026, 10, 5, 8, 0, 0, 0, time.UTC))
	ics, _ := AppointmentICS(msg, MethodRequest)
	raw := []byte(unfold(ics))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Fold(raw)
	}
}
