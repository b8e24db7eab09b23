// Package netproxy is skillrun's egress proxy: the only way out of a sandbox whose plan allows
// network hosts.
//
// The sandbox keeps its own network namespace with nothing but loopback. One proxy serves a
// run from inside the host-side skillrun process (no daemon, no extra binary), on a listener
// the caller creates inside the sandbox's namespace and hands over, so the command reaches it
// at 127.0.0.1:PORT through HTTP_PROXY, HTTPS_PROXY and ALL_PROXY and has no other route.
//
// One port speaks three protocols, told apart by the first byte a client sends: plain HTTP
// forward proxying (absolute-form requests, each request on a kept-alive connection checked
// on its own target, never on its Host header), CONNECT tunnels (HTTPS and anything else over
// TCP), and SOCKS5 with the proxy resolving names (socks5h; CONNECT only, no authentication).
//
// # Decisions
//
// A target is first normalised: names are lower-cased, and every spelling of an IPv4 address
// ("2130706433", "0x7f.1", "0177.0.0.1") becomes that address. Then, with the rules of
// package policy (see policy.HostMatcher): a deny entry wins; a name must match an allow
// entry (exact, "*.suffix" for subdomains, port-less meaning 80 and 443); an IP literal must
// be listed literally. A name is then resolved by the proxy itself, through Options.Resolver,
// and every address is checked: loopback, private, link-local, CGNAT, multicast, reserved,
// unspecified, broadcast, cloud metadata endpoints, and the IPv4-mapped, IPv4-translated,
// NAT64 and 6to4 forms of these are refused unless the allowlist names that exact address.
// The proxy connects only to an address it checked, by address, through Options.Dialer: a DNS
// answer that changes between check and connect (rebinding) cannot redirect it.
//
// A refused HTTP or CONNECT request gets 403 with an X-Skillrun-Denied header naming the
// [Reason] and a body with the policy line that would allow it; a refused SOCKS5 request
// gets reply 0x02, "connection not allowed by ruleset".
//
// # Tests and loopback
//
// Loopback is refused like every other special address; there is no switch that turns the
// checks off. Tests (and a developer who really wants the host's loopback) list the exact
// literal with its port, e.g. "127.0.0.1:8080" or "[::1]:8080", next to the name; a test
// resolver maps the name to that listener.
//
// # Limits and shutdown
//
// Header sizes, request lines, header and idle timeouts, dial timeouts and the number of
// connections served at once are bounded (see [Options]); excess clients wait in the
// listener's backlog. [Proxy.Close] stops accepting, closes every client and upstream
// connection and returns once every goroutine the proxy started has ended.
//
// # Reporting
//
// Every decision becomes a [Record] (time, protocol, host, port, address, allowed, reason,
// bytes each way); [Proxy.Records] returns them and [Proxy.Summary] groups the denials per
// host:port with the network.allow entry that would allow each, for skillrun's "blocked:"
// lines and hints. The package returns data; the CLI words it.
//
// Usage:
//
//	p, err := netproxy.New(plan.Network, netproxy.Options{})
//	if err != nil { … }
//	go p.Serve(listener) // a listener inside the sandbox's network namespace
//	… run the command with HTTP_PROXY=http://127.0.0.1:PORT …
//	p.Close()
//	for _, b := range p.Summary().Blocked { … b.Count, b.Target(), b.Reason.Text(), b.Hint … }
package netproxy
