package learn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
)

var testVars = map[string]string{"WORKSPACE": "/w/proj", "HOME": "/home/u", "SKILL_DIR": "/home/u/.agents/skills/pdf-tools",
	"CACHE": "/home/u/.cache/skillrun/pdf-tools", "TMPDIR": "/tmp"}

var testView = []ViewPath{{Path: "/usr"}, {Path: "/etc"}, {Path: "/w/proj"}, {Path: "/home/u", Tmpfs: true}, {Path: "/tmp", Tmpfs: true},
	{Path: "/home/u/go/pkg/mod"}, {Path: "/home/u/.agents/skills/pdf-tools"}, {Path: "/home/u/.cache/skillrun/pdf-tools"}}

type access struct {
	path string
	a    Access
}

func testInput(accesses ...access) Input {
	l := NewLog(0)
	for _, x := range accesses {
		l.Add(x.path, x.a)
	}
	return Input{Skill: "pdf-tools", Log: l, Vars: testVars, View: testView,
		NeverRead:  []string{"/home/u/.ssh", "/w/proj/.env", "/w/proj/.env.*", "/etc/ssh/*_key"},
		NeverWrite: []string{"/home/u/.bashrc", "/w/proj/.git/hooks", "/home/u/.ssh", "/home/u/.agents/skills"},
		Exists:     func(p string) bool { return !strings.Contains(p, "missing") }}
}

