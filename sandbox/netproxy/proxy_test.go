package netproxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// TestHTTPAllowAndDeny drives plain HTTP requests through the proxy against local echo
// servers, one table row per host pattern rule.
func TestHTTPAllowAndDeny(t *testing.T) {
	srv := echoServer(t, "up")
	port := portOf(t, srv.URL)
	ps := strconv.Itoa(port)
	res := newResolver(
		"api.example.test", "127.0.0.1",
		"a.wild.example.test", "127.0.0.1",
		"deep.a.wild.example.test", "127.0.0.1",
		"wild.example.test", "127.0.0.1",
		"bad.wild.example.test", "127.0.0.1",
		"other.example.test", "127.0.0.1",
		"portless.example.test", "203.0.113.80",
	)
	e := newEnv(t, policy.Network{
		Allow: []string{"api.example.test:" + ps, "*.wild.example.test:" + ps, "127.0.0.1:" + ps, "portless.example.test", "203.0.113.80"},
		Deny:  []string{"bad.wild.example.test"},
	}, Options{}, res)

	tests := []struct {
		name   string
		url    string
		status int
		reason Reason
	}{
		{"exact name", "http://api.example.test:" + ps + "/x?y=1", 200, ""},
		{"exact name, upper case", "http://API.Example.Test:" + ps + "/", 200, ""},
		{"exact name, trailing dot", "http://api.example.test.:" + ps + "/", 200, ""},
		{"wildcard subdomain", "http://a.wild.example.test:" + ps + "/", 200, ""},
		{"wildcard deeper subdomain", "http://deep.a.wild.example.test:" + ps + "/", 200, ""},
		{"wildcard does not cover the apex", "http://wild.example.test:" + ps + "/", 403, ReasonNotAllowed},
		{"deny wins over a wildcard", "http://bad.wild.example.test:" + ps + "/", 403, ReasonDenied},
		{"name not listed", "http://other.example.test:" + ps + "/", 403, ReasonNotAllowed},
		{"wrong port", "http://api.example.test:1/", 403, ReasonNotAllowed},
		{"default port 80 not listed", "http://api.example.test/", 403, ReasonNotAllowed},
		{"port-less entry: 80 allowed (the test dialer refuses the listed address)", "http://portless.example.test/", 502, ReasonDial},
		{"port-less entry: other port", "http://portless.example.test:" + ps + "/", 403, ReasonNotAllowed},
		{"listed IP literal", "http://127.0.0.1:" + ps + "/", 200, ""},
		{"unlisted IP literal", "http://127.0.0.2:" + ps + "/", 403, ReasonIPLiteral},
		{"unknown name", "http://nowhere.example.test:" + ps + "/", 403, ReasonNotAllowed},
		{"userinfo does not change the host", "http://api.example.test:" + ps + "@other.example.test:" + ps + "/", 403, ReasonNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.get(tt.url)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			switch {
			case tt.status == 200:
				if !strings.Contains(body, "server=up") {
					t.Errorf("body %q does not come from the upstream", body)
				}
			case tt.reason.Refused():
				if got := resp.Header.Get("X-Skillrun-Denied"); got != string(tt.reason) {
					t.Errorf("X-Skillrun-Denied = %q, want %q", got, tt.reason)
				}
			default:
				if got := resp.Header.Get("X-Skillrun-Error"); got != string(tt.reason) {
					t.Errorf("X-Skillrun-Error = %q, want %q", got, tt.reason)
				}
			}
		})
	}
	for _, a := range e.dial.calls() {
		if a != "127.0.0.1:"+ps && a != "203.0.113.80:80" {
			t.Errorf("dialed %s", a)
		}
	}
	// A name the policy refuses is never looked up: no DNS exfiltration through the proxy.
	for _, n := range []string{"other.example.test", "wild.example.test", "bad.wild.example.test", "nowhere.example.test"} {
		if c := res.count(n); c != 0 {
			t.Errorf("%s was looked up %d times", n, c)
		}
	}
}

