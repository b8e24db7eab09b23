package policy

import (
	"errors"
	"net/netip"
	"testing"
)

func TestHostMatcherNames(t *testing.T) {
	m, err := NewHostMatcher(Network{
		Allow: []string{"api.example.com:443", "*.example.org", "plain.example.net", "any.example.net:8080", "[2001:db8::1]:443", "192.0.2.7"},
		Deny:  []string{"bad.example.org", "*.internal.example.org:443"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		port    int
		allowed bool
		by      string
	}{
		{"api.example.com", 443, true, "api.example.com:443"},
		{"api.example.com", 80, false, ""},
		{"api.example.com", 8443, false, ""},
		{"other.example.com", 443, false, ""},
		{"x.example.org", 443, true, "*.example.org"},
		{"x.example.org", 80, true, "*.example.org"},
		{"x.example.org", 22, false, ""},
		{"deep.x.example.org", 443, true, "*.example.org"},
		{"example.org", 443, false, ""}, // the apex is not a subdomain
		{"evilexample.org", 443, false, ""},
		{"bad.example.org", 443, false, "bad.example.org"},
		{"bad.example.org", 8080, false, "bad.example.org"}, // a port-less deny denies every port
		{"a.internal.example.org", 443, false, "*.internal.example.org:443"},
		{"a.internal.example.org", 80, true, "*.example.org"},
		{"plain.example.net", 80, true, "plain.example.net"},
		{"plain.example.net", 443, true, "plain.example.net"},
		{"plain.example.net", 8080, false, ""},
		{"any.example.net", 8080, true, "any.example.net:8080"},
		{"any.example.net", 443, false, ""},
		{"192.0.2.7", 443, false, ""}, // an address is never a name
		{"", 443, false, ""},
	}
	for _, tt := range tests {
		allowed, by := m.MatchName(tt.name, tt.port)
		if allowed != tt.allowed || by != tt.by {
			t.Errorf("MatchName(%q, %d) = %v, %q; want %v, %q", tt.name, tt.port, allowed, by, tt.allowed, tt.by)
		}
	}
}

func TestHostMatcherAddrs(t *testing.T) {
	m, err := NewHostMatcher(Network{
		Allow: []string{"*", "*.example.com", "[2001:db8::1]:443", "192.0.2.7", "127.0.0.1:8080"},
		Deny:  []string{"192.0.2.9", "[2001:db8::2]:443"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr    string
		port    int
		allowed bool
		by      string
	}{
		{"2001:db8::1", 443, true, "[2001:db8::1]:443"},
		{"2001:db8::1", 80, false, ""},
		{"192.0.2.7", 80, true, "192.0.2.7"},
		{"192.0.2.7", 22, false, ""},
		{"10.0.0.1", 443, false, ""}, // "*" and wildcards match names only
		{"127.0.0.1", 8080, true, "127.0.0.1:8080"},
		{"::ffff:127.0.0.1", 8080, false, ""}, // another literal
		{"192.0.2.9", 443, false, "192.0.2.9"},
		{"2001:db8::2", 443, false, "[2001:db8::2]:443"},
		{"2001:db8::2", 80, false, ""},
	}
	for _, tt := range tests {
		allowed, by := m.MatchAddr(netip.MustParseAddr(tt.addr), tt.port)
		if allowed != tt.allowed || by != tt.by {
			t.Errorf("MatchAddr(%s, %d) = %v, %q; want %v, %q", tt.addr, tt.port, allowed, by, tt.allowed, tt.by)
		}
	}
	if ok, _ := m.MatchName("anything.example.com", 443); !ok {
		t.Error(`"*" in the allowlist should match any name`)
	}
	if ok, _ := m.MatchAddr(netip.Addr{}, 443); ok {
		t.Error("the zero address was allowed")
	}
	// A wildcard over numeric labels would read as an address rule; it is refused outright.
	for _, p := range []string{"*.0.1", "10.1", "0x7f000001"} {
		if _, err := NewHostMatcher(Network{Allow: []string{p}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", p, err)
		}
	}
}

func TestHostMatcherDenyStar(t *testing.T) {
	m, err := NewHostMatcher(Network{Allow: []string{"api.example.com", "192.0.2.7"}, Deny: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, by := m.MatchName("api.example.com", 443); ok || by != "*" {
		t.Errorf("deny * did not win over an allowed name: %v %q", ok, by)
	}
	if ok, by := m.MatchAddr(netip.MustParseAddr("192.0.2.7"), 443); ok || by != "*" {
		t.Errorf("deny * did not win over an allowed address: %v %q", ok, by)
	}
}

func TestHostMatcherInvalid(t *testing.T) {
	for _, n := range []Network{
		{Allow: []string{"http://example.com"}},
		{Allow: []string{"*.com"}},
		{Deny: []string{"example.com:0"}},
		{Allow: []string{"2001:db8::1"}},
	} {
		if _, err := NewHostMatcher(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewHostMatcher(%v) = %v, want ErrInvalid", n, err)
		}
	}
}

func TestCanonicalHostName(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"API.Example.COM", "api.example.com", true},
		{"api.example.com.", "api.example.com", true},
		{"api.example.com..", "", false},
		{"localhost", "localhost", true},
		{"1.2.3", "", false},
		{"127.0.0.1", "", false},
		{"2130706433", "", false},
		{"0x7f.1", "", false},
		{"a.0x1f", "", false},
		{"a.0xg", "a.0xg", true},
		{"1a.example", "1a.example", true},
		{"ex_ample.com", "", false},
		{"-a.example.com", "", false},
		{"", "", false},
		{".", "", false},
		{"ex ample.com", "", false},
		{"exämple.com", "", false},
	}
	for _, tt := range tests {
		out, ok := CanonicalHostName(tt.in)
		if out != tt.out || ok != tt.ok {
			t.Errorf("CanonicalHostName(%q) = %q, %v; want %q, %v", tt.in, out, ok, tt.out, tt.ok)
		}
	}
}

func TestAllowEntry(t *testing.T) {
	for _, tt := range []struct {
		host string
		port int
		want string
	}{
		{"webhook.example.com", 443, "webhook.example.com:443"},
		{"2001:db8::1", 8443, "[2001:db8::1]:8443"},
		{"192.0.2.1", 80, "192.0.2.1:80"},
	} {
		got := AllowEntry(tt.host, tt.port)
		if got != tt.want {
			t.Errorf("AllowEntry(%q, %d) = %q, want %q", tt.host, tt.port, got, tt.want)
		}
		// The hint must be a line the policy parser accepts and that allows exactly this target.
		m, err := NewHostMatcher(Network{Allow: []string{got}})
		if err != nil {
			t.Fatalf("AllowEntry gave an entry the parser refuses: %v", err)
		}
		var ok bool
		if a, err := netip.ParseAddr(tt.host); err == nil {
			ok, _ = m.MatchAddr(a, tt.port)
		} else {
			ok, _ = m.MatchName(tt.host, tt.port)
		}
		if !ok {
			t.Errorf("the entry %q does not allow %s port %d", got, tt.host, tt.port)
		}
	}
}
