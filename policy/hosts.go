package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A host pattern names where a command may connect through the egress proxy: "api.example.com",
// "*.example.com" (subdomains only, not the apex), an IP literal ("192.0.2.1", "[2001:db8::1]"),
// each optionally with ":port"; a pattern without a port means ports 443 and 80. "*" alone matches
// every host and is meant for deny lists.

type hostPattern struct {
	host     string // lower case; "*.suffix" for subdomains; an IP in canonical form
	wildcard bool   // host is "*.suffix"
	any      bool   // "*"
	port     int    // 0: 443 and 80
}

func parseHostPattern(s string) (hostPattern, error) {
	if s == "*" {
		return hostPattern{any: true}, nil
	}
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, "/@?#\\ \t") {
		return hostPattern{}, fmt.Errorf("%q is not a host name, *.domain or IP literal with an optional :port", s)
	}
	host, port := s, 0
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return hostPattern{}, fmt.Errorf("%q: unterminated [", s)
		}
		host, s = s[1:end], s[end+1:]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return hostPattern{}, fmt.Errorf("%q is not an IPv6 literal", host)
		}
		host = a.String()
		if s != "" {
			if !strings.HasPrefix(s, ":") {
				return hostPattern{}, fmt.Errorf("unexpected %q after the IPv6 literal", s)
			}
			p, err := parsePort(s[1:])
			if err != nil {
				return hostPattern{}, err
			}
			port = p
		}
		return hostPattern{host: host, port: port}, nil
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		p, err := parsePort(s[i+1:])
		if err != nil {
			return hostPattern{}, err
		}
		host, port = s[:i], p
	}
	if strings.Contains(host, ":") {
		return hostPattern{}, fmt.Errorf("%q: write IPv6 literals in brackets, e.g. [2001:db8::1]:443", s)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return hostPattern{host: a.String(), port: port}, nil
	}
	wildcard := strings.HasPrefix(host, "*.")
	name := strings.TrimPrefix(host, "*.")
	if !validHostName(name) {
		return hostPattern{}, fmt.Errorf("%q is not a valid host name", host)
	}
	if last := strings.ToLower(name[strings.LastIndexByte(name, '.')+1:]); isNumericLabel(last) {
		// "10.1", "0x7f000001", "*.0.1": IPv4 spellings, which no name request ever matches
		// (the proxy parses them as addresses) and a reader would take for an address rule.
		return hostPattern{}, fmt.Errorf("%q reads as an IPv4 address: write addresses as dotted quads (192.0.2.1)", host)
	}
	if wildcard && !strings.Contains(name, ".") {
		return hostPattern{}, fmt.Errorf("%q is too broad: a wildcard needs a domain with at least two labels", host)
	}
	return hostPattern{host: strings.ToLower(host), wildcard: wildcard, port: port}, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 || strings.HasPrefix(s, "0") || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return p, nil
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 || strings.HasSuffix(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
				return false
			}
		}
	}
	return true
}

func checkHostPattern(s string) error {
	_, err := parseHostPattern(s)
	return err
}

// covers reports whether every host and port b matches is also matched by a. A pattern without
// a port means ports 80 and 443.
func (a hostPattern) covers(b hostPattern) bool {
	if a.any {
		return true
	}
	if b.any {
		return false
	}
	switch {
	case a.port != 0 && a.port != b.port:
		return false // b without a port means 80 and 443; a with one port cannot cover both
	case a.port == 0 && b.port != 0 && b.port != 80 && b.port != 443:
		return false
	}
	return a.coversHost(b)
}

// coversHost compares the names alone.
func (a hostPattern) coversHost(b hostPattern) bool {
	switch {
	case a.any:
		return true
	case b.any:
		return false
	case !a.wildcard:
		return !b.wildcard && a.host == b.host
	case b.wildcard:
		// *.example.com covers *.api.example.com and itself
		return b.host == a.host || strings.HasSuffix(b.host, a.host[1:])
	default:
		return strings.HasSuffix(b.host, a.host[1:])
	}
}

// denies reports whether deny pattern d refuses everything allow pattern b allows. In a deny
// list a name without a port means every port: denying a host denies it whole.
func (d hostPattern) denies(b hostPattern) bool {
	if d.port != 0 && d.port != b.port {
		return false
	}
	return d.coversHost(b)
}

// deniesSome reports whether deny pattern d refuses part of what b allows.
func (d hostPattern) deniesSome(b hostPattern) bool {
	if d.port != 0 && b.port != 0 && d.port != b.port {
		return false
	}
	if d.port != 0 && b.port == 0 && d.port != 80 && d.port != 443 {
		return false
	}
	return d.coversHost(b) || b.coversHost(d)
}

// intersectHosts returns the pattern both allow, when there is one.
func intersectHosts(a, b hostPattern) (hostPattern, bool) {
	switch {
	case a.covers(b):
		return b, true
	case b.covers(a):
		return a, true
	}
	// "api.example.com" and "api.example.com:443": the port narrows the name
	if !a.wildcard && !b.wildcard && !a.any && !b.any && a.host == b.host {
		if a.port == 0 && (b.port == 80 || b.port == 443) {
			return b, true
		}
		if b.port == 0 && (a.port == 80 || a.port == 443) {
			return a, true
		}
	}
	return hostPattern{}, false
}

func (h hostPattern) String() string {
	if h.any {
		return "*"
	}
	host := h.host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if h.port != 0 {
		return host + ":" + strconv.Itoa(h.port)
	}
	return host
}