// TestRefusedAddressClasses maps an allowed name to an address of every refused class and
// checks that the proxy refuses without dialing, over all three protocols.
func TestRefusedAddressClasses(t *testing.T) {
	addrs := []string{
		"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "::", "10.0.0.1", "172.16.5.4", "192.168.0.1",
		"fd00::1", "100.64.1.1", "169.254.1.1", "fe80::1", "224.0.0.251", "ff02::fb", "255.255.255.255",
		"240.1.2.3", "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::7f00:1",
		"64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2002:a9fe:a9fe::1", "::ffff:0:10.0.0.1",
		"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1",
	}
	res := newResolver()
	for i, a := range addrs {
		res.set(fmt.Sprintf("h%d.example.test", i), a)
	}
	e := newEnv(t, policy.Network{Allow: []string{"*.example.test", "*.example.test:1080"}}, Options{}, res)
	for i, a := range addrs {
		name := fmt.Sprintf("h%d.example.test", i)
		t.Run(a, func(t *testing.T) {
			resp, body := e.get("http://" + name + "/")
			if resp.StatusCode != 403 || resp.Header.Get("X-Skillrun-Denied") != string(ReasonRefusedAddress) {
				t.Errorf("http: %d %q %q", resp.StatusCode, resp.Header.Get("X-Skillrun-Denied"), body)
			}
			if !strings.Contains(body, "network: allow: [") {
				t.Errorf("the body names no policy line: %q", body)
			}
			resp = e.rawRequest("CONNECT " + name + ":443 HTTP/1.1\r\n\r\n")
			if resp.StatusCode != 403 || resp.Header.Get("X-Skillrun-Denied") != string(ReasonRefusedAddress) {
				t.Errorf("connect: %d %q", resp.StatusCode, resp.Header.Get("X-Skillrun-Denied"))
			}
			if code, _ := socks5(t, e.addr, socksAtypDomain, name, 1080, socksCmdConnect); code != socksNotAllowed {
				t.Errorf("socks5: reply %d, want %d", code, socksNotAllowed)
			}
		})
	}
	if calls := e.dial.calls(); len(calls) > 0 {
		t.Errorf("the proxy dialed refused addresses: %v", calls)
	}
	for _, r := range e.p.Records() {
		if r.Allowed || r.Reason != ReasonRefusedAddress || !r.Addr.IsValid() {
			t.Errorf("record %+v", r)
		}
	}
}

// TestMixedAnswer: a name resolving to a refused and an allowed address connects only to the
// allowed one.
func TestMixedAnswer(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	res := newResolver()
	res.set("mixed.example.test", "169.254.169.254", "10.0.0.1", "127.0.0.1")
	e := newEnv(t, policy.Network{Allow: []string{"mixed.example.test:" + ps, "127.0.0.1:" + ps}}, Options{}, res)
	resp, body := e.get("http://mixed.example.test:" + ps + "/")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if got := e.dial.calls(); len(got) != 1 || got[0] != "127.0.0.1:"+ps {
		t.Errorf("dialed %v", got)
	}
}

// TestIPLiterals: an IP literal goes through only when the allowlist lists it, whatever its
// spelling; a listed literal of a refused class is allowed (that is the only way to reach one).
func TestIPLiterals(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	e := newEnv(t, policy.Network{Allow: []string{"127.0.0.1:" + ps, "203.0.113.9:80", "*.example.test"}}, Options{}, nil)
	tests := []struct {
		host   string
		status int
		reason Reason
	}{
		{"127.0.0.1:" + ps, 200, ""},
		{"0x7f.1:" + ps, 200, ""},     // the same address, normalised
		{"2130706433:" + ps, 200, ""}, // likewise
		{"0177.0.0.1:" + ps, 200, ""}, // likewise
		{"127.0.0.1.:" + ps, 200, ""}, // likewise
		{"127.0.0.2:" + ps, 403, ReasonIPLiteral},
		{"2130706434:" + ps, 403, ReasonIPLiteral},
		{"0x7f.2:" + ps, 403, ReasonIPLiteral},
		{"[::ffff:127.0.0.1]:" + ps, 403, ReasonIPLiteral}, // another literal
		{"[::1]:" + ps, 403, ReasonIPLiteral},
		{"[64:ff9b::7f00:1]:" + ps, 403, ReasonIPLiteral},
		{"10.0.0.1", 403, ReasonIPLiteral},
		{"169.254.169.254", 403, ReasonIPLiteral},
		{"0xa9fea9fe", 403, ReasonIPLiteral},
		{"[fd00:ec2::254]", 403, ReasonIPLiteral},
		{"45.1.2.3", 403, ReasonIPLiteral}, // public, but not listed
		{"203.0.113.9", 502, ReasonDial},   // listed: allowed, and the test dialer refuses to dial it
		{"256.0.0.1", 400, ReasonMalformed},
		{"1.2.3.4.5", 400, ReasonMalformed},
		{"[fe80::1%25eth0]", 400, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			resp, body := e.get("http://" + tt.host + "/")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %q", resp.StatusCode, tt.status, body)
			}
		})
	}
	calls := e.dial.calls()
	for _, c := range calls {
		if c != "127.0.0.1:"+ps && c != "203.0.113.9:80" {
			t.Errorf("dialed %s", c)
		}
	}
	if len(calls) != 6 {
		t.Errorf("dialed %d times, want 6: %v", len(calls), calls)
	}
}

