package redistest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections to a server on loopback and can cut them
// off in both directions at once, like a network partition: bytes still
// arrive but are dropped. A replica that replicates through a Proxy can so
// fall behind its primary on command.
type Proxy struct {
	Addr        string
	target      string
	ln          net.Listener
	partitioned atomic.Bool
	delay       atomic.Int64 // of every reply (server to client), in ns
	delayOnce   atomic.Int64 // of the next reply only, in ns
	cutReplies  atomic.Bool
	mu          sync.Mutex
	conns       []net.Conn
}

// StartProxy listens on a free loopback port and forwards to target until
// the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln}
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// Port returns the proxy's port as a string.
func (p *Proxy) Port() string {
	_, port, _ := net.SplitHostPort(p.Addr)
	return port
}

// Partition starts dropping every byte in both directions.
func (p *Proxy) Partition() { p.partitioned.Store(true) }

// DelayReplies holds every later chunk from the server for d before it is
// passed on, like an overloaded network or server.
func (p *Proxy) DelayReplies(d time.Duration) { p.delay.Store(int64(d)) }

// DelayNextReply holds the server's next chunk (on any connection) for d;
// later ones pass at once — a client that sends again on a new connection is
// answered.
func (p *Proxy) DelayNextReply(d time.Duration) { p.delayOnce.Store(int64(d)) }

// CutReplies makes the proxy close a connection instead of passing on the
// server's next reply (once: later replies pass): the command ran, but the
// client only sees the connection drop (a reset between execution and
// reply), and a client that sends again on a new connection is answered.
func (p *Proxy) CutReplies() { p.cutReplies.Store(true) }

// Close stops listening and closes every forwarded connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *Proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go p.pipe(in, out, true)
		go p.pipe(out, in, false)
	}
}

// pipe copies src to dst until either ends, dropping bytes while partitioned.
func (p *Proxy) pipe(dst, src net.Conn, replies bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if d := p.delay.Load(); replies && d > 0 {
			time.Sleep(time.Duration(d))
		}
		if d := p.delayOnce.Load(); replies && n > 0 && d > 0 && p.delayOnce.CompareAndSwap(d, 0) {
			time.Sleep(time.Duration(d))
		}
		if replies && n > 0 && p.cutReplies.CompareAndSwap(true, false) {
			return // the deferred Closes drop both sides
		}
		if n > 0 && !p.partitioned.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection alike
		}
	}
}
