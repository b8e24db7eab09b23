package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Skill plans: (profiles ∪ manifest) ∩ (base ∪ lock ∪ grant ∪ unsafe) − deny − floor. Every
// document here is parsed from YAML, so origins and error positions are real ones. The fixture
// (user u, home /home/u, workspace /home/u/proj) is this file's own; helpers carry an "sk" prefix.

const (
	skName   = "pdf-tools"
	skRoot   = "/home/u/proj/.agents/skills"
	skDir    = skRoot + "/" + skName
	skDigest = "sha256:abababababababababababababababababababababababababababababababab"
	skOther  = "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
)

// skCaps is the design's example manifest body (section 3), used as both the manifest's request
// and, by default, the lock's approved capabilities.
const skCaps = `filesystem:
  read: ["${WORKSPACE}", "/usr/share/fonts"]
  write: ["${WORKSPACE}/out"]
  exec: ["${SKILL_DIR}/bin"]
network:
  allow: ["api.example.com:443", "*.githubusercontent.com"]
env:
  pass: [LANG, TZ]
  secrets: [EXAMPLE_API_KEY]
  set: {PYTHONDONTWRITEBYTECODE: "1"}
limits: {timeout: 2m, memory: 1GiB, processes: 256, cpu: 60s, file_size: 1GiB}
`

func skManifestDoc(extends, caps string) string {
	return "version: 1\nname: " + skName + "\nextends: [" + extends + "]\n" + caps
}

// skLockDoc writes a lock approving skDir with the given extends and approved capabilities.
func skLockDoc(extends, approved string) string {
	var b strings.Builder
	b.WriteString("version: 1\nskills:\n  - name: " + skName + "\n    path: " + skDir + "\n    digest: " + skDigest +
		"\n    files: 3\n    manifest: true\n    extends: [" + extends + "]\n    approved:\n")
	for _, l := range strings.Split(strings.TrimRight(approved, "\n"), "\n") {
		b.WriteString("      " + l + "\n")
	}
	b.WriteString("    approved_at: 2025-01-02T03:04:05Z\n")
	return b.String()
}

// skLockNoManifest approves skDir as a folder without a manifest.
const skLockNoManifest = "version: 1\nskills:\n  - name: pdf-tools\n    path: " + skDir + "\n    digest: " + skDigest +
	"\n    manifest: false\n    approved_at: 2025-01-02T03:04:05Z\n"

// skSpec describes one skill request; zero values mean the design example, approved as is.
type skSpec struct {
	manifest string // the manifest document; "" = skManifestDoc("python", skCaps); "-" = none
	lock     string // the lock document; "" = skLockDoc("python", skCaps); "-" = never approved
	policy   string // the developer policy; "" = none
	edit     func(*Request)
}

func skEnviron() []string {
	return []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TZ=UTC", "TERM=xterm", "LC_ALL=C",
		"EXAMPLE_API_KEY=example-secret-value", "OTHER_API_KEY=other-secret-value", "GITHUB_TOKEN=gh-secret-value",
		"LD_PRELOAD=/evil.so", "OPENAI_BASE_URL=https://attacker.example", "MY_A=a", "MY_B=b", "HOME=/evil"}
}

func skRequestFor(t *testing.T, s skSpec) Request {
	t.Helper()
	r := Request{
		Command:    Command{Argv: []string{"python3", skDir + "/bin/run.py"}},
		Cwd:        skDir, // always visible: the skill's own folder
		Workspace:  "/home/u/proj",
		Home:       "/home/u",
		User:       User{Name: "u", UID: 1000, GID: 1000},
		Environ:    skEnviron(),
		ConfigDir:  "/home/u/.config",
		StateDir:   "/home/u/.local/state",
		CacheDir:   "/home/u/.cache",
		SkillRoots: []string{"/home/u/.claude/skills", "/home/u/.agents/skills", skRoot},
		SkillDirs:  []string{skDir, "/home/u/.agents/skills/other"},
		Skill:      &SkillRequest{Name: skName, Dir: skDir, Source: skDir},
	}
	man := s.manifest
	if man == "" {
		man = skManifestDoc("python", skCaps)
	}
	if man != "-" {
		m, err := ParseManifest(ManifestFile, []byte(man))
		if err != nil {
			t.Fatalf("manifest: %v", err)
		}
		r.Skill.Manifest = m
	}
	lk := s.lock
	if lk == "" {
		lk = skLockDoc("python", skCaps)
	}
	if lk != "-" {
		l, err := ParseLock(LockFile, []byte(lk))
		if err != nil {
			t.Fatalf("lock: %v", err)
		}
		r.Skill.Lock = l.Find(skDir)
		if r.Skill.Lock == nil {
			t.Fatalf("the lock does not approve %s", skDir)
		}
	}
	if s.policy != "" {
		p, err := ParsePolicy("policy.yaml", []byte(s.policy))
		if err != nil {
			t.Fatalf("policy: %v", err)
		}
		r.Policy, r.PolicyFile = p, "/home/u/.config/skillrun/policy.yaml"
	}
	if s.edit != nil {
		s.edit(&r)
	}
	return r
}

func skMount(p *Plan, pth string) (Mount, bool) {
	for _, m := range p.Mounts {
		if m.Path == pth {
			return m, true
		}
	}
	return Mount{}, false
}