// TestConnect tunnels HTTPS through CONNECT to a local TLS server and refuses the rest.
func TestConnect(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls ok host=%s", r.Host)
	}))
	defer srv.Close()
	ps := strconv.Itoa(portOf(t, srv.URL))
	res := newResolver("secure.example.test", "127.0.0.1", "other.example.test", "127.0.0.1")
	e := newEnv(t, policy.Network{Allow: []string{"secure.example.test:" + ps, "127.0.0.1:" + ps, "secure.example.test"}}, Options{}, res)

	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(mustURL("http://" + e.addr))
	tr.TLSClientConfig.ServerName = "example.com" // the name in httptest's certificate
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get("https://secure.example.test:" + ps + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "tls ok host=secure.example.test:"+ps) {
		t.Errorf("body %q", b)
	}
	if _, err := client.Get("https://other.example.test:" + ps + "/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("a CONNECT to a host not listed: %v", err)
	}

	for _, tt := range []struct {
		target string
		status int
		reason Reason
	}{
		{"secure.example.test:22", 403, ReasonNotAllowed},      // a port not allowed
		{"secure.example.test:443", 403, ReasonRefusedAddress}, // allowed name, but 127.0.0.1:443 is not listed
		{"secure.example.test", 400, ReasonMalformed},          // CONNECT needs a port
		{"http://secure.example.test:" + ps, 400, ReasonMalformed},
		{"[::1]:" + ps, 403, ReasonIPLiteral},
		{"webhook.example.com:443", 403, ReasonNotAllowed},
	} {
		resp := e.rawRequest("CONNECT " + tt.target + " HTTP/1.1\r\nHost: " + tt.target + "\r\n\r\n")
		if resp.StatusCode != tt.status {
			t.Errorf("CONNECT %s: %d, want %d", tt.target, resp.StatusCode, tt.status)
		}
	}
	// A CONNECT whose client sends its first bytes right behind the request (pipelined).
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pipelined ok") }))
	defer plain.Close()
	pps := strconv.Itoa(portOf(t, plain.URL))
	e2 := newEnv(t, policy.Network{Allow: []string{"plain.example.test:" + pps, "127.0.0.1:" + pps}}, Options{}, newResolver("plain.example.test", "127.0.0.1"))
	c2, err := net.Dial("tcp", e2.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "CONNECT plain.example.test:"+pps+" HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: plain.example.test\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c2)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if string(b) != "pipelined ok" {
		t.Errorf("pipelined request: %q", b)
	}
}

// TestSOCKS5 connects through SOCKS5 by name (remote resolution) and by IPv4 and IPv6 literal,
// and checks the refusals and unsupported requests.
func TestSOCKS5(t *testing.T) {
	srv := echoServer(t, "up")
	port := portOf(t, srv.URL)
	ps := strconv.Itoa(port)
	allow := []string{"socks.example.test:" + ps, "127.0.0.1:" + ps}
	var srv6 *httptest.Server
	port6 := 0
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		srv6 = &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Config.Handler}}
		srv6.Start()
		defer srv6.Close()
		port6 = portOf(t, srv6.URL)
		allow = append(allow, "[::1]:"+strconv.Itoa(port6))
	}
	res := newResolver("socks.example.test", "127.0.0.1", "meta.example.test", "169.254.169.254")
	e := newEnv(t, policy.Network{Allow: append(allow, "meta.example.test:"+ps)}, Options{}, res)

	roundTrip := func(c net.Conn, host string) string {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
		b, _ := io.ReadAll(c)
		return string(b)
	}
	code, c := socks5(t, e.addr, socksAtypDomain, "socks.example.test", port, socksCmdConnect)
	if code != 0 {
		t.Fatalf("domain: reply %d", code)
	}
	if got := roundTrip(c, "socks.example.test"); !strings.Contains(got, "server=up") {
		t.Errorf("domain: %q", got)
	}
	code, c = socks5(t, e.addr, socksAtypIPv4, "127.0.0.1", port, socksCmdConnect)
	if code != 0 {
		t.Fatalf("IPv4: reply %d", code)
	}
	if got := roundTrip(c, "127.0.0.1"); !strings.Contains(got, "server=up") {
		t.Errorf("IPv4: %q", got)
	}
	if srv6 != nil {
		code, c = socks5(t, e.addr, socksAtypIPv6, "::1", port6, socksCmdConnect)
		if code != 0 {
			t.Fatalf("IPv6: reply %d", code)
		}
		if got := roundTrip(c, "[::1]"); !strings.Contains(got, "server=up") {
			t.Errorf("IPv6: %q", got)
		}
	}
	for _, tt := range []struct {
		atyp byte
		host string
		port int
		cmd  byte
		want byte
	}{
		{socksAtypDomain, "denied.example.test", port, socksCmdConnect, socksNotAllowed},
		{socksAtypDomain, "socks.example.test", 22, socksCmdConnect, socksNotAllowed},
		{socksAtypDomain, "meta.example.test", port, socksCmdConnect, socksNotAllowed},
		{socksAtypIPv4, "127.0.0.2", port, socksCmdConnect, socksNotAllowed},
		{socksAtypIPv4, "169.254.169.254", 80, socksCmdConnect, socksNotAllowed},
		{socksAtypIPv6, "::ffff:127.0.0.1", port, socksCmdConnect, socksNotAllowed},
		{socksAtypDomain, "2130706434", port, socksCmdConnect, socksNotAllowed},
		{socksAtypDomain, "bad_name.example.test", port, socksCmdConnect, socksAddrNotSupported},
		{socksAtypDomain, "socks.example.test", port, 0x02, socksCmdNotSupported}, // BIND
		{socksAtypDomain, "socks.example.test", port, 0x03, socksCmdNotSupported}, // UDP ASSOCIATE
	} {
		if code, _ := socks5(t, e.addr, tt.atyp, tt.host, tt.port, tt.cmd); code != tt.want {
			t.Errorf("%s:%d cmd %d: reply %d, want %d", tt.host, tt.port, tt.cmd, code, tt.want)
		}
	}

	// A client that offers only username/password gets "no acceptable methods".
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{5, 1, 2})
	var sel [2]byte
	if _, err := io.ReadFull(c, sel[:]); err != nil || sel != [2]byte{5, 0xff} {
		t.Errorf("auth-only greeting: %v %v", sel, err)
	}
	// SOCKS4 is refused with its own "request rejected" reply.
	c4, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	c4.SetDeadline(time.Now().Add(5 * time.Second))
	c4.Write([]byte{4, 1, byte(port >> 8), byte(port), 127, 0, 0, 1, 0})
	var r4 [8]byte
	if _, err := io.ReadFull(c4, r4[:]); err != nil || r4[1] != 0x5b {
		t.Errorf("SOCKS4: %v %v", r4, err)
	}
	for _, a := range e.dial.calls() {
		if a != "127.0.0.1:"+ps && a != "[::1]:"+strconv.Itoa(port6) {
			t.Errorf("dialed %s", a)
		}
	}
}

