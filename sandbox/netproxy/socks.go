package netproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// SOCKS5 (RFC 1928) constants.
const (
	socksVersion5 = 0x05

	socksMethodNoAuth       = 0x00
	socksMethodNoAcceptable = 0xff

	socksCmdConnect = 0x01

	socksAtypIPv4   = 0x01
	socksAtypDomain = 0x03
	socksAtypIPv6   = 0x04

	socksSucceeded          = 0x00
	socksGeneralFailure     = 0x01
	socksNotAllowed         = 0x02 // "connection not allowed by ruleset"
	socksNetUnreachable     = 0x03
	socksHostUnreachable    = 0x04
	socksConnRefused        = 0x05
	socksCmdNotSupported    = 0x07
	socksAddrNotSupported   = 0x08
	socksMaxHandshakeLength = 2 + 255 + 4 + 1 + 255 + 2
)

// socksError is a handshake failure and the reply code the client gets for it; code 0 means
// no reply can be sent (the method negotiation failed, or the stream broke).
type socksError struct {
	code byte
	err  error
}

func (e *socksError) Error() string { return e.err.Error() }
func (e *socksError) Unwrap() error { return e.err }

// readSOCKS5 runs the SOCKS5 handshake up to the request: it reads the greeting, answers the
// method selection on w (no authentication is the only method offered: the proxy is reachable
// only from inside one sandbox), and parses the CONNECT request. Domain names are resolved by
// the proxy, never by the client (socks5h), so they go through the same checks as HTTP hosts.
func readSOCKS5(r io.Reader, w io.Writer) (target, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 greeting: %v", ErrMalformed, err)}
	}
	if hdr[0] != socksVersion5 {
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS version %d", ErrUnsupported, hdr[0])}
	}
	if hdr[1] == 0 {
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 greeting offers no method", ErrMalformed)}
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 methods: %v", ErrMalformed, err)}
	}
	if !strings.ContainsRune(string(methods), socksMethodNoAuth) {
		w.Write([]byte{socksVersion5, socksMethodNoAcceptable})
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 client requires authentication", ErrUnsupported)}
	}
	if _, err := w.Write([]byte{socksVersion5, socksMethodNoAuth}); err != nil {
		return target{}, &socksError{0, err}
	}
	var req [4]byte
	if _, err := io.ReadFull(r, req[:]); err != nil {
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 request: %v", ErrMalformed, err)}
	}
	if req[0] != socksVersion5 {
		return target{}, &socksError{socksGeneralFailure, fmt.Errorf("%w: SOCKS5 request version %d", ErrMalformed, req[0])}
	}
	var t target
	switch req[3] {
	case socksAtypIPv4:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 address: %v", ErrMalformed, err)}
		}
		t.addr = netip.AddrFrom4(b)
	case socksAtypIPv6:
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 address: %v", ErrMalformed, err)}
		}
		t.addr = netip.AddrFrom16(b)
	case socksAtypDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 address: %v", ErrMalformed, err)}
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(r, name); err != nil {
			return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 address: %v", ErrMalformed, err)}
		}
		h := string(name)
		if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
			h = h[1 : len(h)-1]
		}
		pt, err := parseHost(h)
		if err != nil {
			// Read the port anyway, so the reply is the last thing on the wire.
			io.ReadFull(r, make([]byte, 2))
			return target{}, &socksError{socksAddrNotSupported, err}
		}
		t = pt
	default:
		return target{}, &socksError{socksAddrNotSupported, fmt.Errorf("%w: SOCKS5 address type %d", ErrUnsupported, req[3])}
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return target{}, &socksError{0, fmt.Errorf("%w: SOCKS5 port: %v", ErrMalformed, err)}
	}
	t.port = int(port[0])<<8 | int(port[1])
	if req[1] != socksCmdConnect {
		return t, &socksError{socksCmdNotSupported, fmt.Errorf("%w: SOCKS5 command %d (only CONNECT is served)", ErrUnsupported, req[1])}
	}
	if t.port == 0 {
		return t, &socksError{socksGeneralFailure, fmt.Errorf("%w: SOCKS5 port 0", ErrMalformed)}
	}
	return t, nil
}

// socksReply is a SOCKS5 reply. The bound address is always 0.0.0.0:0: the proxy's
// host-side address is none of the sandbox's business.
func socksReply(code byte) []byte {
	return []byte{socksVersion5, code, 0, socksAtypIPv4, 0, 0, 0, 0, 0, 0}
}

// socksCodeFor maps a denial or failure to a SOCKS5 reply code.
func socksCodeFor(err error) byte {
	var se *socksError
	if errors.As(err, &se) && se.code != 0 {
		return se.code
	}
	switch reasonOf(err) {
	case ReasonNotAllowed, ReasonDenied, ReasonIPLiteral, ReasonRefusedAddress:
		return socksNotAllowed
	case ReasonResolve:
		return socksHostUnreachable
	case ReasonDial:
		var ne net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return socksConnRefused
		case errors.Is(err, syscall.ENETUNREACH):
			return socksNetUnreachable
		case errors.Is(err, syscall.EHOSTUNREACH), errors.As(err, &ne) && ne.Timeout():
			return socksHostUnreachable
		}
	}
	return socksGeneralFailure
}

// serveSOCKS5 serves one SOCKS5 connection: handshake, check, connect, reply, relay.
func (cc *clientConn) serveSOCKS5() {
	p := cc.p
	cc.in.limit = socksMaxHandshakeLength
	cc.conn.SetWriteDeadline(time.Now().Add(p.opts.ReadHeaderTimeout))
	t, err := readSOCKS5(cc.br, cc.conn)
	cc.in.limit = -1
	cc.conn.SetReadDeadline(time.Time{})
	reply := func(rec Record, err error) {
		if rec.Reason == "" {
			rec.Reason, rec.Detail = reasonOf(err), err.Error()
		}
		p.rec.add(rec)
		var se *socksError
		if errors.As(err, &se) && se.code == 0 {
			return // before a request, or a broken stream: there is nothing to reply to
		}
		cc.conn.SetWriteDeadline(time.Now().Add(p.opts.ReadHeaderTimeout))
		cc.conn.Write(socksReply(socksCodeFor(err)))
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = &socksError{0, fmt.Errorf("%w: SOCKS5 handshake took longer than %s", ErrTimeout, p.opts.ReadHeaderTimeout)}
		}
		rec := Record{Time: time.Now(), Protocol: ProtoSOCKS5}
		if t.port != 0 {
			rec.Host, rec.Port = t.host(), t.port
		}
		reply(rec, err)
		return
	}
	d := p.decide(p.ctx, ProtoSOCKS5, t)
	if d.err != nil {
		reply(d.rec, d.err)
		return
	}
	up, err := p.dial(p.ctx, &d)
	if err != nil {
		reply(d.rec, err)
		return
	}
	defer p.untrack(up)
	cc.conn.SetWriteDeadline(time.Now().Add(p.opts.IdleTimeout))
	if _, err := cc.conn.Write(socksReply(socksSucceeded)); err != nil {
		d.rec.Reason, d.rec.Detail = ReasonUpstream, "client went away: "+err.Error()
		p.rec.add(d.rec)
		return
	}
	d.rec.BytesUp, d.rec.BytesDown = cc.tunnel(up)
	p.rec.add(d.rec)
}
