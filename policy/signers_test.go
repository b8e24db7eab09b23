package policy

import (
	"errors"
	"strings"
	"testing"
)

const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRMw096AdcdKtlkBnB7YvlIuNJV1astNplRHm91Ii/L t"

func TestPolicySigners(t *testing.T) {
	p, err := ParsePolicy("policy.yaml", []byte("version: 1\nrequire_signature: true\nsigners:\n  - identity: alice@example.com\n    key: \""+testSSHKey+"\"\n  - identity: bob@example.com\n    key: \""+testSSHKey+"\"\n    skills: [\"pdf-*\"]\nskills:\n  scratch:\n    require_signature: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(list []Signer) string {
		var out []string
		for _, s := range list {
			out = append(out, s.Identity)
		}
		return strings.Join(out, ",")
	}
	if got := ids(p.SignersFor("pdf-tools")); got != "alice@example.com,bob@example.com" {
		t.Errorf("SignersFor(pdf-tools) = %s", got)
	}
	if got := ids(p.SignersFor("lint")); got != "alice@example.com" {
		t.Errorf("SignersFor(lint) = %s", got)
	}
	if !p.RequiresSignature("lint") || p.RequiresSignature("scratch") {
		t.Errorf("RequiresSignature: global true, scratch false")
	}
	var none *DevPolicy
	if none.RequiresSignature("x") || len(none.SignersFor("x")) != 0 {
		t.Error("no policy requires nothing and pins nobody")
	}
	for _, bad := range []struct{ doc, at string }{
		{"version: 1\nsigners:\n  - identity: a@example.com\n    key: \"ssh-dss AAAAB3NzaC1kc3MAAACBAP\"\n", "policy.yaml:4:10"},
		{"version: 1\nsigners:\n  - key: \"" + testSSHKey + "\"\n", "policy.yaml:3:"},
		{"version: 1\nsigners:\n  - identity: a@example.com\n    key: \"" + testSSHKey + "\"\n    skills: [\"a/b\"]\n", "policy.yaml:5:14"},
		{"version: 1\nrequire_signature: maybe\n", "policy.yaml:2:"},
	} {
		if _, err := ParsePolicy("policy.yaml", []byte(bad.doc)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.at) {
			t.Errorf("%q: %v, want ErrInvalid at %s", bad.doc, err, bad.at)
		}
	}
}
