package netproxy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in   string
		name string // expected name, or
		addr string // expected address
		err  error
	}{
		{in: "Example.COM", name: "example.com"},
		{in: "example.com.", name: "example.com"},
		{in: "a-b.example.test", name: "a-b.example.test"},
		{in: "127.0.0.1", addr: "127.0.0.1"},
		{in: "127.1", addr: "127.0.0.1"},
		{in: "2130706433", addr: "127.0.0.1"},
		{in: "0x7f.1", addr: "127.0.0.1"},
		{in: "0x7F000001", addr: "127.0.0.1"},
		{in: "0177.0.0.1", addr: "127.0.0.1"},
		{in: "0177.0.0.01", addr: "127.0.0.1"},
		{in: "127.0.0.1.", addr: "127.0.0.1"},
		{in: "017700000001", addr: "127.0.0.1"},
		{in: "169.254.43518", addr: "169.254.169.254"},
		{in: "0xa9fea9fe", addr: "169.254.169.254"},
		{in: "0", addr: "0.0.0.0"},
		{in: "0x", addr: "0.0.0.0"},
		{in: "::1", addr: "::1"},
		{in: "::ffff:127.0.0.1", addr: "::ffff:127.0.0.1"},
		{in: "0:0:0:0:0:0:0:1", addr: "::1"},
		{in: "fe80::1%eth0", err: ErrMalformed},
		{in: "256.1.1.1", err: ErrMalformed},
		{in: "1.2.3.4.5", err: ErrMalformed},
		{in: "1.2.65536", err: ErrMalformed},
		{in: "4294967296", err: ErrMalformed},
		{in: "08.1.1.1", err: ErrMalformed}, // 8 is not an octal digit
		{in: "example.123", err: ErrMalformed},
		{in: "example.0x1", err: ErrMalformed},
		{in: "ex_ample.com", err: ErrMalformed},
		{in: "exa mple.com", err: ErrMalformed},
		{in: "example..com", err: ErrMalformed},
		{in: "ex\x00ample.com", err: ErrMalformed},
		{in: "xn--bcher-kva.example", name: "xn--bcher-kva.example"},
		{in: "bücher.example", err: ErrMalformed},
		{in: "", err: ErrMalformed},
		{in: strings.Repeat("a", 64) + ".example", err: ErrMalformed},
		{in: "[::1]", err: ErrMalformed},
		{in: "1.2.3.-4", err: ErrMalformed},
		{in: "1.2.3.+4", err: ErrMalformed},
	}
	for _, tt := range tests {
		got, err := parseHost(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("parseHost(%q) = %+v, %v; want %v", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseHost(%q): %v", tt.in, err)
			continue
		}
		if got.name != tt.name || (tt.addr != "" && got.addr != netip.MustParseAddr(tt.addr)) || (tt.addr == "" && got.addr.IsValid()) {
			t.Errorf("parseHost(%q) = %q %v; want %q %q", tt.in, got.name, got.addr, tt.name, tt.addr)
		}
	}
}

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		in, def string
		host    string
		port    int
		bad     bool
	}{
		{in: "example.com:443", host: "example.com", port: 443},
		{in: "example.com", def: "80", host: "example.com", port: 80},
		{in: "example.com", bad: true},
		{in: "[2001:db8::1]:8443", host: "2001:db8::1", port: 8443},
		{in: "[2001:db8::1]", def: "80", host: "2001:db8::1", port: 80},
		{in: "2001:db8::1:443", bad: true},
		{in: "[2001:db8::1", bad: true},
		{in: "[example.com]:443", bad: true},
		{in: "[::1]x", bad: true},
		{in: "example.com:", bad: true},
		{in: "example.com:0", bad: true},
		{in: "example.com:65536", bad: true},
		{in: "example.com:+443", bad: true},
		{in: "example.com:0443", host: "example.com", port: 443},
		{in: "example.com:00000443", bad: true},
		{in: ":443", bad: true},
		{in: "0x7f.1:8080", host: "127.0.0.1", port: 8080},
	}
	for _, tt := range tests {
		def := 0
		if tt.def != "" {
			def = 80
		}
		got, err := parseHostPort(tt.in, def)
		if tt.bad {
			if err == nil {
				t.Errorf("parseHostPort(%q) = %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.host() != tt.host || got.port != tt.port {
			t.Errorf("parseHostPort(%q) = %q %d %v; want %q %d", tt.in, got.host(), got.port, err, tt.host, tt.port)
		}
	}
}

func TestRefusedClass(t *testing.T) {
	tests := []struct {
		addr  string
		class string // a substring of the class; "" for a public address
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fd12:3456::1", "private"},
		{"fc00::1", "private"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.2.1", "documentation"},
		{"2001:db8::1", "documentation"},
		{"169.254.169.254", "metadata"},
		{"169.254.170.2", "metadata"},
		{"fd00:ec2::254", "metadata"},
		{"100.100.100.200", "metadata"},
		{"168.63.129.16", "metadata"},
		{"192.0.0.192", "metadata"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"::ffff:169.254.169.254", "IPv4-mapped cloud metadata"},
		{"::ffff:10.0.0.1", "IPv4-mapped private"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"::45.1.2.3", "IPv4-compatible"},
		{"64:ff9b::127.0.0.1", "NAT64"},
		{"64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"},
		{"64:ff9b::10.0.0.1", "NAT64"},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"2002:7f00:1::1", "6to4 form of 127.0.0.1"},
		{"2002:a9fe:a9fe::", "6to4 form of 169.254.169.254"},
		{"2002:c0a8:0101::1", "6to4"},
		{"::ffff:0:127.0.0.1", "IPv4-translated"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"fec0::1", "site-local"},
		// Public addresses, and public addresses in embedding forms.
		{"45.1.2.3", ""},
		{"2a00:1:2::3", ""},
		{"::ffff:45.1.2.3", ""},
		{"64:ff9b::45.1.2.3", ""},
		{"2002:2d01:0203::1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"11.0.0.1", ""},
	}
	for _, tt := range tests {
		got := refusedClass(netip.MustParseAddr(tt.addr))
		if tt.class == "" && got != "" || tt.class != "" && !strings.Contains(got, tt.class) {
			t.Errorf("refusedClass(%s) = %q, want %q", tt.addr, got, tt.class)
		}
	}
}