func skEnv(p *Plan) map[string]string {
	out := map[string]string{}
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func skHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// skExpect are the assertions a case may make; empty fields assert nothing.
type skExpect struct {
	err       error
	errHas    []string // substrings (e.g. file:line:col) of the error
	state     string
	profile   string
	mounts    map[string]string // path → "ro", "rw", "ro+x", "rw+x", "tmpfs"; "-" = no such mount
	protect   []string
	noProtect []string
	mask      []string
	unsafe    []string          // prefixes of Plan.Unsafe lines
	env       map[string]string // name → value; "-" = absent
	allow     []string          // exactly Plan.Network.Allow (nil → not checked; use []string{} for none)
	deny      []string          // exactly Plan.Network.Deny (when allow is checked)
	limits    *Limits
}

func skAccess(m Mount) string {
	s := string(m.Access)
	if m.Exec {
		s += "+x"
	}
	return s
}

func (e skExpect) check(t *testing.T, p *Plan, err error) {
	t.Helper()
	if e.err != nil {
		if !errors.Is(err, e.err) || p != nil {
			t.Fatalf("got %v (plan %v), want %v", err, p != nil, e.err)
		}
		for _, s := range e.errHas {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not contain %q", err, s)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if e.state != "" && (p.Skill == nil || p.Skill.State != e.state) {
		t.Errorf("skill %+v, want state %s", p.Skill, e.state)
	}
	if e.profile != "" && p.Profile != e.profile {
		t.Errorf("profile %s, want %s", p.Profile, e.profile)
	}
	for pth, want := range e.mounts {
		m, ok := skMount(p, pth)
		switch {
		case want == "-" && ok:
			t.Errorf("mount %s (%s from %s), want none", pth, skAccess(m), m.Origin)
		case want != "-" && !ok:
			t.Errorf("no mount %s, want %s; mounts: %+v", pth, want, p.Mounts)
		case want != "-" && skAccess(m) != want:
			t.Errorf("mount %s is %s (from %s), want %s", pth, skAccess(m), m.Origin, want)
		}
	}
	for _, x := range e.protect {
		covered := false
		for _, pr := range p.Protect {
			covered = covered || within(x, pr)
		}
		if !covered {
			t.Errorf("%s not protected: %v", x, p.Protect)
		}
	}
	for _, x := range e.noProtect {
		if skHas(p.Protect, x) {
			t.Errorf("%s protected: %v", x, p.Protect)
		}
	}
	for _, x := range e.mask {
		if !skHas(p.Mask, x) {
			t.Errorf("%s not masked: %v", x, p.Mask)
		}
	}
	for _, x := range e.unsafe {
		found := false
		for _, u := range p.Unsafe {
			found = found || strings.HasPrefix(u, x)
		}
		if !found {
			t.Errorf("no unsafe line %q in %v", x, p.Unsafe)
		}
	}
	env := skEnv(p)
	for k, want := range e.env {
		got, ok := env[k]
		switch {
		case want == "-" && ok:
			t.Errorf("%s=%s passed, want it withheld", k, got)
		case want != "-" && got != want:
			t.Errorf("%s=%q (present %v), want %q", k, got, ok, want)
		}
	}
	if e.allow != nil {
		if strings.Join(p.Network.Allow, " ") != strings.Join(e.allow, " ") {
			t.Errorf("network allow %v, want %v", p.Network.Allow, e.allow)
		}
		if strings.Join(p.Network.Deny, " ") != strings.Join(e.deny, " ") {
			t.Errorf("network deny %v, want %v", p.Network.Deny, e.deny)
		}
	}
	if e.limits != nil && p.Limits != *e.limits {
		t.Errorf("limits %+v, want %+v", p.Limits, *e.limits)
	}
	// Whatever the case: the skill folder is one read-only mount, nothing inside it writable.
	skFolderInvariant(t, p)
}

func skFolderInvariant(t *testing.T, p *Plan) {
	t.Helper()
	if p.Skill == nil {
		return
	}
	m, ok := skMount(p, p.Skill.Dir)
	if !ok || m.Access != ReadOnly {
		t.Errorf("skill folder %s: %+v (present %v), want a read-only mount", p.Skill.Dir, m, ok)
	}
	if p.Skill.Source != p.Skill.Dir && m.Source != p.Skill.Source {
		t.Errorf("skill folder mount source %q, want %q", m.Source, p.Skill.Source)
	}
	if p.Skill.Source == p.Skill.Dir && m.Source != "" {
		t.Errorf("skill folder mount source %q, want none", m.Source)
	}
	if m.Digest != p.Skill.Digest {
		t.Errorf("skill folder digest %q, want %q", m.Digest, p.Skill.Digest)
	}
	for _, x := range p.Mounts {
		if x.Path != p.Skill.Dir && within(x.Path, p.Skill.Dir) {
			t.Errorf("mount %s (%s) inside the skill folder", x.Path, x.Access)
		}
	}
	// The real folder, where it differs, is never writable either.
	if c := p.cover(p.Skill.Source); c != nil && c.Access == ReadWrite && !coveredByAny(p.Protect, p.Skill.Source) {
		t.Errorf("the skill's real folder %s is writable through %s and not protected", p.Skill.Source, c.Path)
	}
}

func coveredByAny(list []string, pth string) bool {
	for _, x := range list {
		if within(pth, x) {
			return true
		}
	}
	return false
}

func skRun(t *testing.T, s skSpec, e skExpect) {
	t.Helper()
	p, err := Compile(skRequestFor(t, s))
	e.check(t, p, err)
}

func TestSkillStates(t *testing.T) {
	untrusted := map[string]string{
		"/home/u/proj": "ro", "/tmp": "tmpfs", skDir: "ro+x", "/home/u/proj/out": "-", "/usr/share/fonts": "-",
		"/home/u": "tmpfs", "/usr": "ro+x",
	}
	cases := []struct {
		name string
		s    skSpec
		e    skExpect
	}{
		{"unapproved, no policy", skSpec{lock: "-"},
			skExpect{state: "unapproved", profile: "untrusted", mounts: untrusted, allow: []string{},
				env: map[string]string{"EXAMPLE_API_KEY": "-", "PYTHONDONTWRITEBYTECODE": "-", "LANG": "C.UTF-8"},
				limits: &Limits{Timeout: Duration(10 * time.Minute), Memory: 2 << 30, Processes: 512,
					CPU: Duration(10 * time.Minute), FileSize: 1 << 30, OpenFiles: 1024}}},
		{"unapproved, policy says untrusted", skSpec{lock: "-", policy: "version: 1\nunapproved: untrusted\n"},
			skExpect{state: "unapproved", profile: "untrusted", mounts: untrusted}},
		{"unapproved, policy refuses", skSpec{lock: "-", policy: "version: 1\nunapproved: refuse\n"},
			skExpect{err: ErrUnapproved, errHas: []string{skName}}},
		{"unapproved without manifest", skSpec{lock: "-", manifest: "-"},
			skExpect{state: "unapproved", profile: "untrusted", mounts: untrusted}},
		{"unapproved ignores the policy's grants", skSpec{lock: "-", policy: `version: 1
skills:
  pdf-tools:
    grant: {filesystem: {write: ["${WORKSPACE}"]}, env: {secrets: [EXAMPLE_API_KEY]}, network: {allow: ["*"]}}
`}, skExpect{state: "unapproved", mounts: untrusted, allow: []string{}, env: map[string]string{"EXAMPLE_API_KEY": "-"}}},
		{"unapproved keeps the policy's skill limits", skSpec{lock: "-", policy: `version: 1
skills:
  pdf-tools:
    limits: {timeout: 1m, memory: 64MiB}
`}, skExpect{state: "unapproved", limits: &Limits{Timeout: Duration(time.Minute), Memory: 64 << 20,
			Processes: 512, CPU: Duration(10 * time.Minute), FileSize: 1 << 30, OpenFiles: 1024}}},
		{"approved without a manifest", skSpec{manifest: "-", lock: skLockNoManifest},
			skExpect{state: "no-manifest", profile: "untrusted", mounts: untrusted, allow: []string{}}},
		{"approved, the manifest is gone", skSpec{manifest: "-"},
			skExpect{state: "no-manifest", profile: "untrusted", mounts: untrusted, allow: []string{}}},
		{"approved without a manifest, a manifest appeared", skSpec{lock: skLockNoManifest},
			skExpect{state: "no-manifest", profile: "untrusted", mounts: untrusted, env: map[string]string{"EXAMPLE_API_KEY": "-"}}},
		{"approved", skSpec{}, skExpect{state: "approved", profile: "manifest",
			mounts: map[string]string{"/home/u/proj": "ro", "/home/u/proj/out": "rw", skDir: "ro+x", "/usr/share/fonts": "ro"}}},
		{"digest matches", skSpec{edit: func(r *Request) { r.Skill.Digest = skDigest }}, skExpect{state: "approved"}},
		{"digest differs", skSpec{edit: func(r *Request) { r.Skill.Digest = skOther }},
			skExpect{err: ErrModified, errHas: []string{skName, skDigest, skOther}}},
		{"digest differs, no manifest", skSpec{manifest: "-", edit: func(r *Request) { r.Skill.Digest = skOther }},
			skExpect{err: ErrModified}},
		{"manifest names another skill", skSpec{manifest: "version: 1\nname: other-tools\n"},
			skExpect{err: ErrInvalid, errHas: []string{ManifestFile + ":2:7", "other-tools"}}},
		{"--profile with a skill", skSpec{edit: func(r *Request) { r.Profile = "agent" }}, skExpect{err: ErrRequest}},
		{"skill folder not absolute", skSpec{edit: func(r *Request) { r.Skill.Dir = "skills/pdf-tools" }}, skExpect{err: ErrRequest}},
		{"skill folder is /", skSpec{edit: func(r *Request) { r.Skill.Source = "/" }}, skExpect{err: ErrRequest}},
		{"skill name with a slash", skSpec{edit: func(r *Request) { r.Skill.Name = "a/b" }}, skExpect{err: ErrRequest}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { skRun(t, c.s, c.e) })
	}
}

// The skill folder's mount names its real folder and, when approved, the approved digest.
func TestSkillFolderMount(t *testing.T) {
	linked := func(r *Request) {
		r.Skill.Source = "/home/u/src/pdf-tools"
		r.SkillDirs = []string{"/home/u/src/pdf-tools"}
	}
	p := mustCompile(t, skRequestFor(t, skSpec{edit: linked}))
	m, _ := skMount(p, skDir)
	if m.Source != "/home/u/src/pdf-tools" || m.Digest != skDigest || m.Access != ReadOnly || !m.Exec {
		t.Errorf("approved, symlinked: %+v", m)
	}
	if p.Skill == nil || p.Skill.Digest != skDigest || p.Skill.Source != "/home/u/src/pdf-tools" || p.Skill.Dir != skDir {
		t.Errorf("plan skill %+v", p.Skill)
	}
	p = mustCompile(t, skRequestFor(t, skSpec{lock: "-", edit: linked}))
	if m, _ := skMount(p, skDir); m.Digest != "" || m.Source != "/home/u/src/pdf-tools" {
		t.Errorf("unapproved: %+v, want no digest", m)
	}
	if p.Skill.Digest != "" {
		t.Errorf("unapproved plan has a digest: %+v", p.Skill)
	}
	p = mustCompile(t, skRequestFor(t, skSpec{}))
	if m, _ := skMount(p, skDir); m.Source != "" {
		t.Errorf("not symlinked: source %q", m.Source)
	}
}

// write ${SKILL_DIR}, exec ${SKILL_DIR}/bin, a writable parent: the folder stays one read-only
// mount and nothing inside it is writable, whatever grants it.
func TestSkillFolderNeverWritable(t *testing.T) {
	caps := `filesystem:
  write: ["${SKILL_DIR}", "${SKILL_DIR}/out", "${WORKSPACE}"]
  exec: ["${SKILL_DIR}/bin"]
`
	pol := `version: 1
skills:
  pdf-tools:
    grant: {filesystem: {write: ["${WORKSPACE}"]}}
    unsafe: {filesystem: {write: ["${SKILL_DIR}", "${SKILL_DIR}/out"]}}
`
	for extends, ws := range map[string]string{"": "rw", "agent": "rw+x"} {
		skRun(t, skSpec{manifest: skManifestDoc(extends, caps), lock: skLockDoc(extends, caps), policy: pol},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": ws, skDir: "ro+x", skDir + "/out": "-", skDir + "/bin": "-"},
				protect: []string{skRoot}})
	}
	// A grant (not unsafe) of the folder, which lies in a skill root, is refused.
	skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("", caps),
		policy: "version: 1\nskills:\n  pdf-tools:\n    grant: {filesystem: {write: [\"${WORKSPACE}\", \"${SKILL_DIR}\"]}}\n"},
		skExpect{err: ErrFloor, errHas: []string{"policy.yaml:4:50", skDir}})
	// The real folder elsewhere: writable only if something protects it. SkillDirs names every
	// discovered skill's real folder, but --skill-dir folders are not discovered: the compiler
	// must protect the skill's own Source itself.
	caps = `filesystem:
  write: ["${HOME}/src", "${WORKSPACE}"]
`
	for _, dirs := range [][]string{{"/home/u/src/pdf-tools"}, nil} {
		t.Run("source outside, SkillDirs "+strings.Join(dirs, ","), func(t *testing.T) {
			skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("", caps), edit: func(r *Request) {
				r.Skill.Source = "/home/u/src/pdf-tools"
				r.SkillDirs = dirs
			}}, skExpect{state: "approved", mounts: map[string]string{"/home/u/src": "rw", "/home/u/proj": "rw"},
				protect: []string{"/home/u/src/pdf-tools"}})
		})
	}
}

