package netproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// maxResponseHeader bounds an upstream's response header, so a hostile server cannot make the
// proxy buffer without end either.
const maxResponseHeader = 1 << 20

// serveHTTP serves HTTP requests on the client connection until it closes, a request fails,
// or a CONNECT turns it into a tunnel. Each request is checked on its own target: a
// kept-alive connection gains nothing from an earlier allowed request.
func (cc *clientConn) serveHTTP() {
	p := cc.p
	for first := true; ; first = false {
		if !first {
			// Between requests the client may idle; the header timeout starts at its first
			// byte, as in net/http.
			cc.in.limit, cc.in.idle = -1, 0
			cc.conn.SetReadDeadline(time.Now().Add(p.opts.IdleTimeout))
			if _, err := cc.br.Peek(1); err != nil {
				return
			}
			cc.headerDeadline = time.Now().Add(p.opts.ReadHeaderTimeout)
			cc.conn.SetReadDeadline(cc.headerDeadline)
		}
		// The header must fit in MaxHeaderBytes: the budget stops reading past it, and the
		// count of bytes the parser consumed catches a header that was already buffered.
		buffered, readBefore := cc.br.Buffered(), cc.in.total
		cc.in.limit, cc.in.idle = max(int64(p.opts.MaxHeaderBytes-buffered), 0), 0
		req, err := http.ReadRequest(cc.br)
		consumed := cc.in.total - readBefore + int64(buffered-cc.br.Buffered())
		exhausted := err != nil && cc.in.limit == 0 || consumed > int64(p.opts.MaxHeaderBytes)
		cc.in.limit, cc.in.idle = -1, p.opts.IdleTimeout
		if err == nil && exhausted {
			err = errHeaderBudget
		}
		if err != nil {
			var ne net.Error
			switch {
			case exhausted || errors.Is(err, errHeaderBudget):
				err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, p.opts.MaxHeaderBytes)
			case errors.As(err, &ne) && ne.Timeout() || !time.Now().Before(cc.headerDeadline):
				// bufio.Reader.ReadLine returns a partial line without its error, so a
				// timeout can surface as a malformed line: the clock tells.
				err = fmt.Errorf("%w: the request header took longer than %s", ErrTimeout, p.opts.ReadHeaderTimeout)
			case errors.Is(err, net.ErrClosed):
				return
			default:
				err = fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			cc.refuse(Record{Time: time.Now(), Protocol: ProtoHTTP}, err, 0)
			return
		}
		if len(req.RequestURI) > p.opts.MaxRequestLine {
			cc.refuse(Record{Time: time.Now(), Protocol: protoOf(req)},
				fmt.Errorf("%w: request target longer than %d bytes", ErrTooLarge, p.opts.MaxRequestLine), http.StatusRequestURITooLong)
			return
		}
		if req.Method == http.MethodConnect {
			cc.connect(req)
			return
		}
		if !cc.forward(req) {
			return
		}
	}
}

func protoOf(req *http.Request) Protocol {
	if req.Method == http.MethodConnect {
		return ProtoConnect
	}
	return ProtoHTTP
}