func mustPropose(t *testing.T, in Input) *Proposal {
	t.Helper()
	p, err := Propose(in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func render(t *testing.T, p *Proposal) string {
	t.Helper()
	b, err := p.Manifest.Render()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPropose(t *testing.T) {
	cases := []struct {
		name     string
		in       Input
		manifest string   // the whole learned manifest
		evidence []string // lines of the diff
		notes    []string // substrings of some note
	}{
		{
			name: "workspace folders collapse to the narrowest, the system and the skill need nothing",
			in: testInput(access{"/usr/bin/python3", Exec | Read}, access{"/usr/lib/python3/os.py", Read},
				access{"/home/u/.agents/skills/pdf-tools/extract.py", Read}, access{"/w/proj/docs/a.pdf", Read},
				access{"/w/proj/docs/sub/b.pdf", Read}, access{"/w/proj/out", Dir | Create}, access{"/w/proj/out/a.txt", Write | Create},
				access{"/tmp/scratch", Write | Create}, access{"/proc/self/status", Read}, access{"/dev/null", Write}),
			manifest: "version: 1\nname: pdf-tools\nfilesystem:\n  read:\n    - ${WORKSPACE}/docs\n  write:\n    - ${WORKSPACE}/out\n",
			evidence: []string{"+    - ${WORKSPACE}/docs   # reads ${WORKSPACE}/docs: 2 files, e.g. docs/a.pdf",
				"+    - ${WORKSPACE}/out   # writes ${WORKSPACE}/out: 1 file, e.g. out/a.txt"},
		},
		{
			name: "the starting folder must be shown",
			in: func() Input {
				in := testInput(access{"/w/proj/docs/a.pdf", Read})
				in.Cwd = "/w/proj"
				return in
			}(),
			manifest: "version: 1\nname: pdf-tools\nfilesystem:\n  read:\n    - ${WORKSPACE}\n",
			evidence: []string{"+    - ${WORKSPACE}   # starts in ${WORKSPACE}, which must be shown to run there; reads ${WORKSPACE}/docs: 1 file, e.g. docs/a.pdf"},
		},
		{
			name: "the floor is never proposed, and said so",
			in: testInput(access{"/home/u/.ssh/id_ed25519", Read}, access{"/w/proj/.env", Read}, access{"/w/proj/.env.local", Read},
				access{"/w/proj/.git/hooks/pre-commit", Write | Create}, access{"/home/u/.agents/skills/pdf-tools/x", Write}),
			manifest: "version: 1\nname: pdf-tools\n",
			notes: []string{"the floor keeps ${HOME}/.ssh from every command; it tried ${HOME}/.ssh/id_ed25519",
				"it tried ${WORKSPACE}/.env.local", "the floor keeps ${WORKSPACE}/.git/hooks unwritable",
				"it tried to change its own folder"},
		},
		{
			name: "a toolchain's path becomes extends, a missing file nothing",
			in: testInput(access{"/home/u/go/pkg/mod/example.com/m@v1/m.go", Read}, access{"/usr/local/bin/go", Exec},
				access{"/w/proj/missing.cfg", Read}, access{"/home/u/.gitconfig", Read}),
			manifest: "version: 1\nname: pdf-tools\nextends: [git, go]\n",
			evidence: []string{"+extends: [git, go]   # git: reads ${HOME}/.gitconfig; go: reads ${HOME}/go/pkg/mod/example.com/m@v1/m.go"},
		},
		{
			name: "outside the view: a home file is proposed with a warning, writes elsewhere are not",
			in: testInput(access{"/home/u/data/models/a.bin", Read}, access{"/home/u/.cache/tool/x", Write | Create},
				access{"/srv/shared/x", Write}, access{"/home/u/notes.txt", Read}),
			manifest: "version: 1\nname: pdf-tools\nfilesystem:\n  read:\n    - ${HOME}/data/models\n    - ${HOME}/notes.txt\n",
			evidence: []string{"+    - ${HOME}/data/models   # reads ${HOME}/data/models: 1 file, e.g. data/models/a.bin; outside the learning view"},
			notes: []string{"1 write in the run's private, empty home, e.g. ${HOME}/.cache/tool/x",
				"it wrote /srv/shared/x, outside the workspace (not proposed"},
		},
		{
			name:     "names a manifest cannot hold are cut to their folder or left out",
			in:       testInput(access{"/w/proj/in\x01put/a", Read}, access{"/w/proj/docs/\xff.pdf", Read}, access{"/w/proj/we*rd/x", Read}),
			manifest: "version: 1\nname: pdf-tools\nfilesystem:\n  read:\n    - ${WORKSPACE}/docs\n",
			evidence: []string{`+    - ${WORKSPACE}/docs   # reads ${WORKSPACE}/docs: 1 file, e.g. "docs/\xff.pdf"`},
			notes:    []string{`it reached "${WORKSPACE}/in\x01put/a", whose name cannot be written`, `"${WORKSPACE}/we*rd/x"`},
		},
		{
			name: "hosts are proposed as host:port, refusals said",
			in: func() Input {
				in := testInput()
				in.Hosts = []HostUse{{Target: "api.example.com:443", Count: 3}, {Target: "127.0.0.1:8080", Count: 1, Allowed: true},
					{Target: "bad host:1", Count: 1}}
				return in
			}(),
			manifest: "version: 1\nname: pdf-tools\nnetwork:\n  allow:\n    - 127.0.0.1:8080\n    - api.example.com:443\n",
			evidence: []string{"+    - api.example.com:443   # asked the proxy for api.example.com:443 3 times"},
			notes:    []string{"3 connections to api.example.com:443 refused", `it asked for "bad host:1", which is not a host`},
		},
		{
			name: "a crowded workspace is proposed whole",
			in: func() Input {
				var xs []access
				for i := 0; i < maxFolders+1; i++ {
					xs = append(xs, access{fmt.Sprintf("/w/proj/d%02d/f", i), Read})
				}
				return testInput(xs...)
			}(),
			manifest: "version: 1\nname: pdf-tools\nfilesystem:\n  read:\n    - ${WORKSPACE}\n",
			evidence: []string{"+    - ${WORKSPACE}   # reads 17 folders of ${WORKSPACE}, 17 files, e.g. d00/f"},
		},
		{
			name: "the skill's cache is granted whole",
			in: testInput(access{"/home/u/.cache/skillrun/pdf-tools/fonts/index.db", Write | Create},
				access{"/home/u/.cache/skillrun/pdf-tools/models/m.bin", Read}),
			manifest: "version: 1\nname: pdf-tools\nfilesystem:\n  write:\n    - ${CACHE}\n",
			evidence: []string{"+    - ${CACHE}   # writes ${CACHE}: 1 file, e.g. fonts/index.db"},
		},
		{
			name: "a failed run is said",
			in: func() Input {
				in := testInput()
				in.ExitCode = 3
				return in
			}(),
			manifest: "version: 1\nname: pdf-tools\n",
			notes:    []string{"the command exited with status 3"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustPropose(t, c.in)
			if got := render(t, p); got != c.manifest {
				t.Errorf("manifest:\n%s\nwant:\n%s", got, c.manifest)
			}
			diff, err := p.Diff(nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range c.evidence {
				if !strings.Contains(diff, want) {
					t.Errorf("the diff lacks %q:\n%s", want, diff)
				}
			}
			notes := strings.Join(p.Notes, "\n")
			for _, want := range c.notes {
				if !strings.Contains(notes, want) {
					t.Errorf("the notes lack %q:\n%s", want, notes)
				}
			}
		})
	}
}

// TestProposeMerges: learning adds to the manifest it finds and never removes from it; what the
// manifest already covers is not proposed again.
func TestProposeMerges(t *testing.T) {
	current := []byte("version: 1\nname: pdf-tools\ndescription: pdfs\nextends: [python]\nfilesystem:\n  read: [\"${WORKSPACE}/docs\", \"/opt/fonts\"]\n" +
		"network:\n  allow: [\"api.example.com\"]\nenv:\n  pass: [LANG]\nlimits: {timeout: 2m, memory: 1GiB}\n")
	m, err := policy.ParseManifest("skillrun.yaml", current)
	if err != nil {
		t.Fatal(err)
	}
	in := testInput(access{"/w/proj/docs/new/a.pdf", Read}, access{"/w/proj/out/a.txt", Write | Create},
		access{"/home/u/.cache/pip/x", Read})
	in.Current = m
	in.Hosts = []HostUse{{Target: "api.example.com:443", Count: 1}, {Target: "cdn.example.com:443", Count: 1}}
	p := mustPropose(t, in)
	if len(p.Added) != 2 || p.Added[0].Value != "${WORKSPACE}/out" || p.Added[1].Value != "cdn.example.com:443" {
		t.Errorf("added %+v, want the out folder and the new host only", p.Added)
	}
	diff, err := p.Diff(current)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(diff, "\n")[2:] {
		if strings.HasPrefix(l, "-") {
			t.Errorf("learning removed a line: %q\n%s", l, diff)
		}
	}
	for _, want := range []string{"description: pdfs", "LANG", "timeout: 2m", "memory: 1GiB", "/opt/fonts", "+    - ${WORKSPACE}/out   # writes"} {
		if !strings.Contains(diff, want) {
			t.Errorf("the merged manifest lacks %q:\n%s", want, diff)
		}
	}
	// A second run that needs nothing new adds nothing.
	again, err := policy.ParseManifest("skillrun.yaml", []byte(render(t, p)))
	if err != nil {
		t.Fatal(err)
	}
	in.Current = again
	if p2 := mustPropose(t, in); len(p2.Added) != 0 {
		t.Errorf("a second identical run added %+v", p2.Added)
	}
}

// TestLogBounded: a command that opens 100,000 files costs the log its bound, not more, and the
// proposal says what it could not keep.
func TestLogBounded(t *testing.T) {
	const bound = 1 << 20
	l := NewLog(bound)
	for i := 0; i < 100000; i++ {
		l.Add(fmt.Sprintf("/w/proj/data/part-%03d/file-%06d.csv", i%500, i), Read)
	}
	l.Add("/w/proj/data/part-000/file-000000.csv", Read) // a repeat is counted, not kept twice
	size := 0
	for _, e := range l.Entries() {
		size += len(e.Path)
	}
	if size > bound || len(l.Entries()) > maxEntries {
		t.Errorf("the log keeps %d bytes in %d entries, bound %d", size, len(l.Entries()), bound)
	}
	if !l.Truncated() || l.Total != 100001 || l.Dropped == 0 {
		t.Errorf("total %d folded %d dropped %d: the overflow must be counted", l.Total, l.Folded, l.Dropped)
	}
	in := testInput()
	in.Log = l
	p := mustPropose(t, in)
	if !strings.Contains(strings.Join(p.Notes, "\n"), "the command reached more paths than learn keeps (100001 accesses") {
		t.Errorf("no truncation note: %v", p.Notes)
	}
	if got := render(t, p); !strings.Contains(got, "${WORKSPACE}/data") {
		t.Errorf("the kept part of the log was not proposed:\n%s", got)
	}
	// Folding: once full, a path below a kept folder counts for that folder.
	f := NewLog(len("/w/proj/data"))
	f.Add("/w/proj/data", Dir|Read)
	f.Add("/w/proj/data/x", Read)
	if f.Folded != 1 || f.Entries()[0].Count != 2 {
		t.Errorf("folded %d, entries %+v", f.Folded, f.Entries())
	}
}

func FuzzPropose(f *testing.F) {
	f.Add("/w/proj/docs/a.pdf", uint8(Read), "api.example.com:443")
	f.Add("/w/proj/\x00/\xff\xfe", uint8(Write|Create), "[::1]:80")
	f.Add("/home/u/.ssh/../x", uint8(Exec), "*")
	f.Fuzz(func(t *testing.T, pth string, a uint8, host string) {
		in := testInput(access{pth, Access(a)}, access{"/w/proj/" + pth, Access(a)}, access{"/home/u/" + pth, Access(a)})
		in.Hosts = []HostUse{{Target: host, Count: 1}}
		p, err := Propose(in) // Propose itself checks that the manifest parses back
		if err != nil {
			t.Fatalf("%q %v %q: %v", pth, a, host, err)
		}
		if _, err := p.Diff(nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestProposeBounds: thousands of hosts and a long manifest give a bounded proposal and diff.
func TestProposeBounds(t *testing.T) {
	in := testInput()
	for i := 0; i < 5000; i++ {
		in.Hosts = append(in.Hosts, HostUse{Target: fmt.Sprintf("h%04d.example.com:443", i), Count: 1})
	}
	var long strings.Builder
	long.WriteString("version: 1\nname: pdf-tools\nfilesystem:\n  read:\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&long, "    - /opt/data/d%04d\n", i)
	}
	m, err := policy.ParseManifest("skillrun.yaml", []byte(long.String()))
	if err != nil {
		t.Fatal(err)
	}
	in.Current = m
	p := mustPropose(t, in)
	if n := len(p.Manifest.Network.Allow); n != maxHosts {
		t.Errorf("%d hosts proposed, want %d", n, maxHosts)
	}
	diff, err := p.Diff([]byte(long.String()))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(diff, "\n+") - 1; n != maxHosts+2 || strings.Contains(diff, "\n-") { // less the +++ header
		t.Errorf("%d added lines (want the hosts, network: and allow:), removals %v", n, strings.Contains(diff, "\n-"))
	}
}
