package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyDegradedKey(t *testing.T) {
	for _, c := range []struct {
		doc   string
		allow bool
	}{
		{"version: 1\n", false},
		{"version: 1\ndegraded: refuse\n", false},
		{"version: 1\ndegraded: allow\n", true},
	} {
		p, err := ParsePolicy("policy.yaml", []byte(c.doc))
		if err != nil {
			t.Fatalf("%q: %v", c.doc, err)
		}
		if p.AllowsDegraded() != c.allow {
			t.Errorf("%q: AllowsDegraded() = %v, want %v", c.doc, !c.allow, c.allow)
		}
	}
	var none *DevPolicy
	if none.AllowsDegraded() {
		t.Errorf("no policy must not allow degraded mode")
	}
	for _, bad := range []struct{ doc, at, says string }{
		{"version: 1\ndegraded: yes\n", "policy.yaml:2:11", `degraded must be refuse or allow, got "yes"`},
		{"version: 1\ndegraded: Allow\n", "policy.yaml:2:11", `got "Allow"`},
		{"version: 1\nskill_roots: []\ndegraded: \"\"\ndegraded: allow\n", "policy.yaml:4:", ""},
		{"version: 1\ndegraded: [allow]\n", "policy.yaml:2:", ""},
		{"version: 1\nagent:\n  degraded: allow\n", "policy.yaml:3:", "degraded"},
	} {
		_, err := ParsePolicy("policy.yaml", []byte(bad.doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.at) || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: %v, want ErrInvalid at %s saying %q", bad.doc, err, bad.at, bad.says)
		}
	}
}
