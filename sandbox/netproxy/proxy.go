package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// Resolver looks names up for the proxy. *net.Resolver satisfies it; tests map names to
// their own loopback listeners.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer opens upstream connections. The proxy only ever passes it an IP literal and a port
// it has checked ("192.0.2.1:443", "[2001:db8::1]:443"), never a name, so the dialer cannot
// resolve again. *net.Dialer satisfies it; tests record the addresses.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Options tune a Proxy. The zero value of each field means its default.
type Options struct {
	// Resolver resolves names; default net.DefaultResolver.
	Resolver Resolver
	// Dialer connects to checked addresses; default a net.Dialer.
	Dialer Dialer
	// MaxConns bounds the client connections served at once (default 256). Further clients
	// wait in the listener's backlog until a connection ends: the proxy accepts no more than
	// it serves, so its goroutines and memory stay bounded whatever a client opens.
	MaxConns int
	// MaxHeaderBytes bounds an HTTP request's header, request line included (default 64 KiB);
	// a larger one is answered 431 and the connection closed.
	MaxHeaderBytes int
	// MaxRequestLine bounds an HTTP request target (default 8 KiB); a longer one gets 414.
	MaxRequestLine int
	// ReadHeaderTimeout bounds the time a client takes to send a request's header or a SOCKS5
	// handshake, from its first byte (default 10 s): slowloris clients are cut off.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a kept-alive HTTP connection that sends no next request, and a tunnel
	// that carries no byte either way, for that long; it also bounds a write the client does
	// not read (default 5 min).
	IdleTimeout time.Duration
	// DialTimeout bounds resolving a name and connecting to its addresses (default 15 s).
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for an upstream's HTTP response header after the
	// request was sent (default 2 min); then the client gets 504.
	ResponseHeaderTimeout time.Duration
	// MaxRecords bounds the records kept (default 10000); the summary still counts the rest.
	MaxRecords int
}

func (o *Options) setDefaults() {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{KeepAlive: 30 * time.Second}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxConns, 256)
	def(&o.MaxHeaderBytes, 64<<10)
	def(&o.MaxRequestLine, 8<<10)
	def(&o.MaxRecords, 10000)
	defDur(&o.ReadHeaderTimeout, 10*time.Second)
	defDur(&o.IdleTimeout, 5*time.Minute)
	defDur(&o.DialTimeout, 15*time.Second)
	defDur(&o.ResponseHeaderTimeout, 2*time.Minute)
}

// Proxy is one run's egress proxy. Create it with New, hand it a listener with Serve, stop it
// with Close, then read Records and Summary.
type Proxy struct {
	opts  Options
	match *policy.HostMatcher

	ctx    context.Context // cancelled by Close: aborts lookups and dials in flight
	cancel context.CancelFunc
	sem    chan struct{} // one token per client connection being served
	// largeBufs holds one token per large relay buffer in use (see pump).
	largeBufs chan struct{}
	wg        sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	serving bool
	ln      net.Listener
	conns   map[net.Conn]struct{} // every open client and upstream connection

	rec recorder
}

// New returns a proxy enforcing network: its Allow and Deny entries, with the semantics of
// package policy. An entry that does not parse is an error wrapping policy.ErrInvalid.
func New(network policy.Network, opts Options) (*Proxy, error) {
	m, err := policy.NewHostMatcher(network)
	if err != nil {
		return nil, err
	}
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{
		opts:      opts,
		match:     m,
		ctx:       ctx,
		cancel:    cancel,
		sem:       make(chan struct{}, opts.MaxConns),
		largeBufs: make(chan struct{}, maxLargeBufs),
		conns:     map[net.Conn]struct{}{},
		rec:       recorder{max: opts.MaxRecords},
	}, nil
}