// statusFor maps a denial or failure to the HTTP status the client gets.
func statusFor(err error) int {
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch reasonOf(err) {
	case ReasonNotAllowed, ReasonDenied, ReasonIPLiteral, ReasonRefusedAddress:
		return http.StatusForbidden
	case ReasonTooLarge:
		return http.StatusRequestHeaderFieldsTooLarge
	case ReasonTimeout:
		return http.StatusRequestTimeout
	case ReasonUnsupported:
		return http.StatusNotImplemented
	case ReasonDial, ReasonUpstream:
		if timeout {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	case ReasonResolve:
		return http.StatusBadGateway
	}
	return http.StatusBadRequest
}

// refuse records rec with err's reason and answers the client with a short plain-text
// response: X-Skillrun-Denied for a refusal, X-Skillrun-Error for a failure, and a body that
// says what to add to the policy when a line would help. It closes the connection unless keep.
func (cc *clientConn) refuse(rec Record, err error, status int) {
	cc.refuseKeep(rec, err, status, false)
}

func (cc *clientConn) refuseKeep(rec Record, err error, status int, keep bool) {
	if rec.Reason == "" {
		rec.Reason = reasonOf(err)
	}
	if rec.Detail == "" {
		rec.Detail = err.Error()
	}
	cc.p.rec.add(rec)
	if status == 0 {
		status = statusFor(err)
	}
	var body strings.Builder
	header := "X-Skillrun-Error"
	if rec.Reason.Refused() {
		header = "X-Skillrun-Denied"
		body.WriteString("skillrun: blocked: ")
	} else {
		body.WriteString("skillrun: proxy error: ")
	}
	body.WriteString(rec.Detail)
	body.WriteString("\n")
	if hint := hintFor(rec); hint != "" {
		body.WriteString("skillrun: hint: to allow it, add to the skill's manifest or the policy: " + hint + "\n")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	fmt.Fprintf(&b, "%s: %s\r\n", header, rec.Reason)
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n", body.Len())
	if !keep {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body.String())
	cc.conn.SetWriteDeadline(time.Now().Add(cc.p.opts.ReadHeaderTimeout))
	io.WriteString(cc.conn, b.String())
}

// hintFor is the network.allow line that would allow rec's target, if one would.
func hintFor(rec Record) string {
	switch rec.Reason {
	case ReasonNotAllowed, ReasonIPLiteral:
		return "network: allow: [" + strconv.Quote(rec.Target()) + "]"
	case ReasonRefusedAddress:
		if rec.Addr.IsValid() {
			return "network: allow: [" + strconv.Quote(policy.AllowEntry(rec.Addr.String(), rec.Port)) + "]"
		}
	}
	return ""
}

// requestTarget is the target of a forward-proxy request: its absolute-form URL, never its
// Host header, which the client controls independently of where the request goes.
func requestTarget(req *http.Request) (target, error) {
	u := req.URL
	if u == nil || !u.IsAbs() || u.Host == "" {
		return target{}, fmt.Errorf("%w: not a proxy request: expected an absolute http:// URL, got %q", ErrMalformed, req.RequestURI)
	}
	if u.Scheme != "http" {
		return target{}, fmt.Errorf("%w: %s:// URLs: use CONNECT (HTTPS_PROXY) for https", ErrUnsupported, u.Scheme)
	}
	return parseHostPort(u.Host, 80)
}

// hostHeader is the Host header for t: the proxy replaces whatever the client sent
// (RFC 9112, section 3.2.2).
func hostHeader(t target) string {
	h := t.host()
	if t.name == "" && t.addr.Is6() {
		h = "[" + h + "]"
	}
	if t.port != 80 {
		h += ":" + strconv.Itoa(t.port)
	}
	return h
}

// hopHeaders are meaningful for one connection only and never forwarded (RFC 9110, 7.6.1).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes the hop-by-hop headers and those the Connection header names, and
// returns the Upgrade protocol when the message asks for one.
func removeHopHeaders(h http.Header) (upgrade string) {
	for _, v := range h.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			tok = strings.TrimSpace(tok)
			if strings.EqualFold(tok, "upgrade") {
				upgrade = h.Get("Upgrade")
			}
			if tok != "" {
				h.Del(tok)
			}
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	return upgrade
}

// checkPolicy is the policy half of decide: no lookups, for a request that reuses the
// upstream connection of the previous request to the same target.
func (p *Proxy) checkPolicy(proto Protocol, t target, addr netip.Addr) decision {
	d := decision{rec: Record{Time: time.Now(), Protocol: proto, Host: t.host(), Port: t.port, Addr: addr}}
	var ok bool
	if t.name == "" {
		ok, d.rec.Rule = p.match.MatchAddr(t.addr, t.port)
	} else {
		ok, d.rec.Rule = p.match.MatchName(t.name, t.port)
	}
	if !ok {
		// Cannot happen for a target allowed before (the policy does not change during a
		// run), but decide again in full rather than assume.
		return p.decide(p.ctx, proto, t)
	}
	d.rec.Allowed = true
	d.addrs = []netip.Addr{addr}
	return d
}

// forward serves one plain-HTTP request and reports whether the client connection may carry
// another.
func (cc *clientConn) forward(req *http.Request) (keep bool) {
	p := cc.p
	t, err := requestTarget(req)
	if err != nil {
		cc.refuse(Record{Time: time.Now(), Protocol: ProtoHTTP, Host: hostOnly(req)}, err, 0)
		return false
	}
	key := t.String()
	var d decision
	reused := cc.up != nil && cc.upKey == key
	if reused {
		d = p.checkPolicy(ProtoHTTP, t, cc.upAddr)
	} else {
		d = p.decide(p.ctx, ProtoHTTP, t)
	}
	if d.err != nil {
		// A refused request without a body leaves the connection in a known state: keep it,
		// so the client sees each request's own answer.
		bodyless := req.ContentLength == 0 && len(req.TransferEncoding) == 0
		cc.refuseKeep(d.rec, d.err, 0, bodyless && !req.Close)
		return bodyless && !req.Close
	}
	if !reused || !cc.upAlive() {
		cc.closeUpstream()
		up, err := p.dial(p.ctx, &d)
		if err != nil {
			cc.refuse(d.rec, err, 0)
			return false
		}
		cc.up, cc.upKey, cc.upAddr = up, key, d.rec.Addr
		cc.upIn = &clientReader{conn: up, limit: -1}
		cc.upBr = bufio.NewReaderSize(cc.upIn, 32<<10)
	}
	rec := d.rec

	upgrade := removeHopHeaders(req.Header)
	if upgrade != "" {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", upgrade)
	}
	req.Host = hostHeader(t)
	req.RequestURI = ""
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // Request.Write would add Go's own
	}
	if strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		// Answer 100 ourselves: the request goes upstream only once its body is here.
		req.Header.Del("Expect")
		if req.ContentLength != 0 {
			cc.conn.SetWriteDeadline(time.Now().Add(p.opts.IdleTimeout))
			io.WriteString(cc.conn, "HTTP/1.1 100 Continue\r\n\r\n")
		}
	}

	upW := &countWriter{conn: cc.up, idle: p.opts.IdleTimeout}
	bw := bufio.NewWriterSize(upW, 32<<10)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		rec.BytesUp = upW.n
		cc.closeUpstream()
		cc.refuse(rec, fmt.Errorf("%w: sending the request: %v", ErrUpstream, err), 0)
		return false
	}
	rec.BytesUp = upW.n

	var resp *http.Response
	for {
		cc.up.SetReadDeadline(time.Now().Add(p.opts.ResponseHeaderTimeout))
		cc.upIn.limit = maxResponseHeader
		resp, err = http.ReadResponse(cc.upBr, req)
		cc.upIn.limit = -1
		if err != nil {
			cc.closeUpstream()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("%w: no response header within %s: %w", ErrUpstream, p.opts.ResponseHeaderTimeout, err)
			} else {
				err = fmt.Errorf("%w: reading the response: %v", ErrUpstream, err)
			}
			cc.refuse(rec, err, 0)
			return false
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			// 103 Early Hints and friends: pass on, then wait for the final response.
			var b strings.Builder
			fmt.Fprintf(&b, "HTTP/1.1 %s\r\n", resp.Status)
			removeHopHeaders(resp.Header)
			resp.Header.Write(&b)
			b.WriteString("\r\n")
			cc.conn.SetWriteDeadline(time.Now().Add(p.opts.IdleTimeout))
			n, _ := io.WriteString(cc.conn, b.String())
			rec.BytesDown += int64(n)
			continue
		}
		break
	}
	cc.upIn.idle = p.opts.IdleTimeout

	keep, err = cc.writeResponse(req, resp, upgrade, &rec)
	if err != nil {
		if rec.Reason == "" {
			rec.Reason, rec.Detail = ReasonUpstream, err.Error()
		}
		keep = false
	}
	p.rec.add(rec)
	if !keep || resp.Close {
		cc.closeUpstream()
	}
	return keep
}

