package notify

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// wireSMTP is a minimal SMTP server written against the wire protocol, for
// the answers go-smtp cannot be made to give: after each accepted mail it
// answers the next RSET (or the end of DATA) as the test says.
type wireSMTP struct {
	ln       net.Listener
	dataCode string // answer to the end of DATA: "250 ok" or a failure
	rsetCode string // answer to RSET: "250 ok" or a failure, after which it hangs up

	mu    sync.Mutex
	conns int
	mails []string // the bodies it answered 250 to
}

func startWireSMTP(t *testing.T, dataCode, rsetCode string) *wireSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &wireSMTP{ln: ln, dataCode: dataCode, rsetCode: rsetCode}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *wireSMTP) url() string { return "smtp://" + s.ln.Addr().String() + "?tls=none" }

func (s *wireSMTP) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	reply("220 wire ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(strings.TrimSpace(line) + " x")[0])
		switch verb {
		case "EHLO":
			reply("250-wire")
			reply("250 8BITMIME")
		case "HELO", "MAIL", "RCPT", "NOOP":
			reply("250 ok")
		case "DATA":
			reply("354 go ahead")
			var body strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(l)
			}
			if strings.HasPrefix(s.dataCode, "250") {
				s.mu.Lock()
				s.mails = append(s.mails, body.String())
				s.mu.Unlock()
			}
			reply(s.dataCode)
		case "RSET":
			reply(s.rsetCode)
			if !strings.HasPrefix(s.rsetCode, "250") {
				return // 421: the server hangs up
			}
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not here")
		}
	}
}

func (s *wireSMTP) counts() (conns, mails int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, len(s.mails)
}

// TestSMTPTransportRSETAfterAcceptedMail: a server that accepted a mail
// (250 after DATA) and then fails the RSET go-mail sends before the next one
// has the mail: Deliver reports it sent, so the outbox does not send it again,
// and the broken connection is not kept — the next mail goes on a new one.
// A failure at the end of DATA, by contrast, is a failed send.
func TestSMTPTransportRSETAfterAcceptedMail(t *testing.T) {
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)
	t.Run("RSET fails after 250: sent once, connection replaced", func(t *testing.T) {
		srv := startWireSMTP(t, "250 queued", "421 shutting down")
		_, m := mailerAt(t, srv.url())
		defer m.Close()
		for i, id := range []string{"first", "second"} {
			if err := m.Send(context.Background(), testMessage(id, KindConfirmation, 0, at)); err != nil {
				t.Fatalf("%s: the server accepted the mail, yet Send failed: %v", id, err)
			}
			conns, mails := srv.counts()
			if mails != i+1 || conns != i+1 {
				t.Fatalf("after %s: %d mails on %d connections, want %d on %d", id, mails, conns, i+1, i+1)
			}
		}
	})
	t.Run("end of DATA fails: not sent", func(t *testing.T) {
		srv := startWireSMTP(t, "451 try again later", "250 ok")
		_, m := mailerAt(t, srv.url())
		defer m.Close()
		if err := m.Send(context.Background(), testMessage("refused", KindConfirmation, 0, at)); err == nil {
			t.Fatal("the server refused the mail (451), yet Send reported it sent")
		}
		if _, mails := srv.counts(); mails != 0 {
			t.Fatalf("%d mails", mails)
		}
	})
}