// Serve accepts clients on l until Close, and returns ErrClosed then (or the listener's error
// if it fails first). The proxy owns l from now on and closes it. l may be any listener; in a
// sandbox run it is a socket created inside the sandbox's network namespace and handed to the
// host-side process, so the proxy is at 127.0.0.1:PORT only from inside. Serve may be called
// once.
func (p *Proxy) Serve(l net.Listener) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	if p.serving {
		p.mu.Unlock()
		return errors.New("netproxy: Serve called twice")
	}
	p.serving, p.ln = true, l
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()

	var delay time.Duration
	for {
		// Take a slot before accepting, so excess clients wait in the kernel's backlog
		// instead of costing a goroutine each.
		select {
		case p.sem <- struct{}{}:
		case <-p.ctx.Done():
			return ErrClosed
		}
		c, err := l.Accept()
		if err != nil {
			<-p.sem
			if p.isClosed() {
				return ErrClosed
			}
			if isTemporary(err) {
				// EMFILE and friends: back off as net/http does rather than spin.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-p.ctx.Done():
					return ErrClosed
				}
			}
			return err
		}
		delay = 0
		if !p.track(c) {
			<-p.sem
			c.Close()
			return ErrClosed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer func() { <-p.sem }()
			defer p.untrack(c)
			p.serveConn(c)
		}()
	}
}

// isTemporary reports whether an Accept error is worth retrying (EMFILE, ENFILE,
// ECONNABORTED say so), rather than the end of the listener.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	var ne net.Error
	return errors.As(err, &t) && t.Temporary() || errors.As(err, &ne) && ne.Timeout()
}

// Close stops accepting, closes every client and upstream connection, aborts lookups and
// dials in flight, and returns when every goroutine the proxy started has ended. Records and
// Summary stay available. Close may be called more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	p.cancel()
	var err error
	if p.ln != nil {
		err = p.ln.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Records returns a copy of the decisions so far, in the order their connections ended.
func (p *Proxy) Records() []Record { return p.rec.all() }

// Summary totals the decisions so far and groups the denials per host:port.
func (p *Proxy) Summary() Summary { return p.rec.summary() }

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// track registers c so Close can close it; it refuses once the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// serveConn sniffs the protocol from the first byte: 0x05 is SOCKS5, 0x04 SOCKS4 (refused),
// anything else HTTP.
func (p *Proxy) serveConn(c net.Conn) {
	cc := newClientConn(p, c)
	defer cc.closeUpstream()
	cc.headerDeadline = time.Now().Add(p.opts.ReadHeaderTimeout)
	c.SetReadDeadline(cc.headerDeadline)
	cc.in.limit = int64(p.opts.MaxHeaderBytes) // the first read must not buffer past the limit
	first, err := cc.br.Peek(1)
	if err != nil {
		return // closed, or no byte before the header timeout: nothing was asked
	}
	switch first[0] {
	case socksVersion5:
		cc.serveSOCKS5()
	case 0x04:
		// SOCKS4 resolves names on the client side and has no IPv6: refuse it plainly
		// ("request rejected"), so the client reports an error instead of hanging.
		cc.conn.SetWriteDeadline(time.Now().Add(p.opts.ReadHeaderTimeout))
		cc.conn.Write([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0})
		p.rec.add(Record{Time: time.Now(), Protocol: ProtoSOCKS5, Reason: ReasonUnsupported, Detail: "SOCKS4 is not supported; use SOCKS5"})
	default:
		cc.serveHTTP()
	}
}

// decision is the outcome of checking one target: the record so far, and when allowed, the
// addresses that passed every check, in the resolver's order.
type decision struct {
	rec   Record
	err   error // the denial or failure; nil when addrs may be dialled
	addrs []netip.Addr
}

// decide checks t against the policy, resolves a name, and checks every address. It never
// connects anywhere.
func (p *Proxy) decide(ctx context.Context, proto Protocol, t target) decision {
	d := decision{rec: Record{Time: time.Now(), Protocol: proto, Host: t.host(), Port: t.port}}
	deny := func(err error, detail string) decision {
		d.err, d.rec.Reason, d.rec.Detail = err, reasonOf(err), detail
		return d
	}
	if t.name == "" {
		// An IP literal: allowed only when the allowlist names it, whatever its class.
		d.rec.Addr = t.addr
		ok, rule := p.match.MatchAddr(t.addr, t.port)
		d.rec.Rule = rule
		switch {
		case !ok && rule != "":
			return deny(ErrDenied, "denied by "+rule)
		case !ok:
			detail := t.String() + " is an IP address the allowlist does not list"
			if c := refusedClass(t.addr); c != "" {
				detail += " (" + c + ")"
			}
			return deny(ErrIPLiteral, detail)
		}
		d.rec.Allowed, d.addrs = true, []netip.Addr{t.addr}
		return d
	}
	ok, rule := p.match.MatchName(t.name, t.port)
	d.rec.Rule = rule
	switch {
	case !ok && rule != "":
		return deny(ErrDenied, "denied by "+rule)
	case !ok:
		return deny(ErrNotAllowed, t.String()+" is not in the allowlist")
	}
	d.rec.Allowed = true
	ctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	addrs, err := p.opts.Resolver.LookupNetIP(ctx, "ip", t.name)
	if err != nil {
		return deny(fmt.Errorf("%w: %v", ErrResolve, err), err.Error())
	}
	var refused netip.Addr
	var why string
	for _, a := range addrs {
		ok, rule := p.match.MatchAddr(a, t.port)
		switch {
		case !ok && rule != "":
			if !refused.IsValid() {
				refused, why = a, a.String()+" (denied by "+rule+")"
			}
			continue
		case !ok:
			if c := refusedClass(a); c != "" {
				if !refused.IsValid() {
					refused, why = a, a.String()+" ("+c+")"
				}
				continue
			}
		}
		d.addrs = append(d.addrs, a)
	}
	if len(d.addrs) == 0 {
		if !refused.IsValid() {
			return deny(fmt.Errorf("%w: no address", ErrResolve), "no address")
		}
		d.rec.Allowed, d.rec.Addr = false, refused
		return deny(ErrRefusedAddress, t.name+" resolves to "+why)
	}
	return d
}

// dial connects to the first of d's checked addresses that answers, by address: the name is
// never resolved again, so a DNS answer that changes between check and connect (rebinding)
// changes nothing. The connection is tracked so Close closes it.
func (p *Proxy) dial(ctx context.Context, d *decision) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.DialTimeout)
	defer cancel()
	var firstErr error
	for _, a := range d.addrs {
		c, err := p.opts.Dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(d.rec.Port)).String())
		if err == nil {
			d.rec.Addr = a
			if !p.track(c) {
				c.Close()
				return nil, ErrClosed
			}
			return c, nil
		}
		if firstErr == nil {
			firstErr, d.rec.Addr = err, a
		}
		if ctx.Err() != nil {
			break
		}
	}
	d.rec.Reason, d.rec.Detail = ReasonDial, firstErr.Error()
	return nil, fmt.Errorf("%w: %w", ErrDial, firstErr)
}

