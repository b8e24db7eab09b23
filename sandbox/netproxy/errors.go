package netproxy

import "errors"

// Sentinel errors. Every denial and failure the proxy records wraps one of these, and its
// [Reason] names it on the wire.
var (
	// ErrClosed is returned by Serve after Close, and by Serve on a proxy already closed.
	ErrClosed = errors.New("netproxy: proxy closed")
	// ErrNotAllowed marks a host and port no network.allow entry matches.
	ErrNotAllowed = errors.New("not in the allowlist")
	// ErrDenied marks a host and port a network.deny entry refuses.
	ErrDenied = errors.New("denied by the policy")
	// ErrIPLiteral marks a request for an IP address the allowlist does not name literally.
	ErrIPLiteral = errors.New("IP literal not in the allowlist")
	// ErrRefusedAddress marks a name that resolves only to refused addresses (loopback,
	// private, link-local, metadata, …), none of them allowed literally.
	ErrRefusedAddress = errors.New("resolves to a refused address")
	// ErrMalformed marks a request the proxy could not parse, or a host that is neither a host
	// name nor an IP address.
	ErrMalformed = errors.New("malformed request")
	// ErrUnsupported marks a well-formed request the proxy does not serve (SOCKS BIND or UDP,
	// SOCKS4, https:// URLs without CONNECT, authentication methods).
	ErrUnsupported = errors.New("unsupported request")
	// ErrTooLarge marks a request whose header or request line exceeds the limits.
	ErrTooLarge = errors.New("request header too large")
	// ErrTimeout marks a client too slow to send its request.
	ErrTimeout = errors.New("request header timeout")
	// ErrResolve marks an allowed name that does not resolve.
	ErrResolve = errors.New("name does not resolve")
	// ErrDial marks an allowed target whose checked addresses all failed to connect.
	ErrDial = errors.New("upstream connection failed")
	// ErrUpstream marks an upstream that failed after the connection: no answer in time, or a
	// malformed response.
	ErrUpstream = errors.New("upstream failed")
)

// Reason is the short, stable name of a decision, sent as the X-Skillrun-Denied header and
// kept in every [Record]. The empty Reason means the connection was allowed and carried.
type Reason string

// Reasons, one per sentinel error.
const (
	ReasonNotAllowed     Reason = "not-in-allowlist"
	ReasonDenied         Reason = "denied-by-policy"
	ReasonIPLiteral      Reason = "ip-literal-not-allowed"
	ReasonRefusedAddress Reason = "refused-address"
	ReasonMalformed      Reason = "malformed-request"
	ReasonUnsupported    Reason = "unsupported"
	ReasonTooLarge       Reason = "header-too-large"
	ReasonTimeout        Reason = "header-timeout"
	ReasonResolve        Reason = "resolve-failed"
	ReasonDial           Reason = "dial-failed"
	ReasonUpstream       Reason = "upstream-failed"
)

var reasons = []struct {
	err    error
	reason Reason
}{
	{ErrNotAllowed, ReasonNotAllowed},
	{ErrDenied, ReasonDenied},
	{ErrIPLiteral, ReasonIPLiteral},
	{ErrRefusedAddress, ReasonRefusedAddress},
	{ErrMalformed, ReasonMalformed},
	{ErrUnsupported, ReasonUnsupported},
	{ErrTooLarge, ReasonTooLarge},
	{ErrTimeout, ReasonTimeout},
	{ErrResolve, ReasonResolve},
	{ErrDial, ReasonDial},
	{ErrUpstream, ReasonUpstream},
}

// reasonOf names err; nil is the empty Reason.
func reasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return ReasonUpstream
}

// Err returns the sentinel error r names, nil for the empty Reason.
func (r Reason) Err() error {
	for _, e := range reasons {
		if e.reason == r {
			return e.err
		}
	}
	return nil
}

// Text is r in words, for lines such as "blocked: 3 connections to host:443 (not in the
// allowlist of skill pdf-tools)".
func (r Reason) Text() string {
	if err := r.Err(); err != nil {
		return err.Error()
	}
	return string(r)
}

// Refused reports whether r is a refusal by the proxy (the policy, or a request it will not
// serve), as opposed to a failure of a connection the policy allowed.
func (r Reason) Refused() bool {
	switch r {
	case ReasonResolve, ReasonDial, ReasonUpstream, "":
		return false
	}
	return true
}
