package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// testCert is a self-signed certificate for 127.0.0.1 and the pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestSMTPTransport sends one mail in every RATHAUS_SMTP_URL mode to a real
// server that requires that mode and the credentials.
func TestSMTPTransport(t *testing.T) {
	cert, pool := testCert(t)
	tests := []struct {
		name     string
		query    string
		tls      bool
		implicit bool
		wantTLS  bool
	}{
		{"plain with auth", "?tls=none", false, false, false},
		{"STARTTLS with auth", "?tls=starttls", true, false, true},
		{"implicit TLS with auth", "?tls=tls", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &smtpServer{t: t, addr: "127.0.0.1:0", user: "rathaus", pass: "s3cr;et@x", implicitTLS: tt.implicit}
			if tt.tls {
				srv.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			srv.start()
			t.Cleanup(srv.stop)
			url := "smtp://rathaus:s3cr%3Bet%40x@" + srv.addr + tt.query
			tr, err := NewSMTPTransport(url, gomail.WithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMailer(testFrom, tr)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"m-tls", "m-tls-2"} { // the second on the kept connection
				if err := m.Send(context.Background(), testMessage(id, KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin))); err != nil {
					t.Fatal(err)
				}
			}
			if n := srv.connections(); n != 1 {
				t.Errorf("%d connections for two mails, want 1", n)
			}
			got := srv.received()
			if len(got) != 2 || got[1].TLS != tt.wantTLS || got[1].User != "rathaus" {
				t.Errorf("second mail: %+v", got)
			}
			if len(got) < 1 || got[0].TLS != tt.wantTLS || got[0].User != "rathaus" {
				t.Fatalf("received %d mails, tls %v user %q", len(got), len(got) > 0 && got[0].TLS, func() string {
					if len(got) > 0 {
						return got[0].User
					}
					return ""
				}())
			}
		})
	}
	t.Run("ErrWrongPassword", func(t *testing.T) {
		srv := &smtpServer{t: t, addr: "127.0.0.1:0", user: "rathaus", pass: "right"}
		srv.start()
		t.Cleanup(srv.stop)
		tr, err := NewSMTPTransport("smtp://rathaus:wrong@" + srv.addr + "?tls=none")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := NewMailer(testFrom, tr)
		err = m.Send(context.Background(), testMessage("m", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		if err == nil || len(srv.received()) != 0 {
			t.Errorf("err %v, received %d", err, len(srv.received()))
		}
	})
	t.Run("Probe", func(t *testing.T) {
		srv := &smtpServer{t: t, addr: "127.0.0.1:0", user: "rathaus", pass: "right"}
		srv.start()
		t.Cleanup(srv.stop)
		for _, tc := range []struct {
			pass string
			ok   bool
		}{{"right", true}, {"wrong", false}} {
			tr, err := NewSMTPTransport("smtp://rathaus:" + tc.pass + "@" + srv.addr + "?tls=none")
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Probe(context.Background(), "termine@example.org"); (err == nil) != tc.ok {
				t.Errorf("password %s: Probe = %v", tc.pass, err)
			}
		}
		tr, _ := NewSMTPTransport("smtp://rathaus:right@" + srv.addr + "?tls=none")
		if err := tr.Probe(context.Background(), "refused-sender@example.org"); err == nil || !strings.Contains(err.Error(), "refuses the sender") {
			t.Errorf("a sender the server refuses: Probe = %v", err)
		}
		if n := len(srv.received()); n != 0 {
			t.Errorf("a probe sent %d mails", n)
		}
		tr, _ = NewSMTPTransport("smtp://127.0.0.1:1?tls=none") // nobody listens on port 1
		if err := tr.Probe(context.Background(), ""); err == nil {
			t.Error("a probe of a closed port succeeded")
		}
	})
	t.Run("ErrStartTLSMissing", func(t *testing.T) {
		srv := startSMTP(t) // offers no STARTTLS
		tr, err := NewSMTPTransport(strings.Replace(srv.url(), "tls=none", "tls=starttls", 1))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := NewMailer(testFrom, tr)
		err = m.Send(context.Background(), testMessage("m", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)))
		if err == nil || len(srv.received()) != 0 {
			t.Errorf("starttls required but mail went in clear: err %v, received %d", err, len(srv.received()))
		}
	})
}