// TestKeepAlive: every request on a kept-alive connection is checked on its own target.
func TestKeepAlive(t *testing.T) {
	a := echoServer(t, "a")
	b := echoServer(t, "b")
	pa, pb := strconv.Itoa(portOf(t, a.URL)), strconv.Itoa(portOf(t, b.URL))
	res := newResolver("a.example.test", "127.0.0.1", "b.example.test", "127.0.0.1", "evil.example.test", "127.0.0.1")
	e := newEnv(t, policy.Network{Allow: []string{"a.example.test:" + pa, "b.example.test:" + pb, "127.0.0.1:" + pa, "127.0.0.1:" + pb}}, Options{}, res)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	send := func(url string) (*http.Response, string) {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", url)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	steps := []struct {
		url    string
		status int
		server string
	}{
		{"http://a.example.test:" + pa + "/1", 200, "a"},
		{"http://a.example.test:" + pa + "/2", 200, "a"}, // reuses the upstream
		{"http://evil.example.test:" + pa + "/", 403, ""},
		{"http://b.example.test:" + pb + "/", 200, "b"},
		{"http://a.example.test:" + pb + "/", 403, ""}, // right host, wrong port
		{"http://a.example.test:" + pa + "/3", 200, "a"},
	}
	for _, s := range steps {
		resp, body := send(s.url)
		if resp.StatusCode != s.status || s.server != "" && resp.Header.Get("X-Server") != s.server {
			t.Fatalf("GET %s: %d %q", s.url, resp.StatusCode, body)
		}
	}
	// Pipelined: both requests written before either answer is read.
	fmt.Fprintf(c, "GET http://a.example.test:%s/p1 HTTP/1.1\r\nHost: x\r\n\r\nGET http://evil.example.test:%s/p2 HTTP/1.1\r\nHost: x\r\n\r\n", pa, pa)
	r1, err := http.ReadResponse(br, nil)
	if err != nil || r1.StatusCode != 200 {
		t.Fatalf("pipelined 1: %v %v", r1, err)
	}
	io.ReadAll(r1.Body)
	r2, err := http.ReadResponse(br, nil)
	if err != nil || r2.StatusCode != 403 {
		t.Fatalf("pipelined 2: %v %v", r2, err)
	}
	if n := res.count("a.example.test"); n != 2 {
		t.Errorf("a.example.test resolved %d times, want 2 (reuse skips the lookup)", n)
	}
}