// Path intersection: the deeper path with the access both sides give; prefixes are not parents.
func TestSkillPathIntersection(t *testing.T) {
	cases := []struct {
		name, request, approved, grant string
		want                           map[string]string
	}{
		{"same path, read", `read: ["${HOME}/docs"]`, `read: ["${HOME}/docs"]`, "", map[string]string{"/home/u/docs": "ro"}},
		{"requested deeper", `read: ["${HOME}/docs/a"]`, `read: ["${HOME}/docs"]`, "",
			map[string]string{"/home/u/docs/a": "ro", "/home/u/docs": "-"}},
		{"allowed deeper", `read: ["${HOME}/docs"]`, `read: ["${HOME}/docs/a", "${HOME}/docs/b"]`, "",
			map[string]string{"/home/u/docs": "-", "/home/u/docs/a": "ro", "/home/u/docs/b": "ro"}},
		{"grant deeper than request", `read: ["${HOME}"]`, `read: ["/srv/none"]`, `read: ["${HOME}/notes"]`,
			map[string]string{"/home/u": "tmpfs", "/home/u/notes": "ro", "/srv/none": "-"}},
		{"prefix trap, requested longer", `read: ["/srv/ab"]`, `read: ["/srv/a"]`, "", map[string]string{"/srv/ab": "-", "/srv/a": "-"}},
		{"prefix trap, allowed longer", `read: ["/srv/a"]`, `read: ["/srv/ab"]`, "", map[string]string{"/srv/ab": "-", "/srv/a": "-"}},
		{"prefix trap in a grant", `write: ["${WORKSPACE}-backup"]`, `read: ["/srv/x"]`, `write: ["${WORKSPACE}"]`,
			map[string]string{"/home/u/proj-backup": "-"}},
		{"trailing slashes", `write: ["${WORKSPACE}/out/"]`, `write: ["${WORKSPACE}/out"]`, "", map[string]string{"/home/u/proj/out": "rw"}},
		{"trailing slash on the approval", `write: ["${WORKSPACE}/out"]`, `write: ["${WORKSPACE}/out/"]`, "", map[string]string{"/home/u/proj/out": "rw"}},
		{"write asked, read approved", `write: ["${WORKSPACE}"]`, `read: ["${WORKSPACE}"]`, "", map[string]string{"/home/u/proj": "ro"}},
		{"read asked, write approved (write implies read)", `read: ["${WORKSPACE}"]`, `write: ["${WORKSPACE}"]`, "",
			map[string]string{"/home/u/proj": "ro"}},
		{"read asked, exec granted (exec implies read)", `read: ["/srv/tools"]`, `read: ["/nowhere"]`, `exec: ["/srv/tools"]`,
			map[string]string{"/srv/tools": "ro"}},
		{"exec asked, read approved", `exec: ["/srv/tools"]`, `read: ["/srv/tools"]`, "", map[string]string{"/srv/tools": "ro"}},
		{"exec asked, write approved", `exec: ["/srv/tools"]`, `write: ["/srv/tools"]`, "", map[string]string{"/srv/tools": "ro"}},
		{"exec asked and approved", `exec: ["/srv/tools"]`, `exec: ["/srv/tools"]`, "", map[string]string{"/srv/tools": "ro+x"}},
		{"write asked, granted by the policy", `write: ["${WORKSPACE}/out"]`, `read: ["${WORKSPACE}"]`, `write: ["${WORKSPACE}"]`,
			map[string]string{"/home/u/proj/out": "rw", "/home/u/proj": "-"}},
		{"nothing approved", `write: ["${HOME}/data"]`, `read: ["/srv"]`, "", map[string]string{"/home/u/data": "-"}},
		{"base approves the system", `read: ["/usr/share/fonts", "/etc/fonts"]`, `read: ["/srv"]`, "",
			map[string]string{"/usr/share/fonts": "ro", "/etc/fonts": "ro"}},
		{"base never approves writing the system", `write: ["/usr/local"]`, `read: ["/srv"]`, "",
			map[string]string{"/usr/local": "ro"}},
		{"cache and tmp variables", `write: ["${CACHE}", "${TMPDIR}/x"]`, `write: ["${CACHE}", "${TMPDIR}"]`, "",
			map[string]string{"/home/u/.cache/skillrun/pdf-tools": "rw", "/tmp": "tmpfs", "/tmp/x": "-"}}, // the private /tmp covers no host path
		{"private tmp", `write: ["${TMPDIR}"]`, `read: ["/srv"]`, "", map[string]string{"/tmp": "tmpfs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			caps := "filesystem:\n  " + c.request + "\n"
			var pol string
			if c.grant != "" {
				pol = "version: 1\nskills:\n  pdf-tools:\n    grant:\n      filesystem:\n        " + c.grant + "\n"
			}
			skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("", "filesystem:\n  "+c.approved+"\n"), policy: pol},
				skExpect{state: "approved", mounts: c.want})
		})
	}
}