// TestNewSMTPTransport_Port: the URL's port is used in every TLS mode
// (go-mail's TLS port policy would move 25 to 587).
func TestNewSMTPTransport_Port(t *testing.T) {
	tests := []struct{ url, want string }{
		{"smtp://mail.example:25?tls=starttls", "mail.example:25"},
		{"smtp://mail.example:25?tls=none", "mail.example:25"},
		{"smtp://mail.example", "mail.example:587"},
		{"smtps://mail.example", "mail.example:465"},
		{"smtp://mail.example:2525?tls=tls", "mail.example:2525"},
	}
	for _, tt := range tests {
		tr, err := NewSMTPTransport(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		c, err := gomail.NewClient(tr.host, tr.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ServerAddr(); got != tt.want {
			t.Errorf("%s: server %s, want %s", tt.url, got, tt.want)
		}
	}
	if _, err := NewSMTPTransport("http://mail.example"); err == nil {
		t.Error("http URL accepted")
	}
}

// smtpMailer returns a mailer sending through srv in the clear, and its transport.
func smtpMailer(t *testing.T, srv *smtpServer) (*SMTPTransport, *Mailer) {
	t.Helper()
	return mailerAt(t, srv.url())
}

// mailerAt is a Mailer with an SMTPTransport to url.
func mailerAt(t *testing.T, url string) (*SMTPTransport, *Mailer) {
	t.Helper()
	tr, err := NewSMTPTransport(url)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMailer(testFrom, tr)
	if err != nil {
		t.Fatal(err)
	}
	return tr, m
}

// TestSMTPTransportKeepsConnections: mails share kept connections (one for
// mails one after the other, at most MaxIdle kept after a burst from many
// workers); a kept connection the server closed, or one kept too long, is
// replaced without losing or doubling a mail; after Close each mail gets a
// connection of its own.
func TestSMTPTransportKeepsConnections(t *testing.T) {
	srv := startSMTP(t)
	tr, m := smtpMailer(t, srv)
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)
	send := func(id string) {
		t.Helper()
		if err := m.Send(context.Background(), testMessage(id, KindConfirmation, 0, at)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	for i := range 5 {
		send(fmt.Sprintf("seq-%d", i))
	}
	if n := srv.connections(); n != 1 {
		t.Fatalf("%d connections for 5 mails one after the other, want 1", n)
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				if err := m.Send(context.Background(), testMessage(fmt.Sprintf("par-%d-%d", w, i), KindConfirmation, 0, at)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	tr.mu.Lock()
	kept := len(tr.idle)
	tr.mu.Unlock()
	if kept < 1 || kept > 4 {
		t.Fatalf("%d connections kept after a burst, want 1 to 4", kept)
	}

	srv.stop() // drops every connection
	srv.start()
	before := srv.connections()
	send("after-restart")
	if n := srv.connections() - before; n != 1 {
		t.Fatalf("%d new connections after the server dropped the kept ones, want 1", n)
	}

	tr.IdleTimeout = time.Nanosecond // every kept connection is too old now
	send("after-idle")
	if n := srv.connections() - before; n != 2 {
		t.Fatalf("%d new connections, want 2 (the stale one replaced)", n)
	}

	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	send("after-close-1")
	send("after-close-2")
	if n := srv.connections() - before; n != 4 {
		t.Fatalf("%d new connections, want 4 (one per mail after Close)", n)
	}

	counts := map[string]int{}
	for _, id := range messageIDs(t, srv) {
		counts[id]++
	}
	if len(counts) != 5+24+4 {
		t.Fatalf("%d distinct mails received, want %d", len(counts), 5+24+4)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}

// BenchmarkSMTPSend sends confirmations to a real SMTP server on loopback
// with a connection per mail (the baseline: MaxIdle -1) and with kept
// connections.
func BenchmarkSMTPSend(b *testing.B) {
	cert, pool := testCert(b)
	for _, bc := range []struct {
		name     string
		maxIdle  int
		starttls bool
	}{{"plain/connection-per-mail", -1, false}, {"plain/kept-connections", 0, false},
		{"starttls/connection-per-mail", -1, true}, {"starttls/kept-connections", 0, true}} {
		b.Run(bc.name, func(b *testing.B) {
			srv := &smtpServer{t: b, addr: "127.0.0.1:0"}
			if bc.starttls {
				srv.tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			srv.start()
			b.Cleanup(srv.stop)
			url := srv.url()
			if bc.starttls {
				url = strings.Replace(url, "tls=none", "tls=starttls", 1)
			}
			tr, err := NewSMTPTransport(url, gomail.WithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
			if err != nil {
				b.Fatal(err)
			}
			tr.MaxIdle = bc.maxIdle
			m, err := NewMailer(testFrom, tr)
			if err != nil {
				b.Fatal(err)
			}
			msg := testMessage("bench", KindConfirmation, 0, time.Date(2026, 10, 5, 10, 0, 0, 0, berlin))
			for b.Loop() {
				if err := m.Send(context.Background(), msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(srv.connections())/float64(b.N), "conns/op")
		})
	}
}

// TestSMTPTransportClosesDroppedConnections: a kept connection the server
// has dropped is closed when found dead (go-mail's QUIT fails on it and
// leaves the socket open) — ten restarts of the server leave no sockets
// behind. Counted in /proc/self/fd with the garbage collector off, whose
// finalizers would otherwise close leaked sockets some time later.
func TestSMTPTransportClosesDroppedConnections(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd (Linux)")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	fds := func() int {
		e, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	srv := startSMTP(t)
	_, m := smtpMailer(t, srv)
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, berlin)
	if err := m.Send(context.Background(), testMessage("first", KindConfirmation, 0, at)); err != nil {
		t.Fatal(err)
	}
	before := fds()
	for i := range 10 {
		srv.stop() // drops the kept connection
		srv.start()
		if err := m.Send(context.Background(), testMessage(fmt.Sprintf("again-%d", i), KindConfirmation, 0, at)); err != nil {
			t.Fatal(err)
		}
	}
	if grown := fds() - before; grown > 2 {
		t.Fatalf("%d more open descriptors after 10 dropped connections: the dead ones are not closed", grown)
	}
	if got := len(srv.received()); got != 11 {
		t.Fatalf("received %d mails, want 11", got)
	}
}
