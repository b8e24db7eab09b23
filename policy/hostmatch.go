package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// HostMatcher answers the egress proxy's one question about a plan's network: may a command
// connect to this host and port? It is built from [Network] and applies the same host pattern
// rules as the plan itself (see hosts.go): an allow entry without a port means 80 and 443, a
// deny entry without a port means every port, "*.example.com" matches subdomains and not the
// apex, and a deny match wins over any allow match.
//
// Names and addresses are asked about separately, because the proxy checks both: the name a
// client asked for, then every address that name resolves to. Wildcards and "*" match names
// only; an address is allowed only by an allow entry that lists that exact IP literal.
type HostMatcher struct {
	allow, deny []hostPattern
}

// NewHostMatcher parses the plan's network lists. An entry that is not a host pattern is an
// error wrapping [ErrInvalid]; a compiled plan never holds one.
func NewHostMatcher(n Network) (*HostMatcher, error) {
	m := &HostMatcher{}
	for _, s := range n.Allow {
		p, err := parseHostPattern(s)
		if err != nil {
			return nil, fmt.Errorf("%w: network.allow: %v", ErrInvalid, err)
		}
		m.allow = append(m.allow, p)
	}
	for _, s := range n.Deny {
		p, err := parseHostPattern(s)
		if err != nil {
			return nil, fmt.Errorf("%w: network.deny: %v", ErrInvalid, err)
		}
		m.deny = append(m.deny, p)
	}
	return m, nil
}

// MatchName decides a connection to a host name (not an IP literal) and port. name must be
// lower case without a trailing dot, as [CanonicalHostName] returns it. by is the pattern that
// decided: the allow entry when allowed, the deny entry when a deny entry refused it, and
// empty when no allow entry matches.
func (m *HostMatcher) MatchName(name string, port int) (allowed bool, by string) {
	if _, err := netip.ParseAddr(name); err == nil || name == "" {
		return false, "" // addresses go through MatchAddr: wildcards never match them
	}
	for _, d := range m.deny {
		if d.deniesTarget(name, false, port) {
			return false, d.String()
		}
	}
	for _, a := range m.allow {
		if a.allowsTarget(name, false, port) {
			return true, a.String()
		}
	}
	return false, ""
}

// MatchAddr decides a connection to an IP address and port: an IP literal a client asked for,
// or an address a name resolved to. Only an allow entry naming that exact address allows it
// ("*" does not); a deny entry naming it, or a deny "*", refuses it. An IPv4-mapped IPv6
// address is a different literal from the IPv4 address it embeds.
func (m *HostMatcher) MatchAddr(a netip.Addr, port int) (allowed bool, by string) {
	if !a.IsValid() || a.Zone() != "" {
		return false, ""
	}
	host := a.String()
	for _, d := range m.deny {
		if d.deniesTarget(host, true, port) {
			return false, d.String()
		}
	}
	for _, p := range m.allow {
		if !p.any && p.allowsTarget(host, true, port) {
			return true, p.String()
		}
	}
	return false, ""
}

// allowsTarget applies allow semantics: a pattern without a port means 80 and 443.
func (h hostPattern) allowsTarget(host string, isAddr bool, port int) bool {
	if h.port == 0 && port != 80 && port != 443 || h.port != 0 && h.port != port {
		return false
	}
	return h.matchesHost(host, isAddr)
}

// deniesTarget applies deny semantics: a pattern without a port means every port.
func (h hostPattern) deniesTarget(host string, isAddr bool, port int) bool {
	if h.port != 0 && h.port != port {
		return false
	}
	return h.matchesHost(host, isAddr)
}

func (h hostPattern) matchesHost(host string, isAddr bool) bool {
	switch {
	case h.any:
		return true
	case isAddr:
		// Wildcards never match addresses: "*.0.1" must not allow 10.0.0.1.
		return !h.wildcard && h.host == host
	case h.wildcard:
		return strings.HasSuffix(host, h.host[1:])
	default:
		return h.host == host
	}
}

// CanonicalHostName returns name in the form the patterns use (lower case, one trailing dot
// removed) and whether it is a valid host name at all. Names that look numeric in their last
// label ("1.2.3", "0x7f") are not host names: they are IPv4 spellings, and the caller must
// parse them as addresses instead.
func CanonicalHostName(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	if !validHostName(name) {
		return "", false
	}
	name = strings.ToLower(name)
	last := name[strings.LastIndexByte(name, '.')+1:]
	if isNumericLabel(last) {
		return "", false
	}
	return name, true
}

// isNumericLabel reports whether a label reads as a number in the inet_aton sense: decimal,
// octal with a leading 0, or hexadecimal with 0x. Such a last label makes a name an address.
func isNumericLabel(l string) bool {
	if l == "" {
		return false
	}
	if strings.HasPrefix(l, "0x") {
		l = l[2:]
		for _, r := range l {
			if !strings.ContainsRune("0123456789abcdef", r) {
				return false
			}
		}
		return true
	}
	for _, r := range l {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// AllowEntry returns the network.allow entry that allows exactly host:port, for the hint
// skillrun prints after a denial: "api.example.com:443", "[2001:db8::1]:8443".
func AllowEntry(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}
