package policy

import (
	"reflect"
	"testing"
)

func TestCapabilityDiff(t *testing.T) {
	d := Duration(60e9)
	old := &Capabilities{Filesystem: FilesystemCaps{Read: []string{"${WORKSPACE}"}}, Env: EnvCaps{Set: map[string]string{"A": "1"}}}
	widened := &Capabilities{
		Filesystem: FilesystemCaps{Read: []string{"${WORKSPACE}"}, Write: []string{"${WORKSPACE}/out"}},
		Network:    NetworkCaps{Allow: []string{"api.example.com:443"}},
		Env:        EnvCaps{Secrets: []string{"EXAMPLE_API_KEY"}, Set: map[string]string{"A": "2"}},
		Limits:     LimitCaps{Timeout: &d},
	}
	got := CapabilityDiff(nil, old, []string{"python"}, widened)
	want := []string{
		"+ uses the profile python",
		"+ writes ${WORKSPACE}/out",
		"+ connects to api.example.com:443",
		"+ wants the secret EXAMPLE_API_KEY",
		"+ sets A=2",
		"- sets A=1",
		"~ limits none -> time 1m0s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CapabilityDiff:\n got %q\nwant %q", got, want)
	}
	if d := CapabilityDiff(nil, old, nil, old); len(d) != 0 {
		t.Errorf("no change gave %q", d)
	}
	if d := CapabilityDiff(nil, nil, nil, nil); len(d) != 0 {
		t.Errorf("nil manifests gave %q", d)
	}
}
