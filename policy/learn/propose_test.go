package learn

import (
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

var testVars = map[string]string{"WORKSPACE": "/w/proj", "HOME": "/home/u", "SKILL_DIR": "/home/u/.claude/skills/pdf-tools",
	"CACHE": "/home/u/.cache/skillrun/pdf-tools", "TMPDIR": "/tmp"}

var testView = []ViewPath{{Path: "/usr"}, {Path: "/etc"}, {Path: "/w/proj"}, {Path: "/home/u", Tmpfs: true}, {Path: "/tmp", Tmpfs: true},
	{Path: "/home/u/go/pkg/mod"}, {Path: "/home/u/.claude/skills/pdf-tools"}, {Path: "/home/u/.cache/skillrun/pdf-tools"}}

func testInput(adds func(l *Log)) Input {
	l := NewLog(0)
	adds(l)
	return Input{Skill: "pdf-tools", Log: l, Vars: testVars, View: testView,
		NeverRead:  []string{"/home/u/.ssh", "/w/proj/.env", "/w/proj/.env.*", "/etc/ssh/*_key"},
		NeverWrite: []string{"/home/u/.bashrc", "/w/proj/.git/hooks", "/home/u/.ssh"},
		Exists:     func(p string) bool { return !strings.Contains(p, "missing") }}
}

func TestProposeSmoke(t *testing.T) {
	in := testInput(func(l *Log) {
		l.Add("/usr/bin/python3", Exec|Read)
		l.Add("/usr/lib/python3/os.py", Read)
		l.Add("/home/u/.claude/skills/pdf-tools/scripts/x.py", Read)
		l.Add("/w/proj/docs/a.pdf", Read)
		l.Add("/w/proj/docs/sub/b.pdf", Read)
		l.Add("/w/proj/out", Dir|Create)
		l.Add("/w/proj/out/a.txt", Write|Create)
		l.Add("/w/proj/missing.cfg", Read)
		l.Add("/home/u/.ssh/id_ed25519", Read)
		l.Add("/home/u/go/pkg/mod/example.com/lib@v1.0.0/lib.go", Read)
		l.Add("/home/u/.cache/x", Write|Create)
		l.Add("/w/proj/bad\x01name/f", Read)
	})
	in.Hosts = []HostUse{{Target: "api.example.com:443", Count: 2}}
	p, err := Propose(in)
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Diff(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s\nnotes:\n%s\ntoolchains: %v", d, strings.Join(p.Notes, "\n"), p.Toolchains)
	_ = policy.ManifestFile
}
