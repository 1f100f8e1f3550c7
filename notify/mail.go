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
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

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

// Close closes the transport's kept connections, if it keeps any.
func (m *Mailer) Close() error {
	if c, ok := m.transport.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
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

// SMTPTransport sends through the server of RATHAUS_SMTP_URL. It keeps a few
// connections open between mails (a connection, its TLS handshake and its
// login per mail cost the relay and this process more than the mail), each
// checked with NOOP before it is used again and closed after IdleTimeout;
// the outbox workers of all offices share them. A kept connection the server
// has closed meanwhile is replaced at once, the mail sent on a new one.
type SMTPTransport struct {
	host string
	opts []gomail.Option
	// MaxIdle is how many connections are kept between mails (4; negative:
	// none, a connection per mail). IdleTimeout closes a kept connection
	// unused that long (20 s, below the usual server limits of a minute or
	// more).
	MaxIdle     int
	IdleTimeout time.Duration

	once   sync.Once
	client *gomail.Client // the settings; connections come from it
	cerr   error
	mu     sync.Mutex
	idle   []keptConn // most recently used last
	closed bool
}

type keptConn struct {
	c     *smtp.Client
	since time.Time
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

// init builds the go-mail client from the settings, once.
func (t *SMTPTransport) init() error {
	t.once.Do(func() {
		t.client, t.cerr = gomail.NewClient(t.host, t.opts...)
		if t.MaxIdle == 0 {
			t.MaxIdle = 4
		}
		if t.IdleTimeout <= 0 {
			t.IdleTimeout = 20 * time.Second
		}
	})
	if t.cerr != nil {
		return fmt.Errorf("smtp client: %w", t.cerr)
	}
	return nil
}

// Probe connects to the mail server as a delivery would — TLS and
// authentication as the URL says — and, when from is not empty, asks it to
// take a mail from that address (MAIL FROM, then RSET); it says goodbye
// without sending a mail ("rathaus check").
func (t *SMTPTransport) Probe(ctx context.Context, from string) error {
	if err := t.init(); err != nil {
		return err
	}
	sc, err := t.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if from != "" {
		if err := sc.Mail(from); err != nil {
			_ = sc.Close()
			return fmt.Errorf("smtp: the server refuses the sender %s: %w", from, err)
		}
		if err := sc.Reset(); err != nil {
			_ = sc.Close()
			return fmt.Errorf("smtp: RSET: %w", err)
		}
	}
	return t.quit(sc)
}

// Deliver sends m on a kept connection or a new one.
func (t *SMTPTransport) Deliver(ctx context.Context, id string, m *gomail.Msg) error {
	if err := t.init(); err != nil {
		return err
	}
	for {
		sc, kept := t.take()
		if sc == nil {
			var err error
			if sc, err = t.client.DialToSMTPClientWithContext(ctx); err != nil {
				return fmt.Errorf("smtp: dial: %w", err)
			}
		}
		err := t.client.SendWithSMTPClient(sc, m)
		if err == nil {
			t.keep(sc)
			return nil
		}
		// A connection that failed is not used again, nor told QUIT: after a
		// failure within DATA the server would read QUIT as part of the mail
		// and the call would wait for the timeout.
		_ = sc.Close()
		if m.IsDelivered() {
			return nil // the server accepted the mail; only the RSET after it failed
		}
		if kept && notStarted(err) {
			continue // the server had closed the kept connection: a new one
		}
		return fmt.Errorf("smtp: %w", err)
	}
}

// notStarted reports whether a send failed before the server could have
// taken the mail: at the NOOP check or at MAIL FROM.
func notStarted(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && (se.Reason == gomail.ErrConnCheck || se.Reason == gomail.ErrSMTPMailFrom)
}

// take returns the most recently used kept connection still young enough,
// closing the ones that are not; nil when there is none.
func (t *SMTPTransport) take() (*smtp.Client, bool) {
	t.mu.Lock()
	var stale []*smtp.Client
	var sc *smtp.Client
	for len(t.idle) > 0 && sc == nil {
		k := t.idle[len(t.idle)-1]
		t.idle = t.idle[:len(t.idle)-1]
		if time.Since(k.since) < t.IdleTimeout {
			sc = k.c
		} else {
			stale = append(stale, k.c)
		}
	}
	t.mu.Unlock()
	for _, c := range stale {
		_ = t.quit(c)
	}
	return sc, sc != nil
}

// quit says goodbye on an idle connection and closes its socket, also when
// QUIT fails (go-mail's Quit leaves the socket open then).
func (t *SMTPTransport) quit(sc *smtp.Client) error {
	err := t.client.CloseWithSMTPClient(sc)
	if err != nil {
		_ = sc.Close()
	}
	return err
}

// keep puts sc back for the next mail, or closes it when enough are kept.
func (t *SMTPTransport) keep(sc *smtp.Client) {
	t.mu.Lock()
	if !t.closed && len(t.idle) < t.MaxIdle {
		t.idle = append(t.idle, keptConn{c: sc, since: time.Now()})
		sc = nil
	}
	t.mu.Unlock()
	if sc != nil {
		_ = t.quit(sc)
	}
}

// Close says goodbye (QUIT) on the kept connections; later mails use a
// connection each.
func (t *SMTPTransport) Close() error {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.closed = nil, true
	t.mu.Unlock()
	var errs []error
	for _, k := range idle {
		errs = append(errs, t.quit(k.c))
	}
	return errors.Join(errs...)
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