// clientConn is one client connection and, for HTTP, the upstream it currently talks to.
type clientConn struct {
	p    *Proxy
	conn net.Conn
	in   *clientReader
	br   *bufio.Reader
	// headerDeadline is when the current request header must be complete.
	headerDeadline time.Time

	// HTTP keep-alive: the upstream connection of the previous request, reused only for a
	// request to the same target.
	up     net.Conn
	upKey  string
	upAddr netip.Addr
	upIn   *clientReader
	upBr   *bufio.Reader
}

func newClientConn(p *Proxy, c net.Conn) *clientConn {
	in := &clientReader{conn: c, limit: -1}
	return &clientConn{p: p, conn: c, in: in, br: bufio.NewReaderSize(in, 16<<10)}
}

func (cc *clientConn) closeUpstream() {
	if cc.up != nil {
		cc.p.untrack(cc.up)
		cc.up, cc.upKey, cc.upIn, cc.upBr = nil, "", nil, nil
	}
}

// clientReader reads the client connection under the limits of the phase: while a header is
// read, a byte budget (limit) and the fixed deadline the caller set; afterwards no budget and
// an idle deadline renewed at every read.
type clientReader struct {
	conn  net.Conn
	limit int64 // bytes left for the header; < 0: unlimited
	idle  time.Duration
	total int64 // bytes read so far
}

var errHeaderBudget = errors.New("header budget exhausted")

func (r *clientReader) Read(b []byte) (int, error) {
	if r.limit == 0 {
		return 0, errHeaderBudget
	}
	if r.limit > 0 && int64(len(b)) > r.limit {
		b = b[:r.limit]
	}
	if r.idle > 0 {
		r.conn.SetReadDeadline(time.Now().Add(r.idle))
	}
	n, err := r.conn.Read(b)
	r.total += int64(n)
	if r.limit > 0 {
		r.limit -= int64(n)
	}
	return n, err
}