// The manifest's extends ask; the lock's extends approve.
func TestSkillExtends(t *testing.T) {
	caps := "filesystem:\n  read: [\"${WORKSPACE}\"]\n"
	// Asked and approved: python's paths and its env.set.
	skRun(t, skSpec{manifest: skManifestDoc("python", caps), lock: skLockDoc("python", caps)},
		skExpect{mounts: map[string]string{"/home/u/.pyenv": "ro+x", "/home/u/.cache/pip": "ro"},
			env: map[string]string{"PIP_CACHE_DIR": "/tmp/pip-cache", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}})
	// Asked, not approved: nothing of python beyond base.
	skRun(t, skSpec{manifest: skManifestDoc("python", caps), lock: skLockDoc("", caps)},
		skExpect{mounts: map[string]string{"/home/u/.pyenv": "-", "/home/u/.cache/pip": "-"},
			env: map[string]string{"PIP_CACHE_DIR": "-"}})
	// Approved, not asked: the approval grants nothing by itself.
	skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("python", caps)},
		skExpect{mounts: map[string]string{"/home/u/.pyenv": "-"}, env: map[string]string{"PIP_CACHE_DIR": "-"}})
	// The agent profile asked and approved: the workspace writable, its floor paths protected.
	skRun(t, skSpec{manifest: skManifestDoc("agent", caps), lock: skLockDoc("agent", caps)},
		skExpect{mounts: map[string]string{"/home/u/proj": "rw+x"},
			protect: []string{"/home/u/proj/.git/hooks", "/home/u/proj/.claude", "/home/u/proj/AGENTS.md", skRoot}})
}

