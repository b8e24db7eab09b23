package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyAuditKey(t *testing.T) {
	p, err := ParsePolicy("policy.yaml", []byte("version: 1\naudit:\n  syslog: true\n  max_size: 1MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Audit.Syslog || p.Audit.MaxSize != 1<<20 {
		t.Errorf("audit = %+v, want syslog and 1MiB", p.Audit)
	}
	p, err = ParsePolicy("policy.yaml", []byte("version: 1\n"))
	if err != nil || p.Audit != (AuditPolicy{}) {
		t.Errorf("no audit key: %+v, %v", p, err)
	}
	for _, bad := range []struct{ doc, at, says string }{
		{"version: 1\naudit:\n  syslog: maybe\n", "policy.yaml:3:", ""},
		{"version: 1\naudit:\n  sylog: true\n", "policy.yaml:3:", "sylog"},
		{"version: 1\naudit:\n  max_size: 1KiB\n", "policy.yaml:3:13", "at least 64KiB"},
		{"version: 1\naudit:\n  max_size: lots\n", "policy.yaml:3:13", ""},
		{"version: 1\naudit: [syslog]\n", "policy.yaml:2:", ""},
	} {
		_, err := ParsePolicy("policy.yaml", []byte(bad.doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.at) || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: %v, want ErrInvalid at %s saying %q", bad.doc, err, bad.at, bad.says)
		}
	}
}