// TestHostHeaderSpoofing: the request target decides, never the Host header, and the
// upstream sees the target's host.
func TestHostHeaderSpoofing(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	res := newResolver("good.example.test", "127.0.0.1", "evil.example.test", "127.0.0.1")
	e := newEnv(t, policy.Network{Allow: []string{"good.example.test:" + ps, "127.0.0.1:" + ps}}, Options{}, res)
	resp := e.rawRequest("GET http://evil.example.test:" + ps + "/ HTTP/1.1\r\nHost: good.example.test:" + ps + "\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 403 {
		t.Errorf("denied target with an allowed Host header: %d", resp.StatusCode)
	}
	resp = e.rawRequest("GET http://good.example.test:" + ps + "/ HTTP/1.1\r\nHost: evil.example.test\r\nConnection: close\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "host=good.example.test:"+ps) {
		t.Errorf("allowed target with a spoofed Host header: %d %q", resp.StatusCode, body)
	}
	// Two Host headers, or none: the target still decides.
	resp = e.rawRequest("GET http://good.example.test:" + ps + "/ HTTP/1.1\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Errorf("no Host header: %d", resp.StatusCode)
	}
	// An origin-form request relies on Host alone: refused.
	resp = e.rawRequest("GET / HTTP/1.1\r\nHost: good.example.test:" + ps + "\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Errorf("origin-form request: %d", resp.StatusCode)
	}
	for _, a := range e.dial.calls() {
		if a != "127.0.0.1:"+ps {
			t.Errorf("dialed %s", a)
		}
	}
}

// TestDNSRebinding: the name resolves to an allowed address, then to a refused one. The proxy
// connects to the address it checked, and refuses once the answer changes.
func TestDNSRebinding(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	res := newResolver()
	res.sequence("rebind.example.test", "127.0.0.1", "169.254.169.254", "10.0.0.1")
	e := newEnv(t, policy.Network{Allow: []string{"rebind.example.test:" + ps, "127.0.0.1:" + ps}}, Options{}, res)
	resp, body := e.get("http://rebind.example.test:" + ps + "/")
	if resp.StatusCode != 200 {
		t.Fatalf("first: %d %q", resp.StatusCode, body)
	}
	if calls := e.dial.calls(); len(calls) != 1 || calls[0] != "127.0.0.1:"+ps {
		t.Fatalf("dialed %v, want the checked 127.0.0.1:%s", calls, ps)
	}
	if n := res.count("rebind.example.test"); n != 1 {
		t.Errorf("resolved %d times for one connection", n)
	}
	for i, proto := range []string{"http", "connect"} {
		var resp *http.Response
		if proto == "http" {
			resp, _ = e.get("http://rebind.example.test:" + ps + "/")
		} else {
			resp = e.rawRequest("CONNECT rebind.example.test:" + ps + " HTTP/1.1\r\n\r\n")
		}
		if resp.StatusCode != 403 || resp.Header.Get("X-Skillrun-Denied") != string(ReasonRefusedAddress) {
			t.Errorf("%s after rebinding: %d %q", proto, resp.StatusCode, resp.Header.Get("X-Skillrun-Denied"))
		}
		if n := res.count("rebind.example.test"); n != 2+i {
			t.Errorf("resolved %d times, want %d", n, 2+i)
		}
	}
	if calls := e.dial.calls(); len(calls) != 1 {
		t.Errorf("dialed %v after the answer changed", calls)
	}
	e.p.Close()
	var addrs []string
	for _, r := range e.p.Records() {
		addrs = append(addrs, fmt.Sprintf("%v %s", r.Allowed, r.Addr))
	}
	sort.Strings(addrs)
	if strings.Join(addrs, ",") != "false 10.0.0.1,false 169.254.169.254,true 127.0.0.1" {
		t.Errorf("records %v", addrs)
	}
}

// TestMalformed sends broken and oversized requests; each gets a clear status and the
// connection is closed.
func TestMalformed(t *testing.T) {
	e := newEnv(t, policy.Network{Allow: []string{"ok.example.test"}}, Options{MaxHeaderBytes: 4096, MaxRequestLine: 512}, nil)
	big := strings.Repeat("a", 5000)
	tests := []struct {
		name   string
		raw    string
		status int
	}{
		{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400},
		{"no version", "GET http://ok.example.test/\r\n\r\n", 400},
		{"origin form", "GET /path HTTP/1.1\r\nHost: ok.example.test\r\n\r\n", 400},
		{"https absolute form", "GET https://ok.example.test/ HTTP/1.1\r\nHost: ok.example.test\r\n\r\n", 501},
		{"ftp scheme", "GET ftp://ok.example.test/ HTTP/1.1\r\n\r\n", 501},
		{"header without colon", "GET http://ok.example.test/ HTTP/1.1\r\nBroken header\r\n\r\n", 400},
		{"bad host characters", "GET http://ok..example.test/ HTTP/1.1\r\n\r\n", 400},
		{"empty host", "GET http:/// HTTP/1.1\r\n\r\n", 400},
		{"bad port", "GET http://ok.example.test:99999/ HTTP/1.1\r\n\r\n", 400},
		{"CONNECT without port", "CONNECT ok.example.test HTTP/1.1\r\n\r\n", 400},
		{"CONNECT unbracketed IPv6", "CONNECT ::1:443 HTTP/1.1\r\n\r\n", 400},
		{"CONNECT with path", "CONNECT /x HTTP/1.1\r\n\r\n", 400},
		{"huge header", "GET http://ok.example.test/ HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n", 431},
		{"many headers", "GET http://ok.example.test/ HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 1000) + "\r\n", 431},
		{"huge request line", "GET http://ok.example.test/" + big + " HTTP/1.1\r\n\r\n", 431},
		{"long request target", "GET http://ok.example.test/" + strings.Repeat("b", 1000) + " HTTP/1.1\r\n\r\n", 414},
		{"conflicting lengths", "POST http://ok.example.test/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"bad chunked", "POST http://ok.example.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.rawRequest(tt.raw)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if resp.Header.Get("X-Skillrun-Denied") == "" {
				t.Errorf("no X-Skillrun-Denied header")
			}
		})
	}
	if calls := e.dial.calls(); len(calls) > 0 {
		t.Errorf("dialed %v", calls)
	}
	if s := e.p.Summary(); s.Malformed == 0 || s.Allowed != 0 {
		t.Errorf("summary %+v", s)
	}
}