func TestSkillSecretsAndEnv(t *testing.T) {
	grant := func(secrets string) string {
		return "version: 1\nskills:\n  pdf-tools:\n    grant: {env: {secrets: [" + secrets + "]}}\n"
	}
	declare := func(secrets, pass string) string {
		return "env:\n  secrets: [" + secrets + "]\n  pass: [" + pass + "]\n"
	}
	cases := []struct {
		name                    string
		manifest, approved, pol string
		want                    map[string]string
	}{
		{"declared and granted", declare("EXAMPLE_API_KEY", ""), declare("EXAMPLE_API_KEY", ""), grant("EXAMPLE_API_KEY"),
			map[string]string{"EXAMPLE_API_KEY": "example-secret-value", "OTHER_API_KEY": "-"}},
		{"declared, approved, not granted by the policy", declare("EXAMPLE_API_KEY", ""), declare("EXAMPLE_API_KEY", ""), "",
			map[string]string{"EXAMPLE_API_KEY": "-"}},
		{"granted, not declared", declare("OTHER_API_KEY", ""), declare("OTHER_API_KEY", ""), grant("EXAMPLE_API_KEY"),
			map[string]string{"EXAMPLE_API_KEY": "-", "OTHER_API_KEY": "-"}},
		{"two declared, one granted", declare("EXAMPLE_API_KEY, OTHER_API_KEY", ""), declare("EXAMPLE_API_KEY, OTHER_API_KEY", ""),
			grant("EXAMPLE_API_KEY"), map[string]string{"EXAMPLE_API_KEY": "example-secret-value", "OTHER_API_KEY": "-"}},
		{"granted secret that is a floor name", declare("GITHUB_TOKEN", ""), declare("GITHUB_TOKEN", ""), grant("GITHUB_TOKEN"),
			map[string]string{"GITHUB_TOKEN": "gh-secret-value"}},
		{"a floor name passed is never passed", declare("", "GITHUB_TOKEN, EXAMPLE_API_KEY"), declare("", "GITHUB_TOKEN, EXAMPLE_API_KEY"),
			"version: 1\nskills:\n  pdf-tools:\n    grant: {env: {pass: [GITHUB_TOKEN, EXAMPLE_API_KEY]}}\n",
			map[string]string{"GITHUB_TOKEN": "-", "EXAMPLE_API_KEY": "-"}},
		{"strip_env never passes, even granted as a secret", declare("LD_PRELOAD, OPENAI_BASE_URL", ""), declare("LD_PRELOAD, OPENAI_BASE_URL", ""),
			grant("LD_PRELOAD, OPENAI_BASE_URL"), map[string]string{"LD_PRELOAD": "-", "OPENAI_BASE_URL": "-"}},
		{"a denied secret", declare("EXAMPLE_API_KEY", ""), declare("EXAMPLE_API_KEY", ""),
			"version: 1\nskills:\n  pdf-tools:\n    grant: {env: {secrets: [EXAMPLE_API_KEY]}}\n    deny: {env: {secrets: [EXAMPLE_API_KEY]}}\n",
			map[string]string{"EXAMPLE_API_KEY": "-"}},
		{"secret granted under unsafe", declare("EXAMPLE_API_KEY", ""), declare("", ""),
			"version: 1\nskills:\n  pdf-tools:\n    unsafe: {env: {secrets: [EXAMPLE_API_KEY]}}\n",
			map[string]string{"EXAMPLE_API_KEY": "example-secret-value"}},
		{"pass glob covered by a wider glob", declare("", "\"MY_*\""), declare("", "\"MY*\""), "",
			map[string]string{"MY_A": "a", "MY_B": "b"}},
		{"pass glob not covered by a name", declare("", "\"MY_*\""), declare("", "MY_A"), "",
			map[string]string{"MY_A": "-", "MY_B": "-"}},
		{"pass name covered by a glob", declare("", "MY_A"), declare("", "\"MY_*\""), "",
			map[string]string{"MY_A": "a", "MY_B": "-"}},
		{"pass covered by base", declare("", "\"LC_*\", TZ"), declare("", ""), "", map[string]string{"LC_ALL": "C", "TZ": "UTC"}},
		{"pass denied by the policy", declare("", "MY_A"), declare("", "MY_A"), "version: 1\ndeny: {env: {pass: [\"MY_*\"]}}\n",
			map[string]string{"MY_A": "-"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			skRun(t, skSpec{manifest: skManifestDoc("", c.manifest), lock: skLockDoc("", c.approved), policy: c.pol},
				skExpect{state: "approved", env: c.want})
		})
	}
	// env.set: the approved value only; the floor's strip list is never set by a manifest.
	set := "env:\n  set: {FOO: \"1\", LD_PRELOAD: /x.so, BAR: \"${SKILL_DIR}/data\"}\n"
	skRun(t, skSpec{manifest: skManifestDoc("", set), lock: skLockDoc("", set)},
		skExpect{env: map[string]string{"FOO": "1", "LD_PRELOAD": "-", "BAR": skDir + "/data"}})
	skRun(t, skSpec{manifest: skManifestDoc("", set), lock: skLockDoc("", "env:\n  set: {FOO: \"2\"}\n")},
		skExpect{env: map[string]string{"FOO": "-", "BAR": "-"}})
}

func TestSkillNetwork(t *testing.T) {
	cases := []struct {
		name                   string
		request, approved, pol string
		allow, deny            []string
	}{
		{"approved as asked", `["api.example.com:443", "*.githubusercontent.com"]`, `["api.example.com:443", "*.githubusercontent.com"]`, "",
			[]string{"*.githubusercontent.com", "api.example.com:443"}, nil},
		{"not approved", `["evil.example.net"]`, `["api.example.com"]`, "", []string{}, nil},
		{"narrowed by the approval", `["*.example.com"]`, `["api.example.com:443"]`, "", []string{"api.example.com:443"}, nil},
		{"narrowed by the request", `["api.example.com:443"]`, `["*.example.com"]`, "", []string{"api.example.com:443"}, nil},
		{"a port narrows the default ports", `["api.example.com"]`, `["api.example.com:443"]`, "", []string{"api.example.com:443"}, nil},
		{"another port is not the default ports", `["api.example.com:22"]`, `["api.example.com"]`, "", []string{}, nil},
		{"wildcard with another port", `["*.example.com:8443"]`, `["*.example.com"]`, "", []string{}, nil},
		{"the apex is not a subdomain", `["example.com"]`, `["*.example.com"]`, "", []string{}, nil},
		{"suffix trap", `["evilexample.com"]`, `["*.example.com"]`, "", []string{}, nil},
		{"granted by the policy", `["api.example.com:443"]`, `["other.example.com"]`,
			"version: 1\nskills:\n  pdf-tools:\n    grant: {network: {allow: [\"api.example.com:443\"]}}\n", []string{"api.example.com:443"}, nil},
		{"any host asked, one granted", `["*"]`, `["api.example.com:443"]`, "", []string{"api.example.com:443"}, nil},
		{"denied by a covering pattern", `["api.example.com:443", "x.example.org"]`, `["api.example.com:443", "x.example.org"]`,
			"version: 1\ndeny: {network: {allow: [\"*.example.com\"]}}\n", []string{"x.example.org"}, nil},
		{"denied by the skill's deny", `["api.example.com:443"]`, `["api.example.com:443"]`,
			"version: 1\nskills:\n  pdf-tools:\n    deny: {network: {allow: [\"*\"]}}\n", []string{}, nil},
		{"a narrower deny goes to the proxy", `["*.githubusercontent.com"]`, `["*.githubusercontent.com"]`,
			"version: 1\ndeny: {network: {allow: [\"gist.githubusercontent.com\"]}}\n",
			[]string{"*.githubusercontent.com"}, []string{"gist.githubusercontent.com"}},
		{"an unrelated deny stays out", `["api.example.com:443"]`, `["api.example.com:443"]`,
			"version: 1\ndeny: {network: {allow: [\"other.example.net\"]}}\n", []string{"api.example.com:443"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			skRun(t, skSpec{manifest: skManifestDoc("", "network:\n  allow: "+c.request+"\n"),
				lock: skLockDoc("", "network:\n  allow: "+c.approved+"\n"), policy: c.pol},
				skExpect{state: "approved", allow: c.allow, deny: c.deny})
		})
	}
}

