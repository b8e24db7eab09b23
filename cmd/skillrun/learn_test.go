package main

import (
	"net/netip"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

// TestLearnEgressNetwork: while learning, the proxy refuses every host unless --allow-hosts,
// which lets host names through on 80 and 443 only; IP literals stay refused and the
// developer's denies still win.
func TestLearnEgressNetwork(t *testing.T) {
	plan := &policy.Plan{Network: policy.Network{Allow: []string{}, Deny: []string{"blocked.example.com"}, Proxy: policy.ProxyAddr}}
	for _, c := range []struct {
		allowAll bool
		name     string
		port     int
		addr     string
		want     bool
	}{
		{false, "api.example.com", 443, "", false},
		{true, "api.example.com", 443, "", true},
		{true, "api.example.com", 80, "", true},
		{true, "api.example.com", 22, "", false},
		{true, "blocked.example.com", 443, "", false},
		{true, "", 443, "127.0.0.1", false},
		{true, "", 443, "192.0.2.1", false},
	} {
		m, err := policy.NewHostMatcher((&learnEgress{plan: plan, allowAll: c.allowAll}).network())
		if err != nil {
			t.Fatal(err)
		}
		var got bool
		if c.addr != "" {
			got, _ = m.MatchAddr(netip.MustParseAddr(c.addr), c.port)
		} else {
			got, _ = m.MatchName(c.name, c.port)
		}
		if got != c.want {
			t.Errorf("--allow-hosts %v: %s%s:%d allowed %v, want %v", c.allowAll, c.name, c.addr, c.port, got, c.want)
		}
	}
}