// TestSlowloris: a client that trickles its header, or sends nothing, is cut off after the
// header timeout; an idle kept-alive connection after the idle timeout.
func TestSlowloris(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	e := newEnv(t, policy.Network{Allow: []string{"ok.example.test:" + ps, "127.0.0.1:" + ps}},
		Options{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}, newResolver("ok.example.test", "127.0.0.1"))
	dial := func() net.Conn {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	// Trickle: one byte every 50 ms, never finishing.
	slow := dial()
	start := time.Now()
	go func() {
		for _, b := range []byte("GET http://ok.example.test/ HTTP/1.1\r\nX-Slow: yes") {
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("slow header: %v %v %q", resp, err, b)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cut off after %s", d)
	}
	// Silent: connects and sends nothing; the proxy closes without a word.
	c := dial()
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("silent client: %d %v", n, err)
	}
	// SOCKS5 greeting that stops half way.
	c = dial()
	c.Write([]byte{5, 1})
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("half SOCKS5 greeting: %d %v", n, err)
	}
	// Kept-alive connection that never sends its next request.
	c = dial()
	fmt.Fprintf(c, "GET http://ok.example.test:%s/ HTTP/1.1\r\nHost: x\r\n\r\n", ps)
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	io.ReadAll(resp.Body)
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("idle kept-alive connection was not closed")
	}
	// An idle CONNECT tunnel is closed too.
	c = dial()
	fmt.Fprintf(c, "CONNECT ok.example.test:%s HTTP/1.1\r\n\r\n", ps)
	br = bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	start = time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("idle tunnel was not closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle tunnel closed after %s", d)
	}
}

// TestUpstreamNeverAnswers: an upstream that accepts and stays silent, and one whose connect
// never completes, end in 504 or the SOCKS "host unreachable" reply, not a hang.
func TestUpstreamNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	ps := strconv.Itoa(portOf(t, ln.Addr().String()))
	res := newResolver("silent.example.test", "127.0.0.1")
	e := newEnv(t, policy.Network{Allow: []string{"silent.example.test:" + ps, "127.0.0.1:" + ps}},
		Options{ResponseHeaderTimeout: 200 * time.Millisecond}, res)
	resp, _ := e.get("http://silent.example.test:" + ps + "/")
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("silent upstream: %d, want 504", resp.StatusCode)
	}

	// A connect that never completes: the dialer blocks until the dial timeout.
	res2 := newResolver("blackhole.example.test", "127.0.0.1")
	e2 := newEnv(t, policy.Network{Allow: []string{"blackhole.example.test:" + ps, "127.0.0.1:" + ps}},
		Options{DialTimeout: 200 * time.Millisecond}, res2)
	e2.dial.block = true
	resp, _ = e2.get("http://blackhole.example.test:" + ps + "/")
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("blackholed dial: %d, want 504", resp.StatusCode)
	}
	if code, _ := socks5(t, e2.addr, socksAtypDomain, "blackhole.example.test", portOf(t, ln.Addr().String()), socksCmdConnect); code != socksHostUnreachable {
		t.Errorf("blackholed dial over SOCKS5: reply %d", code)
	}
	// A resolver that never answers.
	res2.mu.Lock()
	res2.block = true
	res2.mu.Unlock()
	resp, _ = e2.get("http://blackhole.example.test:" + ps + "/")
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Skillrun-Error") != string(ReasonResolve) {
		t.Errorf("silent resolver: %d %q", resp.StatusCode, resp.Header.Get("X-Skillrun-Error"))
	}
	if s := e2.p.Summary(); s.Failed != 3 || s.Denied != 0 {
		t.Errorf("summary %+v", s)
	}
}

