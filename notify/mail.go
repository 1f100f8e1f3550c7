package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/rathaus/rathaus/internal/config"
)

// Transport hands a built mail to the world: an SMTP server or a directory.
type Transport interface {
	// Deliver delivers m, whose stable id is id. A nil error means the
	// mail was accepted and must not be sent again.
	Deliver(ctx context.Context, id string, m *gomail.Msg) error
}

// Mailer turns messages into mails and delivers them.
type Mailer struct {
	from      *mail.Address
	transport Transport
}

// NewMailer returns a Mailer sending as from (RATHAUS_MAIL_FROM, e.g.
// "Bürgerbüro <noreply@example.org>") through t.
func NewMailer(from string, t Transport) (*Mailer, error) {
	addr, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("notify.NewMailer: sender %q is not an address", from)
	}
	return &Mailer{from: addr, transport: t}, nil
}

// Send renders, builds and delivers msg. Errors wrapping ErrInvalidMessage
// can never succeed; others may on a later try.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	gm, err := m.Build(msg)
	if err != nil {
		return fmt.Errorf("notify.Send: %w", err)
	}
	if err := m.transport.Deliver(ctx, msg.ID, gm); err != nil {
		return fmt.Errorf("notify.Send %s: %w", msg.ID, err)
	}
	return nil
}

// Build returns the mail for msg: text and HTML alternatives, and for
// appointment kinds an inline text/calendar alternative with the method of
// the invite plus the same invite as .ics attachment. Every header value is
// one line: names lose control characters and are RFC 2047 encoded, the
// address must be a bare valid address.
func (m *Mailer) Build(msg Message) (*gomail.Msg, error) {
	to, err := recipient(msg)
	if err != nil {
		return nil, fmt.Errorf("notify.Build: %w", err)
	}
	r, err := Render(msg)
	if err != nil {
		return nil, fmt.Errorf("notify.Build: %w", err)
	}
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	gm.FromMailAddress(&mail.Address{Name: oneLine(m.from.Name), Address: m.from.Address})
	gm.ToMailAddress(to)
	if o := msg.Office.Email; o != "" && validAddress(o) {
		gm.ReplyToMailAddress(&mail.Address{Name: oneLine(msg.Office.Name), Address: o})
	}
	gm.Subject(r.Subject)
	gm.SetMessageIDWithValue(MessageID(msg.ID, m.from.Address))
	gm.SetDateWithValue(msg.Created)
	gm.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	gm.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	gm.SetBodyString(gomail.TypeTextPlain, r.Text)
	gm.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	if r.ICS != nil {
		gm.AddAlternativeString(gomail.ContentType("text/calendar; method="+r.Method), string(r.ICS))
		if err := gm.AttachReader("invite.ics", bytes.NewReader(r.ICS),
			gomail.WithFileContentType("application/ics")); err != nil {
			return nil, fmt.Errorf("notify.Build: attach: %w", err)
		}
	}
	return gm, nil
}

// recipient is the To address: a bare valid address (no name part, no line
// break) and the name without control characters.
func recipient(msg Message) (*mail.Address, error) {
	if !validAddress(msg.To) {
		return nil, fmt.Errorf("%w: recipient %q is not an address", ErrInvalidMessage, msg.To)
	}
	return &mail.Address{Name: oneLine(msg.ToName), Address: msg.To}, nil
}

func validAddress(s string) bool {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || r == '<' }) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// MessageID is the Message-ID (without angle brackets) of the message with
// id, sent from address from: the same for every try, so duplicates can be
// spotted.
func MessageID(id, from string) string {
	domain := "rathaus.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		domain = from[at+1:]
	}
	return safeName(id) + "@" + domain
}

// safeName keeps id if it consists of letters, digits, '.', '_' and '-'
// only, else returns a hash of it: usable in a Message-ID and a file name.
func safeName(id string) string {
	ok := id != "" && len(id) <= 128 && !strings.HasPrefix(id, ".") && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	})
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h" + hex.EncodeToString(sum[:16])
}

// SMTPTransport sends through the server of RATHAUS_SMTP_URL.
type SMTPTransport struct {
	host string
	opts []gomail.Option
}

// NewSMTPTransport parses rawURL (config.ParseSMTPURL) into a transport:
// tls=none (plain), starttls (STARTTLS required) or tls (implicit TLS), with
// authentication when the URL has a user. extra options go last (e.g.
// gomail.WithTLSConfig for a server certificate from a private CA).
func NewSMTPTransport(rawURL string, extra ...gomail.Option) (*SMTPTransport, error) {
	t, err := config.ParseSMTPURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("notify.NewSMTPTransport: %w", err)
	}
	opts := []gomail.Option{gomail.WithTimeout(30 * time.Second)}
	switch t.TLS {
	case config.SMTPTLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case config.SMTPTLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case config.SMTPTLSImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	// The port last: go-mail's TLS options would move port 25 to 587.
	opts = append(opts, gomail.WithPort(t.Port))
	if t.Username != "" {
		// With TLS the strongest mechanism the server offers is used; with
		// tls=none the operator chose a clear-text link, so PLAIN is sent as is.
		mech := gomail.SMTPAuthAutoDiscover
		if t.TLS == config.SMTPTLSNone {
			mech = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(t.Username), gomail.WithPassword(t.Password))
	}
	return &SMTPTransport{host: t.Host, opts: append(opts, extra...)}, nil
}

// Deliver opens a connection, sends m and closes it.
func (t *SMTPTransport) Deliver(ctx context.Context, id string, m *gomail.Msg) error {
	c, err := gomail.NewClient(t.host, t.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

// DirTransport writes each mail as <id>.eml into Dir (RATHAUS_MAIL_DIR),
// atomically: a reader never sees half a file.
type DirTransport struct {
	Dir string
}

// Deliver writes m to a temporary file in Dir, syncs it and renames it to
// its final name; a second delivery of the same id replaces the first.
func (t DirTransport) Deliver(_ context.Context, id string, m *gomail.Msg) error {
	var buf bytes.Buffer // one write, not one per header line and part
	if _, err := m.WriteTo(&buf); err != nil {
		return fmt.Errorf("mail dir: write: %w", err)
	}
	f, err := os.CreateTemp(t.Dir, ".tmp-*.eml")
	if errors.Is(err, fs.ErrNotExist) { // first mail, or the directory was removed
		if err = os.MkdirAll(t.Dir, 0o750); err == nil {
			f, err = os.CreateTemp(t.Dir, ".tmp-*.eml")
		}
	}
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("mail dir: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("mail dir: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("mail dir: close: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(t.Dir, safeName(id)+".eml")); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("mail dir: %w", err)
	}
	return nil
}