func TestSkillLimits(t *testing.T) {
	gib := Size(1 << 30)
	man := "limits: {timeout: 2m, memory: 1GiB, processes: 256, cpu: 60s, file_size: 1GiB}\n"
	cases := []struct {
		name, pol string
		flag      time.Duration
		want      Limits
	}{
		{"the manifest's", "", 0, Limits{Timeout: Duration(2 * time.Minute), Memory: gib, Processes: 256, CPU: Duration(time.Minute), FileSize: gib}},
		{"the policy's are stricter", "version: 1\nskills:\n  pdf-tools:\n    limits: {timeout: 30s, memory: 512MiB, processes: 16, cpu: 10s, file_size: 1MiB, open_files: 64}\n", 0,
			Limits{Timeout: Duration(30 * time.Second), Memory: 512 << 20, Processes: 16, CPU: Duration(10 * time.Second), FileSize: 1 << 20, OpenFiles: 64}},
		{"the policy's are looser", "version: 1\nskills:\n  pdf-tools:\n    limits: {timeout: 1h, memory: 8GiB, processes: 4096}\n", 0,
			Limits{Timeout: Duration(2 * time.Minute), Memory: gib, Processes: 256, CPU: Duration(time.Minute), FileSize: gib}},
		{"the flag is stricter", "", 5 * time.Second, Limits{Timeout: Duration(5 * time.Second), Memory: gib, Processes: 256, CPU: Duration(time.Minute), FileSize: gib}},
		{"the flag is looser", "", time.Hour, Limits{Timeout: Duration(2 * time.Minute), Memory: gib, Processes: 256, CPU: Duration(time.Minute), FileSize: gib}},
		{"another skill's limits do not apply", "version: 1\nskills:\n  other:\n    limits: {timeout: 1s}\n", 0,
			Limits{Timeout: Duration(2 * time.Minute), Memory: gib, Processes: 256, CPU: Duration(time.Minute), FileSize: gib}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			skRun(t, skSpec{manifest: skManifestDoc("", man), lock: skLockDoc("", "{}"), policy: c.pol,
				edit: func(r *Request) { r.Timeout = c.flag }}, skExpect{state: "approved", limits: &want})
		})
	}
	// A manifest without limits gets none from the approval alone; the flag still applies.
	skRun(t, skSpec{manifest: skManifestDoc("", ""), lock: skLockDoc("", "{}"), edit: func(r *Request) { r.Timeout = time.Minute }},
		skExpect{limits: &Limits{Timeout: Duration(time.Minute)}})
}