// TestHTTPFraming checks bodies both ways: POST with Content-Length and chunked, a chunked
// response with trailers, HEAD, 204, 304, Expect: 100-continue, a close-delimited response.
func TestHTTPFraming(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			w.Write([]byte("part1-"))
			w.(http.Flusher).Flush()
			w.Write([]byte("part2"))
			w.Header().Set("X-Sum", "done")
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		case "/head":
			w.Header().Set("Content-Length", "1234")
		case "/ua":
			fmt.Fprintf(w, "ua=%q", r.Header.Get("User-Agent"))
		case "/close":
			hj, _, _ := w.(http.Hijacker).Hijack()
			io.WriteString(hj, "HTTP/1.1 200 OK\r\nX-Close: 1\r\n\r\nuntil the end")
			hj.Close()
		default:
			fmt.Fprintf(w, "got %d bytes: %s; te=%v", len(body), body, r.TransferEncoding)
		}
	}))
	t.Cleanup(srv.Close)
	ps := strconv.Itoa(portOf(t, srv.URL))
	e := newEnv(t, policy.Network{Allow: []string{"f.example.test:" + ps, "127.0.0.1:" + ps}}, Options{}, newResolver("f.example.test", "127.0.0.1"))
	base := "http://f.example.test:" + ps
	client := e.httpClient()
	client.Transport.(*http.Transport).DisableKeepAlives = false

	resp, err := client.Post(base+"/post", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "got 5 bytes: hello; te=[]" {
		t.Errorf("POST: %q", b)
	}
	resp, err = client.Post(base+"/post", "text/plain", io.MultiReader(strings.NewReader("chunk"), strings.NewReader("ed")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(b), "got 7 bytes: chunked") {
		t.Errorf("chunked POST: %q", b)
	}
	resp, err = client.Get(base + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if string(b) != "part1-part2" || resp.Trailer.Get("X-Sum") != "done" {
		t.Errorf("chunked response: %q trailer %v", b, resp.Trailer)
	}
	resp, err = client.Head(base + "/head")
	if err != nil || resp.ContentLength != 1234 {
		t.Errorf("HEAD: %v %v", resp, err)
	}
	for _, p := range []string{"/204", "/304"} {
		resp, err = client.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		if strconv.Itoa(resp.StatusCode) != p[1:] {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	resp, err = client.Get(base + "/close")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	if string(b) != "until the end" {
		t.Errorf("close-delimited: %q", b)
	}
	// Expect: 100-continue is answered by the proxy.
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST "+base+"/post HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	r, err := http.ReadResponse(br, nil)
	if err != nil || r.StatusCode != 100 {
		t.Fatalf("Expect: %v %v", r, err)
	}
	io.WriteString(c, "abc")
	r, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r.Body)
	if string(b) != "got 3 bytes: abc; te=[]" {
		t.Errorf("after 100-continue: %q", b)
	}
	// No User-Agent stays none: the proxy adds nothing.
	_, body := e.get(base + "/ua")
	if !strings.Contains(body, `ua=""`) {
		t.Errorf("user agent added: %q", body)
	}
}

// TestUpgrade relays a protocol upgrade (WebSocket-style) over plain HTTP.
func TestUpgrade(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "no upgrade", 400)
			return
		}
		c, brw, _ := w.(http.Hijacker).Hijack()
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		line, _ := brw.ReadString('\n')
		io.WriteString(c, "echo: "+line)
	}))
	defer srv.Close()
	ps := strconv.Itoa(portOf(t, srv.URL))
	e := newEnv(t, policy.Network{Allow: []string{"ws.example.test:" + ps, "127.0.0.1:" + ps}}, Options{}, newResolver("ws.example.test", "127.0.0.1"))
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET http://ws.example.test:%s/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n", ps)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	io.WriteString(c, "hello\n")
	line, _ := br.ReadString('\n')
	if line != "echo: hello\n" {
		t.Errorf("after the upgrade: %q", line)
	}
}

