package netproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/skillrun/skillrun/policy"
)

// target is where a client asked to go, normalised: either a host name (lower case, no
// trailing dot) or an IP address, never both. Every spelling of an address ends up as one
// netip.Addr here, so "2130706433", "0x7f.1", "0177.0.0.1" and "127.0.0.1" are the same target.
type target struct {
	name string     // a host name; empty for an IP literal
	addr netip.Addr // an IP literal; invalid for a name
	port int
}

// host is the target's host as records and patterns spell it (no brackets).
func (t target) host() string {
	if t.name != "" {
		return t.name
	}
	return t.addr.String()
}

func (t target) String() string { return policy.AllowEntry(t.host(), t.port) }

// parseHost normalises a host as a client wrote it, without brackets and without a port. An
// IPv6 literal must be plain (no zone: a zone names an interface of the proxy's host). A host
// whose last label is numeric is an IPv4 address in inet_aton spelling, or malformed; it is
// never looked up as a name, because resolvers and URL parsers disagree about such names.
func parseHost(h string) (target, error) {
	if h == "" || len(h) > 255 {
		return target{}, fmt.Errorf("%w: empty or overlong host", ErrMalformed)
	}
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return target{}, fmt.Errorf("%w: %q is not an IPv6 address", ErrMalformed, h)
		}
		return target{addr: a}, nil
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return target{addr: a}, nil
	}
	trimmed := strings.TrimSuffix(h, ".")
	if looksNumeric(trimmed) {
		a, ok := parseLooseIPv4(trimmed)
		if !ok {
			return target{}, fmt.Errorf("%w: %q is neither a host name nor an IPv4 address", ErrMalformed, h)
		}
		return target{addr: a}, nil
	}
	name, ok := policy.CanonicalHostName(h)
	if !ok {
		return target{}, fmt.Errorf("%w: %q is not a valid host name", ErrMalformed, h)
	}
	return target{name: name}, nil
}

// looksNumeric reports whether the last label of h is a number (decimal, 0octal or 0xhex), the
// rule URL parsers use to decide that a host is an IPv4 address.
func looksNumeric(h string) bool {
	last := strings.ToLower(h[strings.LastIndexByte(h, '.')+1:])
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") {
		for _, r := range last[2:] {
			if !strings.ContainsRune("0123456789abcdef", r) {
				return false
			}
		}
		return true
	}
	for _, r := range last {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseLooseIPv4 parses the inet_aton spellings of an IPv4 address: one to four parts, each
// decimal, octal (leading 0) or hexadecimal (0x), the last part filling the remaining bytes:
// "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.01".
func parseLooseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		lp := strings.ToLower(p)
		base := 10
		switch {
		case strings.HasPrefix(lp, "0x"):
			base, lp = 16, lp[2:]
			if lp == "" {
				lp = "0" // "0x" alone is 0 to inet_aton
			}
		case len(lp) > 1 && lp[0] == '0':
			base, lp = 8, lp[1:]
		}
		if lp == "" || strings.ContainsAny(lp, "+-_") {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(lp, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	var ip uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		ip |= v << (24 - 8*uint(i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*uint(5-len(vals))) {
		return netip.Addr{}, false
	}
	ip |= last
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

// parseHostPort splits "host:port" or "[v6]:port" as CONNECT and absolute URLs carry it. A
// missing port is defaultPort (0: required).
func parseHostPort(hp string, defaultPort int) (target, error) {
	host, portStr := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return target{}, fmt.Errorf("%w: unterminated [ in %q", ErrMalformed, hp)
		}
		host, portStr = hp[1:end], hp[end+1:]
		if !strings.Contains(host, ":") {
			return target{}, fmt.Errorf("%w: %q in brackets is not an IPv6 address", ErrMalformed, host)
		}
		if portStr != "" {
			if portStr[0] != ':' {
				return target{}, fmt.Errorf("%w: %q after ]", ErrMalformed, portStr)
			}
			portStr = portStr[1:]
			if portStr == "" {
				return target{}, fmt.Errorf("%w: empty port in %q", ErrMalformed, hp)
			}
		}
	} else if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		host, portStr = hp[:i], hp[i+1:]
		if strings.Contains(host, ":") {
			return target{}, fmt.Errorf("%w: IPv6 address without brackets in %q", ErrMalformed, hp)
		}
		if portStr == "" {
			return target{}, fmt.Errorf("%w: empty port in %q", ErrMalformed, hp)
		}
	}
	port := defaultPort
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 || portStr[0] == '+' || portStr[0] == '-' || len(portStr) > 5 {
			return target{}, fmt.Errorf("%w: %q is not a port", ErrMalformed, portStr)
		}
		port = p
	}
	if port == 0 {
		return target{}, fmt.Errorf("%w: %q has no port", ErrMalformed, hp)
	}
	t, err := parseHost(host)
	if err != nil {
		return target{}, err
	}
	t.port = port
	return t, nil
}