// The floor: a policy grant of a floor path is refused with its position; under unsafe: it is
// allowed and reported; without either a manifest never gets it, approved or not.
func TestSkillFloor(t *testing.T) {
	readSSH := "filesystem:\n  read: [\"${HOME}/.ssh\"]\n"
	cases := []struct {
		name string
		s    skSpec
		e    skExpect
	}{
		{"grant of a never-readable path", skSpec{manifest: skManifestDoc("", readSSH), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    grant:\n      filesystem:\n        read: [\"${HOME}/.ssh/config\"]\n"},
			skExpect{err: ErrFloor, errHas: []string{"policy.yaml:6:16", "/home/u/.ssh/config", "unsafe"}}},
		{"grant of a never-writable path", skSpec{manifest: skManifestDoc("", ""), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    grant:\n      filesystem:\n        write:\n          - /srv/ok\n          - \"${WORKSPACE}/.git/hooks\"\n"},
			skExpect{err: ErrFloor, errHas: []string{"policy.yaml:8:13", "/home/u/proj/.git/hooks"}}},
		{"exec grant of a never-readable path", skSpec{manifest: skManifestDoc("", ""), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    grant: {filesystem: {exec: [\"${HOME}/.gnupg\"]}}\n"},
			skExpect{err: ErrFloor, errHas: []string{"policy.yaml:4:"}}},
		{"glob floor entry", skSpec{manifest: skManifestDoc("", ""), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    grant: {filesystem: {read: [/etc/ssh/ssh_host_ed25519_key]}}\n"},
			skExpect{err: ErrFloor}},
		{"write grant of a never-readable path", skSpec{manifest: skManifestDoc("", ""), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    grant: {filesystem: {write: [\"${HOME}/.aws/cli\"]}}\n"},
			skExpect{err: ErrFloor, errHas: []string{"policy.yaml:4:34", "unwritable"}}},
		{"a parent of the floor may be granted", skSpec{manifest: skManifestDoc("", "filesystem:\n  read: [\"${HOME}\"]\n"), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    grant: {filesystem: {read: [\"${HOME}\"]}}\n"},
			skExpect{state: "approved", mounts: map[string]string{"/home/u": "ro"},
				mask: []string{"/home/u/.ssh", "/home/u/.aws", "/home/u/.config/skillrun", "/home/u/.local/state/skillrun", "/home/u/.claude"}}},
		{"agent grant of a floor path", skSpec{manifest: "-", lock: "-", policy: "version: 1\nagent:\n  filesystem:\n    read: [\"${HOME}/.aws\"]\n",
			edit: func(r *Request) { r.Skill = nil }},
			skExpect{err: ErrFloor, errHas: []string{"policy.yaml:4:12"}}},
		{"under unsafe", skSpec{manifest: skManifestDoc("", readSSH), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {read: [\"${HOME}/.ssh\"]}}\n"},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/.ssh": "ro"}, unsafe: []string{"read /home/u/.ssh"}}},
		{"unsafe read does not lift writing", skSpec{manifest: skManifestDoc("", "filesystem:\n  write: [\"${HOME}/.ssh\"]\n"), lock: skLockDoc("", readSSH),
			policy: "version: 1\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {read: [\"${HOME}/.ssh\"]}}\n"},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/.ssh": "ro"}}},
		{"unsafe write", skSpec{manifest: skManifestDoc("", "filesystem:\n  write: [\"${HOME}/.bashrc\"]\n"), lock: skLockDoc("", "{}"),
			policy: "version: 1\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {write: [\"${HOME}/.bashrc\"]}}\n"},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/.bashrc": "rw"}, unsafe: []string{"write /home/u/.bashrc"}}},
		{"unsafe for another skill", skSpec{manifest: skManifestDoc("", readSSH), lock: skLockDoc("", readSSH),
			policy: "version: 1\nskills:\n  other:\n    unsafe: {filesystem: {read: [\"${HOME}/.ssh\"]}}\n"},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/.ssh": "-"}}},
		{"approved floor path without unsafe", skSpec{manifest: skManifestDoc("", readSSH+"  write: [\"${HOME}/.bashrc\", \"${WORKSPACE}\"]\n"),
			lock: skLockDoc("", readSSH+"  write: [\"${HOME}/.bashrc\", \"${WORKSPACE}\"]\n")},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/.ssh": "-", "/home/u/.bashrc": "ro", "/home/u/proj": "rw"},
				protect: []string{"/home/u/proj/.git/hooks", "/home/u/proj/.envrc", "/home/u/proj/CLAUDE.md", skRoot}}},
		{"never-writable inside a written folder", skSpec{manifest: skManifestDoc("", "filesystem:\n  write: [\"${HOME}/.config\"]\n"),
			lock: skLockDoc("", "filesystem:\n  write: [\"${HOME}/.config\"]\n")},
			skExpect{state: "approved", mounts: map[string]string{"/home/u/.config": "rw"},
				protect: []string{"/home/u/.config/autostart", "/home/u/.config/systemd", "/home/u/.config/skillrun"},
				mask:    []string{"/home/u/.config/skillrun", "/home/u/.config/gcloud", "/home/u/.config/gh"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { skRun(t, c.s, c.e) })
	}
}

// Skill roots, discovered skill folders and the policy file are never writable.
func TestSkillRootsAndPolicyFileProtected(t *testing.T) {
	caps := "filesystem:\n  write: [\"${WORKSPACE}\", \"${WORKSPACE}/skills/x\", \"${HOME}\"]\n"
	skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("", caps),
		policy: "version: 1\nskill_roots: [\"${WORKSPACE}/skills\"]\nskills:\n  pdf-tools:\n    grant: {filesystem: {write: [\"${HOME}\"]}}\n",
		edit: func(r *Request) {
			r.SkillRoots = append(r.SkillRoots, "/home/u/proj/skills")
			r.SkillDirs = append(r.SkillDirs, "/home/u/proj/tools/linted", "/home/u/src/shared-skill")
			r.PolicyFile = "/home/u/proj/policy.yaml"
		}},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "rw", "/home/u/proj/skills/x": "ro", "/home/u": "rw"},
			protect: []string{skRoot, "/home/u/proj/skills", "/home/u/proj/tools/linted", "/home/u/src/shared-skill",
				"/home/u/proj/policy.yaml", "/home/u/.agents/skills", "/home/u/.bashrc"},
			mask: []string{"/home/u/.claude", "/home/u/.ssh"}})
}

func TestSkillDeny(t *testing.T) {
	caps := "filesystem:\n  write: [\"${WORKSPACE}\"]\n  exec: [\"${WORKSPACE}/bin\"]\n"
	pol := `version: 1
deny:
  filesystem:
    read: ["${WORKSPACE}/secret"]
skills:
  pdf-tools:
    deny:
      filesystem:
        write: ["${WORKSPACE}/docs"]
        exec: ["${WORKSPACE}/bin"]
`
	skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("", caps), policy: pol},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "rw", "/home/u/proj/bin": "ro"},
			mask: []string{"/home/u/proj/secret"}, protect: []string{"/home/u/proj/docs"}})
	// A deny covering the whole request removes it.
	skRun(t, skSpec{manifest: skManifestDoc("", caps), lock: skLockDoc("", caps), policy: "version: 1\nskills:\n  pdf-tools:\n    deny: {filesystem: {read: [\"${HOME}\"]}}\n",
		edit: func(r *Request) { r.Cwd = skDir }},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "-", "/home/u/proj/bin": "-", skDir: "ro+x"}})
}

// The design's example skill, approved as is, granted its secret and host: the golden plan.
func TestSkillGoldenPlan(t *testing.T) {
	pol := `version: 1
unapproved: untrusted
deny: {filesystem: {read: ["${WORKSPACE}/.env"]}}
skills:
  pdf-tools:
    grant: {env: {secrets: [EXAMPLE_API_KEY]}, network: {allow: ["api.example.com:443"]}}
    deny: {network: {allow: ["gist.githubusercontent.com"]}}
    limits: {timeout: 60s}
`
	r := skRequestFor(t, skSpec{policy: pol, edit: func(r *Request) {
		r.Skill.Source = "/home/u/src/pdf-tools"
		r.SkillDirs = []string{"/home/u/src/pdf-tools"}
		r.Skill.Digest = skDigest
	}})
	p := mustCompile(t, r)
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"example-secret-value", "gh-secret-value", "other-secret-value"} {
		if n := strings.Count(string(got), leak); n != 0 && !(leak == "example-secret-value" && n == 1) {
			t.Errorf("the plan holds %q %d times", leak, n)
		}
	}
	golden := filepath.Join("testdata", "plan-skill.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run: go test ./policy -run TestSkillGoldenPlan -update)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("the skill plan differs from %s (rerun with -update and review the diff):\n%s", golden, got)
	}
	// Origins name documents by file:line:col.
	pos := regexp.MustCompile(`^(manifest|policy|profile \w[\w-]*) \((` + regexp.QuoteMeta(ManifestFile) + `|policy\.yaml|[\w-]+\.yaml):\d+:\d+\)$`)
	for _, m := range p.Mounts {
		if m.Origin == "home (empty)" || strings.HasPrefix(m.Origin, "skill ") {
			continue
		}
		if !pos.MatchString(m.Origin) {
			t.Errorf("mount %s origin %q names no position", m.Path, m.Origin)
		}
	}
	if p.Skill == nil || p.Skill.State != "approved" || p.Profile != "manifest" {
		t.Errorf("skill %+v profile %s", p.Skill, p.Profile)
	}
	if d := p.Digest(); d != mustCompile(t, r).Digest() {
		t.Error("the same skill request gave two plans")
	}
}

// A deny wins over the manifest, the approval, the grant and unsafe lines, however the rules
// that give the access are split.
func TestSkillDenyWinsOverEverything(t *testing.T) {
	inSkill := func(r *Request) { r.Cwd = skDir }
	// unsafe: lifts the floor, not the developer's own deny.
	ws := "filesystem:\n  read: [\"${WORKSPACE}\"]\n"
	skRun(t, skSpec{manifest: skManifestDoc("", ws), lock: skLockDoc("", ws), edit: inSkill,
		policy: "version: 1\ndeny: {filesystem: {read: [\"${WORKSPACE}/private\"]}}\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {read: [\"${WORKSPACE}\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "ro"}, mask: []string{"/home/u/proj/private"}})
	wsw := "filesystem:\n  write: [\"${WORKSPACE}\"]\n"
	skRun(t, skSpec{manifest: skManifestDoc("", wsw), lock: skLockDoc("", wsw), edit: inSkill,
		policy: "version: 1\nskills:\n  pdf-tools:\n    deny: {filesystem: {write: [\"${WORKSPACE}/docs\"]}}\n    unsafe: {filesystem: {write: [\"${WORKSPACE}\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "rw"}, protect: []string{"/home/u/proj/docs"}})
	// The workspace written by one line and executable by another (the agent profile does so).
	skRun(t, skSpec{manifest: skManifestDoc("agent", ""), lock: skLockDoc("agent", "{}"), edit: inSkill,
		policy: "version: 1\ndeny: {filesystem: {exec: [\"${WORKSPACE}/out\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "rw+x", "/home/u/proj/out": "rw"}})
	// base's /usr is read by one line and executed by another.
	skRun(t, skSpec{manifest: skManifestDoc("", ""), lock: skLockDoc("", "{}"), edit: inSkill,
		policy: "version: 1\ndeny: {filesystem: {exec: [\"/usr/share\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/usr": "ro+x", "/usr/share": "ro"}})
	// The workspace read by one line and written by another.
	rw := "filesystem:\n  read: [\"${WORKSPACE}\"]\n  write: [\"${WORKSPACE}\"]\n"
	skRun(t, skSpec{manifest: skManifestDoc("", rw), lock: skLockDoc("", rw), edit: inSkill,
		policy: "version: 1\ndeny: {filesystem: {write: [\"${WORKSPACE}/docs\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/proj": "rw"}, protect: []string{"/home/u/proj/docs"}})
	// The same for an agent command.
	r := skRequestFor(t, skSpec{manifest: "-", lock: "-", policy: "version: 1\ndeny: {filesystem: {exec: [\"${WORKSPACE}/out\"]}}\n"})
	r.Skill = nil
	p, err := Compile(r)
	skExpect{mounts: map[string]string{"/home/u/proj": "rw+x", "/home/u/proj/out": "rw"}}.check(t, p, err)
}

// An unsafe line that lifts reading a never-readable path does not make it writable: the policy
// could not grant that write outside unsafe: either.
func TestSkillUnsafeReadDoesNotLiftWriting(t *testing.T) {
	inSkill := func(r *Request) { r.Cwd = skDir }
	w := "filesystem:\n  write: [\"${HOME}/.aws/config\"]\n"
	skRun(t, skSpec{manifest: skManifestDoc("", w), lock: skLockDoc("", w), edit: inSkill,
		policy: "version: 1\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {read: [\"${HOME}/.aws\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u/.aws/config": "ro"}})
	w = "filesystem:\n  write: [\"${HOME}\"]\n"
	skRun(t, skSpec{manifest: skManifestDoc("", w), lock: skLockDoc("", w), edit: inSkill,
		policy: "version: 1\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {read: [\"${HOME}/.aws\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u": "rw"}, protect: []string{"/home/u/.aws"}})
	// With an unsafe write it is the developer's explicit choice, and it says so.
	skRun(t, skSpec{manifest: skManifestDoc("", w), lock: skLockDoc("", w), edit: inSkill,
		policy: "version: 1\nskills:\n  pdf-tools:\n    unsafe: {filesystem: {write: [\"${HOME}/.aws\"]}}\n"},
		skExpect{state: "approved", mounts: map[string]string{"/home/u": "rw"}, noProtect: []string{"/home/u/.aws"}, unsafe: []string{"read /home/u/.aws"}})
}

// TestProfileHosts: a skill that extends the github profile gets its hosts (once approved with
// that profile) through the proxy, with the profile as their origin, and the developer's deny
// still wins over them.
func TestProfileHosts(t *testing.T) {
	caps := "filesystem:\n  read: [\"${WORKSPACE}\"]\n"
	spec := skSpec{manifest: skManifestDoc("github", caps), lock: skLockDoc("github", caps)}
	p, err := Compile(skRequestFor(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"codeload.github.com", "github.com", "objects.githubusercontent.com"}
	got := append([]string(nil), p.Network.Allow...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) || p.Network.Proxy != ProxyAddr {
		t.Fatalf("allow %v proxy %q, want %v through %s", p.Network.Allow, p.Network.Proxy, want, ProxyAddr)
	}
	origins := map[string]string{}
	for _, d := range p.Why {
		if d.Kind == "host" {
			origins[d.Subject] += d.Decision + " by " + d.Origin + "; "
		}
	}
	for _, h := range want {
		if !strings.Contains(origins[h], "profile github") {
			t.Errorf("%s: %q, want the github profile as its origin", h, origins[h])
		}
	}
	env := strings.Join(p.Env, "\n")
	if !strings.Contains(env, "HTTPS_PROXY=") || !strings.Contains(env, "GIT_TERMINAL_PROMPT=0") {
		t.Errorf("env lacks the proxy or the git profile's settings:\n%s", env)
	}

	spec.policy = "version: 1\ndeny: {network: {allow: [\"codeload.github.com\"]}}\n"
	if p, err = Compile(skRequestFor(t, spec)); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.Network.Allow, "codeload.github.com") || !slices.Contains(p.Network.Allow, "github.com") {
		t.Errorf("with a deny: allow %v", p.Network.Allow)
	}
}