// TestRecordsAndSummary checks what the run keeps: one record per decision with bytes and
// addresses, and the denials grouped per host:port with the policy line that would allow them.
func TestRecordsAndSummary(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	res := newResolver("ok.example.test", "127.0.0.1", "webhook.example.com", "127.0.0.1", "meta.example.test", "169.254.169.254")
	e := newEnv(t, policy.Network{
		Allow: []string{"ok.example.test:" + ps, "127.0.0.1:" + ps, "meta.example.test", "*.example.org"},
		Deny:  []string{"bad.example.org"},
	}, Options{}, res)
	e.get("http://ok.example.test:" + ps + "/")
	for i := 0; i < 3; i++ {
		e.rawRequest("CONNECT webhook.example.com:443 HTTP/1.1\r\n\r\n")
	}
	resp, body := e.get("http://webhook.example.com/")
	e.get("http://meta.example.test/")
	e.get("http://bad.example.org/")
	e.get("http://[2001:db8::5]:8443/")
	socks5(t, e.addr, socksAtypDomain, "webhook.example.com", 443, socksCmdConnect)
	e.rawRequest("BROKEN\r\n\r\n")

	if resp.StatusCode != 403 || resp.Header.Get("X-Skillrun-Denied") != "not-in-allowlist" {
		t.Errorf("denial: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(body, `network: allow: ["webhook.example.com:80"]`) {
		t.Errorf("denial body: %q", body)
	}
	e.p.Close()
	recs := e.p.Records()
	if len(recs) != 10 {
		t.Fatalf("%d records: %+v", len(recs), recs)
	}
	var ok Record
	for _, r := range recs {
		if r.Allowed {
			ok = r
		}
	}
	if !ok.Allowed || ok.Protocol != ProtoHTTP || ok.Host != "ok.example.test" || ok.Addr.String() != "127.0.0.1" ||
		ok.BytesUp == 0 || ok.BytesDown == 0 || ok.Rule != "ok.example.test:"+ps || ok.Reason != "" {
		t.Errorf("allowed record %+v", ok)
	}
	s := e.p.Summary()
	if s.Requests != 10 || s.Allowed != 1 || s.Denied != 9 || s.Malformed != 1 {
		t.Errorf("summary totals %+v", s)
	}
	want := []struct {
		target string
		count  int
		reason Reason
		hint   string
	}{
		{"webhook.example.com:443", 4, ReasonNotAllowed, `network: allow: ["webhook.example.com:443"]`},
		{"[2001:db8::5]:8443", 1, ReasonIPLiteral, `network: allow: ["[2001:db8::5]:8443"]`},
		{"bad.example.org:80", 1, ReasonDenied, ""},
		{"meta.example.test:80", 1, ReasonRefusedAddress, `network: allow: ["169.254.169.254:80"]`},
		{"webhook.example.com:80", 1, ReasonNotAllowed, `network: allow: ["webhook.example.com:80"]`},
	}
	if len(s.Blocked) != len(want) {
		t.Fatalf("blocked %+v", s.Blocked)
	}
	for i, w := range want {
		b := s.Blocked[i]
		if b.Target() != w.target || b.Count != w.count || b.Reason != w.reason || b.Hint != w.hint {
			t.Errorf("blocked[%d] = %+v, want %+v", i, b, w)
		}
	}
	if s.Blocked[2].Rule != "bad.example.org" {
		t.Errorf("deny rule %q", s.Blocked[2].Rule)
	}
	// The line skillrun prints, from this data.
	b := s.Blocked[0]
	line := fmt.Sprintf("skillrun: blocked: %d connections to %s (%s of skill pdf-tools)", b.Count, b.Target(), b.Reason.Text())
	if line != "skillrun: blocked: 4 connections to webhook.example.com:443 (not in the allowlist of skill pdf-tools)" {
		t.Errorf("line %q", line)
	}
}

func TestRecordsBounded(t *testing.T) {
	e := newEnv(t, policy.Network{Allow: []string{"ok.example.test"}}, Options{MaxRecords: 3}, nil)
	for i := 0; i < 5; i++ {
		e.get(fmt.Sprintf("http://h%d.example.test/", i))
	}
	e.p.Close()
	s := e.p.Summary()
	if len(e.p.Records()) != 3 || s.DroppedRecords != 2 || s.Denied != 5 || len(s.Blocked) != 3 || s.BlockedOther != 2 {
		t.Errorf("records %d, summary %+v", len(e.p.Records()), s)
	}
}

func TestNewInvalid(t *testing.T) {
	if _, err := New(policy.Network{Allow: []string{"http://example.com/"}}, Options{}); !errors.Is(err, policy.ErrInvalid) {
		t.Errorf("New with a bad entry: %v", err)
	}
}

// TestSpecialTargetsNeverDialed: whatever a client asks, the dialer only ever sees checked
// addresses.
func TestServeTwiceAndAfterClose(t *testing.T) {
	p, err := New(policy.Network{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error)
	go func() { done <- p.Serve(ln) }()
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln2.Close()
	time.Sleep(20 * time.Millisecond)
	if err := p.Serve(ln2); err == nil || errors.Is(err, ErrClosed) {
		t.Errorf("second Serve: %v", err)
	}
	p.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	ln3, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := p.Serve(ln3); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve on a closed proxy: %v", err)
	}
	if _, err := net.Dial("tcp", ln3.Addr().String()); err == nil {
		t.Errorf("the listener handed to a closed proxy is still open")
	}
	p.Close() // twice is fine
}

// tlsConfigFor is used by the client tests.
var _ = tls.Config{}