// Address classes the proxy refuses to connect to unless the allowlist names the exact
// literal. Metadata endpoints come first so a denial names the real danger.
var (
	metadataAddrs = map[netip.Addr]string{
		netip.MustParseAddr("169.254.169.254"): "cloud metadata (AWS, GCP, Azure, OCI, DigitalOcean …)",
		netip.MustParseAddr("169.254.170.2"):   "cloud metadata (AWS ECS task credentials)",
		netip.MustParseAddr("169.254.169.123"): "cloud metadata (AWS time sync)",
		netip.MustParseAddr("100.100.100.200"): "cloud metadata (Alibaba Cloud)",
		netip.MustParseAddr("168.63.129.16"):   "cloud metadata (Azure WireServer)",
		netip.MustParseAddr("192.0.0.192"):     "cloud metadata (Oracle Cloud, legacy)",
		netip.MustParseAddr("fd00:ec2::254"):   "cloud metadata (AWS IPv6)",
		netip.MustParseAddr("fd00:ec2::253"):   "cloud metadata (AWS IPv6 DNS)",
		netip.MustParseAddr("fd00:ec2::123"):   "cloud metadata (AWS IPv6 time sync)",
	}
	refusedPrefixes = []struct {
		p     netip.Prefix
		class string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (this network; 0.0.0.0 reaches the local host on Linux)"},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("10.0.0.0/8"), "private"},
		{netip.MustParsePrefix("172.16.0.0/12"), "private"},
		{netip.MustParsePrefix("192.168.0.0/16"), "private"},
		{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (shared address space)"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("192.0.0.0/24"), "reserved (IETF protocol assignments)"},
		{netip.MustParsePrefix("192.0.2.0/24"), "reserved (documentation)"},
		{netip.MustParsePrefix("198.51.100.0/24"), "reserved (documentation)"},
		{netip.MustParsePrefix("203.0.113.0/24"), "reserved (documentation)"},
		{netip.MustParsePrefix("198.18.0.0/15"), "reserved (benchmarking)"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240/4)"},
		{netip.MustParsePrefix("::/128"), "unspecified"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
		{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
		{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
		{netip.MustParsePrefix("100::/64"), "reserved (discard-only)"},
		{netip.MustParsePrefix("2001:db8::/32"), "reserved (documentation)"},
		{netip.MustParsePrefix("3fff::/20"), "reserved (documentation)"},
		{netip.MustParsePrefix("2001::/32"), "Teredo (tunnels to an embedded IPv4 address)"},
		{netip.MustParsePrefix("2001:10::/28"), "reserved (ORCHID)"},
		{netip.MustParsePrefix("2001:20::/28"), "reserved (ORCHIDv2)"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "private (local-use NAT64)"},
		{netip.MustParsePrefix("5f00::/16"), "reserved (SRv6 SIDs)"},
		// IPv4-compatible addresses (::a.b.c.d) are deprecated and may be routed to the
		// embedded IPv4 address by some stacks: refuse the whole block rather than decode it.
		{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	siit      = netip.MustParsePrefix("::ffff:0:0:0/96") // IPv4-translated (RFC 2765)
)

// refusedClass returns why the proxy must not connect to a, or "" when a is an ordinary
// public address. IPv6 forms that embed an IPv4 address (IPv4-mapped, IPv4-translated, NAT64,
// 6to4) are refused when the embedded address is.
func refusedClass(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	if a.Zone() != "" {
		return "scoped (has a zone)"
	}
	if c, ok := metadataAddrs[a]; ok {
		return c
	}
	if a.Is4In6() {
		if c := refusedClass(a.Unmap()); c != "" {
			return "IPv4-mapped " + c
		}
		return ""
	}
	if a.Is6() {
		b := a.As16()
		var v4 netip.Addr
		form := ""
		switch {
		case nat64.Contains(a):
			v4, form = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), "NAT64"
		case siit.Contains(a):
			v4, form = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), "IPv4-translated"
		case sixToFour.Contains(a):
			v4, form = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "6to4"
		}
		if form != "" {
			if c := refusedClass(v4); c != "" {
				return form + " form of " + v4.String() + ", " + c
			}
			return ""
		}
	}
	for _, r := range refusedPrefixes {
		if r.p.Contains(a) {
			return r.class
		}
	}
	return ""
}