// upAlive reports whether the kept upstream connection can take another request: it has not
// closed and has sent nothing unasked (which would be a protocol error).
func (cc *clientConn) upAlive() bool {
	return cc.up != nil && cc.upBr.Buffered() == 0 && connAlive(cc.up)
}

func hostOnly(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	if t, err := parseHostPort(req.URL.Host, 80); err == nil {
		return t.host()
	}
	return ""
}

// writeResponse sends resp to the client, framing the body itself: the proxy re-frames
// rather than relays Transfer-Encoding bytes, so a response cannot smuggle a second one.
func (cc *clientConn) writeResponse(req *http.Request, resp *http.Response, upgrade string, rec *Record) (keep bool, err error) {
	p := cc.p
	// keep is about the client connection: an upstream that closes after its response only
	// costs the next request a new upstream connection.
	keep = !req.Close
	origCL := resp.Header.Get("Content-Length")
	respUpgrade := removeHopHeaders(resp.Header)
	resp.Header.Del("Content-Length")
	switching := resp.StatusCode == http.StatusSwitchingProtocols
	noBody := req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified || switching
	chunked := false
	switch {
	case switching:
		if upgrade == "" || respUpgrade == "" {
			return false, fmt.Errorf("%w: 101 Switching Protocols without an upgrade request", ErrUpstream)
		}
		resp.Header.Set("Connection", "Upgrade")
		resp.Header.Set("Upgrade", respUpgrade)
	case noBody:
		if origCL != "" && resp.StatusCode != http.StatusNoContent {
			resp.Header.Set("Content-Length", origCL)
		}
	case resp.ContentLength >= 0:
		resp.Header.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	case req.ProtoAtLeast(1, 1):
		chunked = true
		resp.Header.Set("Transfer-Encoding", "chunked")
	default:
		keep = false // an HTTP/1.0 client: the end of the body is the end of the connection
	}
	if !keep && !switching {
		resp.Header.Set("Connection", "close")
	}

	cw := &countWriter{conn: cc.conn, idle: p.opts.IdleTimeout}
	defer func() { rec.BytesDown += cw.n }()
	bw := bufio.NewWriterSize(cw, 32<<10)
	fmt.Fprintf(bw, "HTTP/1.1 %s\r\n", resp.Status)
	resp.Header.Write(bw)
	bw.WriteString("\r\n")

	switch {
	case switching:
		if err := bw.Flush(); err != nil {
			return false, err
		}
		up, down := cc.tunnel(cc.up)
		rec.BytesUp += up
		rec.BytesDown += down
		return false, nil
	case noBody:
		return keep, bw.Flush()
	case resp.ContentLength >= 0:
		if err := bw.Flush(); err != nil {
			return false, err
		}
		n, err := p.copyFrom(cc.conn, cc.upBr, cc.up, resp.ContentLength, p.opts.IdleTimeout)
		rec.BytesDown += n
		if err == nil && n < resp.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return false, fmt.Errorf("%w: response body: %v", ErrUpstream, err)
		}
		return keep, nil
	case chunked:
		w := httputil.NewChunkedWriter(bw)
		if _, err := copyBuffered(w, resp.Body); err != nil {
			return false, fmt.Errorf("%w: response body: %v", ErrUpstream, err)
		}
		w.Close()
		removeHopHeaders(resp.Trailer)
		resp.Trailer.Write(bw)
		bw.WriteString("\r\n")
		return keep, bw.Flush()
	default:
		_, err := copyBuffered(bw, resp.Body)
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		return false, err
	}
}

// connect serves a CONNECT request: check, connect, answer 200, then relay bytes both ways.
func (cc *clientConn) connect(req *http.Request) {
	p := cc.p
	t, err := parseHostPort(req.RequestURI, 0)
	if err != nil {
		cc.refuse(Record{Time: time.Now(), Protocol: ProtoConnect}, err, 0)
		return
	}
	d := p.decide(p.ctx, ProtoConnect, t)
	if d.err != nil {
		cc.refuse(d.rec, d.err, 0)
		return
	}
	up, err := p.dial(p.ctx, &d)
	if err != nil {
		cc.refuse(d.rec, err, 0)
		return
	}
	defer p.untrack(up)
	cc.conn.SetWriteDeadline(time.Now().Add(p.opts.IdleTimeout))
	if _, err := io.WriteString(cc.conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		d.rec.Reason, d.rec.Detail = ReasonUpstream, "client went away: "+err.Error()
		p.rec.add(d.rec)
		return
	}
	d.rec.BytesUp, d.rec.BytesDown = cc.tunnel(up)
	p.rec.add(d.rec)
}
