package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// testResolver maps names to addresses; it never asks a real resolver. A name with a sequence
// answers its entries in turn (the last one repeats), for DNS rebinding tests.
type testResolver struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
	seq   map[string][][]netip.Addr
	calls map[string]int
	block bool            // wait for the context instead of answering
	hang  map[string]bool // names whose lookups wait for the context
}

func newResolver(pairs ...string) *testResolver {
	r := &testResolver{names: map[string][]netip.Addr{}, seq: map[string][][]netip.Addr{}, calls: map[string]int{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		r.set(pairs[i], pairs[i+1])
	}
	return r
}

func (r *testResolver) set(name string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var as []netip.Addr
	for _, a := range addrs {
		as = append(as, netip.MustParseAddr(a))
	}
	r.names[name] = as
}

func (r *testResolver) sequence(name string, answers ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range answers {
		r.seq[name] = append(r.seq[name], []netip.Addr{netip.MustParseAddr(a)})
	}
}

func (r *testResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

func (r *testResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.calls[host]++
	block := r.block || r.hang[host]
	if s := r.seq[host]; len(s) > 0 {
		a := s[0]
		if len(s) > 1 {
			r.seq[host] = s[1:]
		}
		r.mu.Unlock()
		return a, nil
	}
	a, ok := r.names[host]
	r.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return a, nil
}

// testDialer records every address it is asked for and dials only loopback: a test must never
// reach anything else. Asked for another address, it fails without touching the network.
type testDialer struct {
	mu    sync.Mutex
	addrs []string
	block bool // wait for the context instead of dialing
}

var errNotLoopback = errors.New("test dialer: refusing to dial a non-loopback address")

func (d *testDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, address)
	block := d.block
	d.mu.Unlock()
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("test dialer: %q is not an address: the proxy must dial addresses only", address)
	}
	if !ap.Addr().IsLoopback() {
		return nil, errNotLoopback
	}
	if block {
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, address)
}

func (d *testDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// env is one proxy under test with its resolver, dialer and upstream servers.
type env struct {
	t    *testing.T
	p    *Proxy
	addr string // the proxy's 127.0.0.1:PORT
	res  *testResolver
	dial *testDialer
}

// newEnv starts a proxy on 127.0.0.1 with network and opts; the resolver and dialer are the
// test's unless opts names others.
func newEnv(t *testing.T, network policy.Network, opts Options, res *testResolver) *env {
	t.Helper()
	if res == nil {
		res = newResolver()
	}
	d := &testDialer{}
	if opts.Resolver == nil {
		opts.Resolver = res
	}
	if opts.Dialer == nil {
		opts.Dialer = d
	}
	p, err := New(network, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(ln) }()
	t.Cleanup(func() {
		p.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
	})
	return &env{t: t, p: p, addr: ln.Addr().String(), res: res, dial: d}
}

// echoServer answers every request with what it saw, so a test can tell where a request
// went and what arrived.
func echoServer(t *testing.T, name string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Server", name)
		fmt.Fprintf(w, "server=%s method=%s uri=%s host=%s body=%s ua=%q", name, r.Method, r.RequestURI, r.Host, body, r.Header.Get("User-Agent"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// rawRequest sends raw bytes to the proxy on a new connection and reads one response.
func (e *env) rawRequest(raw string) *http.Response {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatalf("reading the response to %q: %v", raw, err)
	}
	return resp
}

// get sends GET url through the proxy on a new connection.
func (e *env) get(url string) (*http.Response, string) {
	e.t.Helper()
	resp := e.rawRequest("GET " + url + " HTTP/1.1\r\nHost: ignored.test\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// httpClient is a client that uses the proxy for everything.
func (e *env) httpClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:             http.ProxyURL(mustURL("http://" + e.addr)),
			DisableKeepAlives: true,
		},
		Timeout: 10 * time.Second,
	}
}

// waitGoroutines waits until the goroutine count is back to at most base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// socks5 is a minimal SOCKS5 client: the handshake with no authentication and one request.
// It returns the reply code and the connection, ready to carry bytes when the code is 0.
func socks5(t *testing.T, proxyAddr string, atyp byte, host string, port int, cmd byte) (byte, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		t.Fatal(err)
	}
	var sel [2]byte
	if _, err := io.ReadFull(c, sel[:]); err != nil || sel != [2]byte{5, 0} {
		t.Fatalf("method selection: %v %v", sel, err)
	}
	req := []byte{5, cmd, 0, atyp}
	switch atyp {
	case socksAtypDomain:
		req = append(req, byte(len(host)))
		req = append(req, host...)
	default:
		a := netip.MustParseAddr(host)
		req = append(req, a.AsSlice()...)
	}
	req = append(req, byte(port>>8), byte(port))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		t.Fatalf("SOCKS5 reply: %v", err)
	}
	if rep[0] != 5 {
		t.Fatalf("SOCKS5 reply version %d", rep[0])
	}
	c.SetDeadline(time.Time{})
	return rep[1], c
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
