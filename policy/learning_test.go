package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLearningView: skillrun learn's plan is the learn profile whatever the skill's approval,
// with the live folder read-only, the egress proxy without hosts, the developer's denies and
// the floor; the policy's grants and unsafe lines do not apply, and no manifest may extend it.
func TestLearningView(t *testing.T) {
	learning := func(r *Request) { r.Learning = true; r.Cwd = "/home/u/proj" }
	mounts := map[string]string{"/home/u/proj": "rw+x", "/tmp": "tmpfs+x", skDir: "ro+x", "/home/u": "tmpfs", "/usr": "ro+x",
		"/home/u/go/pkg/mod": "ro", "/home/u/.cache/pip": "ro", "/home/u/.pyenv": "ro+x", "/home/u/.cache/skillrun/pdf-tools": "rw"}
	for _, c := range []struct {
		name string
		s    skSpec
		e    skExpect
	}{
		{"approved", skSpec{edit: learning}, skExpect{state: "learning", profile: LearnProfile, mounts: mounts, allow: []string{},
			protect: []string{"/home/u/proj/.git/hooks"}, env: map[string]string{"EXAMPLE_API_KEY": "-"}}},
		{"unapproved under a policy that refuses them", skSpec{lock: "-", policy: "version: 1\nunapproved: refuse\n", edit: learning},
			skExpect{state: "learning", profile: LearnProfile, mounts: mounts}},
		{"modified since its approval", skSpec{edit: func(r *Request) { learning(r); r.Skill.Digest = skOther }},
			skExpect{state: "learning", profile: LearnProfile}},
		{"grants and unsafe lines do not apply, denies do", skSpec{lock: "-", policy: `version: 1
deny: {filesystem: {read: ["${WORKSPACE}/private"]}}
unsafe: {filesystem: {read: ["${HOME}/.aws"]}}
skills:
  pdf-tools:
    grant: {filesystem: {read: ["/srv/data"]}, env: {secrets: [EXAMPLE_API_KEY]}, network: {allow: ["api.example.com"]}}
    unsafe: {filesystem: {read: ["${HOME}/.ssh"]}}
    deny: {filesystem: {write: ["${WORKSPACE}/keep"]}}
    limits: {timeout: 1m}
`, edit: learning}, skExpect{state: "learning", mounts: map[string]string{"/srv/data": "-", "/home/u/.ssh": "-", "/home/u/.aws": "-"},
			mask: []string{"/home/u/proj/private"}, protect: []string{"/home/u/proj/keep"}, allow: []string{},
			env: map[string]string{"EXAMPLE_API_KEY": "-"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile(skRequestFor(t, c.s))
			c.e.check(t, p, err)
			if err != nil {
				return
			}
			if p.Network.Proxy != ProxyAddr || len(p.Unsafe) != 0 {
				t.Errorf("proxy %q, unsafe %v: the learning view records hosts through the proxy and lifts no floor line",
					p.Network.Proxy, p.Unsafe)
			}
			for _, m := range p.Mounts {
				if m.Digest != "" {
					t.Errorf("%s is a verified copy: learning runs the live folder", m.Path)
				}
			}
			if strings.HasPrefix(c.name, "grants") && p.Limits.Timeout != Duration(time.Minute) {
				t.Errorf("timeout %v: the policy's limits for the skill apply", p.Limits.Timeout)
			}
		})
	}
	if _, err := ParseManifest(ManifestFile, []byte("version: 1\nname: pdf-tools\nextends: [learn]\n")); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "skillrun learn's own view") {
		t.Errorf("a manifest extending learn: %v", err)
	}
}
