package netproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// FuzzParseHost: a host either fails or normalises to a name or an address that parses back
// to itself, and a name is never a spelling of an address.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com.", "127.0.0.1", "127.1", "2130706433", "0x7f.1", "0177.0.0.01",
		"::1", "::ffff:127.0.0.1", "fe80::1%eth0", "1.2.3.4.5", "a.0x1f", "xn--bcher-kva.example", "0x", "08.1", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := parseHost(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parseHost(%q): %v does not wrap ErrMalformed", s, err)
			}
			return
		}
		if (tg.name == "") != tg.addr.IsValid() {
			t.Fatalf("parseHost(%q) = %+v: neither or both of name and address", s, tg)
		}
		again, err := parseHost(tg.host())
		if err != nil || again != tg {
			t.Fatalf("parseHost(%q) = %+v, which parses back to %+v, %v", s, tg, again, err)
		}
		if tg.name != "" {
			if _, err := netip.ParseAddr(tg.name); err == nil {
				t.Fatalf("parseHost(%q): address %q taken for a name", s, tg.name)
			}
			if _, ok := parseLooseIPv4(tg.name); ok {
				t.Fatalf("parseHost(%q): IPv4 spelling %q taken for a name", s, tg.name)
			}
		}
	})
}

// FuzzSOCKS5 feeds arbitrary bytes to the SOCKS5 handshake parser: it never panics, and a
// request it accepts names a normalised target with a port.
func FuzzSOCKS5(f *testing.F) {
	seeds := [][]byte{
		{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80},
		append(append([]byte{5, 1, 0, 5, 1, 0, 3, 16}, "api.example.test"...), 1, 187),
		{5, 1, 0, 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80},
		{5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80},
		{5, 1, 2},
		{5, 0},
		{4, 1, 0, 80, 127, 0, 0, 1, 0},
		append(append([]byte{5, 2, 0, 2, 5, 1, 0, 3, 10}, "2130706433"...), 0, 80),
		{5, 1, 0, 5, 1, 0, 9, 1, 2},
		{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 0},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		tg, err := readSOCKS5(bytes.NewReader(data), &out)
		if out.Len() > 2 {
			t.Fatalf("the parser wrote %d bytes: only the method selection is its to write", out.Len())
		}
		if err != nil {
			var se *socksError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a socksError", err)
			}
			return
		}
		if tg.port < 1 || tg.port > 65535 || (tg.name == "") != tg.addr.IsValid() {
			t.Fatalf("accepted target %+v", tg)
		}
		if tg.name != "" {
			if n, ok := policy.CanonicalHostName(tg.name); !ok || n != tg.name {
				t.Fatalf("name %q is not canonical", tg.name)
			}
		}
	})
}

// FuzzServeConn feeds arbitrary bytes to a whole client connection (protocol sniffing, the
// HTTP request parser, CONNECT, SOCKS5) and checks the one property that matters: the dialer
// only ever sees addresses the policy allows.
func FuzzServeConn(f *testing.F) {
	seeds := []string{
		"GET http://ok.example.test:8080/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://meta.example.test:8080/ HTTP/1.1\r\n\r\n",
		"GET http://0x7f.1:8080/ HTTP/1.1\r\n\r\nGET http://127.0.0.2:8080/ HTTP/1.1\r\n\r\n",
		"CONNECT ok.example.test:8080 HTTP/1.1\r\n\r\n",
		"CONNECT [::ffff:127.0.0.1]:8080 HTTP/1.1\r\n\r\n",
		"CONNECT [::1]:8080 HTTP/1.1\r\n\r\n",
		"POST http://ok.example.test:8080/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET http://evil.example.test:8080/ HTTP/1.1\r\nHost: ok.example.test:8080\r\n\r\n",
		"\x05\x01\x00\x05\x01\x00\x03\x0fok.example.test\x1f\x90",
		"\x05\x01\x00\x05\x01\x00\x01\xa9\xfe\xa9\xfe\x00\x50",
		"\x05\x01\x00\x05\x01\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x7f\x00\x00\x01\x1f\x90",
		"\x04\x01\x00\x50\x7f\x00\x00\x01\x00",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	allowed := map[string]bool{"127.0.0.1:8080": true, "[::1]:8080": true, "203.0.113.7:443": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := newResolver("ok.example.test", "127.0.0.1", "meta.example.test", "169.254.169.254", "mapped.example.test", "::ffff:127.0.0.1")
		d := &recordDialer{}
		p, err := New(policy.Network{Allow: []string{"ok.example.test:8080", "meta.example.test:8080", "mapped.example.test:8080", "*.example.test",
			"127.0.0.1:8080", "[::1]:8080", "203.0.113.7:443"}},
			Options{Resolver: res, Dialer: d, ReadHeaderTimeout: 20 * time.Millisecond, IdleTimeout: 20 * time.Millisecond,
				DialTimeout: 20 * time.Millisecond, ResponseHeaderTimeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		client, server := net.Pipe()
		go func() {
			client.Write(data)
			io.Copy(io.Discard, client)
		}()
		done := make(chan struct{})
		go func() {
			p.track(server)
			p.serveConn(server)
			p.untrack(server)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("serveConn did not end")
		}
		client.Close()
		p.Close()
		for _, a := range d.calls() {
			if !allowed[a] {
				t.Fatalf("dialed %s, which the policy does not allow", a)
			}
		}
	})
}

// recordDialer records the addresses it is asked for and connects nowhere.
type recordDialer struct {
	mu    sync.Mutex
	addrs []string
}

func (d *recordDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, address)
	d.mu.Unlock()
	return nil, errNotLoopback
}

func (d *recordDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}
