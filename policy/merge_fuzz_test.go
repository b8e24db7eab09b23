package policy

import (
	"encoding/json"
	"errors"
	"math/rand"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzSkillPlanNeverWidens builds a skill request from fuzzer-chosen small documents — a manifest,
// the lock's approval, the developer's grant, unsafe, deny and limits — over vocabularies that
// hold floor paths, prefix traps, the workspace, the home, nested paths, host patterns with
// wildcards and ports, and floor variable names. It compiles them and checks the plan against a
// reference computed here from the documents alone: nothing is granted that the request and the
// allowed side do not both give, nothing the floor or a deny removes shows, and limits only tighten.

var fzPaths = []string{
	"${WORKSPACE}", "${WORKSPACE}/out", "${WORKSPACE}/out/deep", "${WORKSPACE}/o", "${WORKSPACE}-x",
	"${WORKSPACE}/.git", "${WORKSPACE}/.git/hooks", "${WORKSPACE}/.agents", "${WORKSPACE}/.agents/skills",
	"${WORKSPACE}/.env", "${WORKSPACE}/CLAUDE.md", "${WORKSPACE}/policy.yaml",
	"${HOME}", "${HOME}/docs", "${HOME}/docs/a", "${HOME}/.ssh", "${HOME}/.ssh/id_rsa", "${HOME}/.bashrc",
	"${HOME}/.config", "${HOME}/.config/gh", "${HOME}/.config/git", "${HOME}/.config/skillrun", "${HOME}/.aws", "${HOME}/.awsx",
	"${HOME}/.aws/config", "${HOME}/.claude", "${HOME}/.claude/skills", "${HOME}/.local/state/skillrun", "${HOME}/src",
	"${HOME}/src/pdf-tools", "${HOME}/.pyenv", "${HOME}/.cache",
	"${SKILL_DIR}", "${SKILL_DIR}/bin", "${CACHE}", "${TMPDIR}", "${TMPDIR}/x",
	"/etc", "/etc/ssh", "/etc/ssh/ssh_host_rsa_key", "/etc/shadow", "/usr", "/usr/share", "/usr/local/bin",
	"/srv", "/srv/a", "/srv/ab", "/srv/a/b",
}

var fzHosts = []string{
	"api.example.com", "api.example.com:443", "api.example.com:22", "*.example.com", "*.example.com:8443",
	"*.example.com:443", "example.com", "evilexample.com", "*", "*.a.example.com", "x.a.example.com",
	"192.0.2.1", "192.0.2.1:80", "[2001:db8::1]:443", "gist.githubusercontent.com", "*.githubusercontent.com",
}

var fzEnvNames = []string{"EXAMPLE_API_KEY", "GITHUB_TOKEN", "LD_PRELOAD", "OPENAI_BASE_URL", "MY_A", "LANG",
	"AWS_REGION", "TZ", "SSH_AUTH_SOCK", "FOO_SECRET", "GIT_CONFIG_GLOBAL"}

var fzEnvPatterns = append([]string{"MY_*", "LC_*", "*", "*_KEY", "AWS_*"}, fzEnvNames...)

var fzExtends = []string{"python", "git", "agent", "node"}

// fzSrc hands out the fuzzer's bytes as small choices; past the end every choice is 0.
type fzSrc struct {
	b []byte
	i int
}

func (s *fzSrc) pick(n int) int {
	if s.i >= len(s.b) {
		return 0
	}
	c := s.b[s.i]
	s.i++
	return int(c) % n
}

// fzCaps is one capabilities section as the fuzzer chose it (unexpanded).
type fzCaps struct {
	read, write, exec []string
	hosts             []string
	pass, secrets     []string
	set               map[string]string
	limits            map[string]string
}

var fzSetKeys = []string{"FOO", "LD_PRELOAD", "GIT_CONFIG_GLOBAL", "PIP_CACHE_DIR", "MY_A", "GIT_TERMINAL_PROMPT"}

var fzSetValues = []string{"1", "0", "${SKILL_DIR}/x", "${TMPDIR}/pip-cache", "/evil"}

func (s *fzSrc) set() map[string]string {
	out := map[string]string{}
	for n := s.pick(3); n > 0; n-- {
		out[fzSetKeys[s.pick(len(fzSetKeys))]] = fzSetValues[s.pick(len(fzSetValues))]
	}
	return out
}

func (c fzCaps) env() string {
	s := "{pass: " + fzList(c.pass) + ", secrets: " + fzList(c.secrets)
	if len(c.set) > 0 {
		b, _ := json.Marshal(c.set)
		s += ", set: " + string(b)
	}
	return s + "}"
}

func (s *fzSrc) caps(maxPaths int, limits bool) fzCaps {
	var c fzCaps
	for n := s.pick(maxPaths + 1); n > 0; n-- {
		p := fzPaths[s.pick(len(fzPaths))]
		switch s.pick(3) {
		case 0:
			c.read = append(c.read, p)
		case 1:
			c.write = append(c.write, p)
		default:
			c.exec = append(c.exec, p)
		}
	}
	for n := s.pick(3); n > 0; n-- {
		c.hosts = append(c.hosts, fzHosts[s.pick(len(fzHosts))])
	}
	for n := s.pick(3); n > 0; n-- {
		c.pass = append(c.pass, fzEnvPatterns[s.pick(len(fzEnvPatterns))])
	}
	for n := s.pick(3); n > 0; n-- {
		c.secrets = append(c.secrets, fzEnvNames[s.pick(len(fzEnvNames))])
	}
	if limits {
		c.limits = map[string]string{}
		if v := []string{"", "1s", "2m", "1h"}[s.pick(4)]; v != "" {
			c.limits["timeout"] = v
		}
		if v := []string{"", "64MiB", "1GiB"}[s.pick(3)]; v != "" {
			c.limits["memory"] = v
		}
		if v := []string{"", "8", "256"}[s.pick(3)]; v != "" {
			c.limits["processes"] = v
		}
		if v := []string{"", "10s", "1m"}[s.pick(3)]; v != "" {
			c.limits["cpu"] = v
		}
	}
	return c
}

func fzList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// yaml writes the section as flow-style YAML lines (no indentation).
func (c fzCaps) yaml() string {
	s := "filesystem: {read: " + fzList(c.read) + ", write: " + fzList(c.write) + ", exec: " + fzList(c.exec) + "}\n" +
		"network: {allow: " + fzList(c.hosts) + "}\n" +
		"env: " + c.env() + "\n"
	if len(c.limits) > 0 {
		s += "limits: " + fzLimits(c.limits) + "\n"
	}
	return s
}

func (c fzCaps) flow() string {
	s := "{filesystem: {read: " + fzList(c.read) + ", write: " + fzList(c.write) + ", exec: " + fzList(c.exec) + "}, " +
		"network: {allow: " + fzList(c.hosts) + "}, env: " + c.env() + "}"
	return s
}

func fzLimits(l map[string]string) string {
	var parts []string
	for _, k := range []string{"timeout", "memory", "processes", "cpu"} {
		if v, ok := l[k]; ok {
			parts = append(parts, k+": "+v)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// fzRule is a reference rule: one expanded path with the access it gives.
type fzRule struct {
	path    string
	r, w, x bool
}

func fzRules(vars Vars, read, write, exec []string) []fzRule {
	var out []fzRule
	for _, l := range []struct {
		list []string
		w, x bool
	}{{read, false, false}, {write, true, false}, {exec, false, true}} {
		for _, raw := range l.list {
			p, err := vars.expand(raw)
			if err != nil {
				continue
			}
			out = append(out, fzRule{p, true, l.w, l.x})
		}
	}
	return out
}

// fzSetValue is one env.set entry and whether a built-in profile wrote it.
type fzSetValue struct {
	value   string
	builtin bool
}

// fzProfileSets applies the profiles' env.set to m in the compiler's order (parents first).
func fzProfileSets(t *testing.T, m map[string]fzSetValue, names []string) {
	for _, n := range names {
		chain, err := profileChain(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range chain {
			for k, v := range p.Env.Set {
				m[k] = fzSetValue{v, true}
			}
		}
	}
}

func fzProfileRules(t *testing.T, vars Vars, names []string) ([]fzRule, []string, []LimitCaps) {
	var rules []fzRule
	var pass []string
	var limits []LimitCaps
	for _, n := range names {
		chain, err := profileChain(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range chain {
			rules = append(rules, fzRules(vars, p.Filesystem.Read, p.Filesystem.Write, p.Filesystem.Exec)...)
			pass = append(pass, p.Env.Pass...)
			limits = append(limits, p.Limits)
		}
	}
	return rules, pass, limits
}

// fzCovered reports whether some rule gives the access bit at p. The private /tmp covers no
// host path below it.
func fzCovered(rules []fzRule, p string, bit func(fzRule) bool) bool {
	for _, r := range rules {
		if bit(r) && within(p, r.path) && !(r.path == SandboxTmp && p != SandboxTmp) {
			return true
		}
	}
	return false
}

func fzWithinAny(list []string, p string) bool {
	for _, x := range list {
		if within(p, x) {
			return true
		}
	}
	return false
}

// fzHost is the reference meaning of a host pattern: which names and which ports.
type fzHost struct {
	any      bool
	host     string // lower case; "*.x" for a wildcard
	wildcard bool
	ports    []int // nil: every port (only for "*")
}

func fzParseHost(s string) fzHost {
	if s == "*" {
		return fzHost{any: true}
	}
	h, port := s, 0
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		h = s[:end+1]
		if rest := s[end+1:]; rest != "" {
			port, _ = strconv.Atoi(rest[1:])
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		h = s[:i]
		port, _ = strconv.Atoi(s[i+1:])
	}
	out := fzHost{host: strings.ToLower(h), wildcard: strings.HasPrefix(h, "*.")}
	if port == 0 {
		out.ports = []int{80, 443}
	} else {
		out.ports = []int{port}
	}
	return out
}

// fzHostCovers: every (name, port) b matches, a matches too.
func fzHostCovers(a, b fzHost) bool {
	if a.any {
		return true
	}
	if b.any {
		return false
	}
	for _, p := range b.ports {
		ok := false
		for _, q := range a.ports {
			ok = ok || p == q
		}
		if !ok {
			return false
		}
	}
	switch {
	case !a.wildcard:
		return !b.wildcard && a.host == b.host
	case b.wildcard:
		return b.host == a.host || strings.HasSuffix(b.host, a.host[1:])
	default:
		return strings.HasSuffix(b.host, a.host[1:])
	}
}

func FuzzSkillPlanNeverWidens(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x00\x01\x0c\x01\x22\x02\x01\x00\x01\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("workspace-and-home-and-floor-and-hosts-and-secrets-0123456789"))
	f.Add([]byte{1, 3, 1, 1, 0, 1, 0, 2, 3, 2, 1, 0, 4, 1, 15, 2, 0, 0, 2, 1, 0, 1, 12, 1, 0, 1, 1, 5, 1, 13, 2, 2, 0, 1, 0})
	f.Add([]byte{0, 2, 1, 2, 4, 1, 2, 7, 3, 1, 1, 3, 3, 1, 1, 0, 6, 2, 6, 3, 1, 14, 0, 9, 1, 3, 2, 1, 2, 9, 0, 3, 3, 1, 15, 2, 0, 1})
	for _, b := range fzRandomInputs(8, 7) {
		f.Add(b) // long inputs: every section of every document has something in it
	}
	floor, err := LoadFloor()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fzSkillPlan(t, floor, data) })
}

// fzRandomInputs returns n deterministic pseudo-random inputs of up to 250 bytes.
func fzRandomInputs(n int, seed int64) [][]byte {
	rng := rand.New(rand.NewSource(seed))
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 50+rng.Intn(200))
		rng.Read(out[i])
	}
	return out
}

// TestSkillPlanNeverWidensSweep runs the fuzz target's checks over a fixed set of random inputs,
// so an ordinary test run covers many more documents than the seed corpus.
func TestSkillPlanNeverWidensSweep(t *testing.T) {
	floor, err := LoadFloor()
	if err != nil {
		t.Fatal(err)
	}
	n := 400
	if testing.Short() {
		n = 50
	}
	outcomes := map[string]int{}
	for i, b := range fzRandomInputs(n, 1) {
		t.Run(strconv.Itoa(i), func(t *testing.T) { outcomes[fzSkillPlan(t, floor, b)]++ })
	}
	if outcomes["approved"] < n/4 {
		t.Errorf("the generator gives too few approved skills: %v", outcomes)
	}
}

// fzSkillPlan runs one fuzz input; it returns what happened ("plan", "approved", "floor", …).
func fzSkillPlan(t *testing.T, floor *FloorDoc, data []byte) string {
	s := &fzSrc{b: data}
	// The shape of the request.
	linked := s.pick(2) == 1
	state := s.pick(8) // 0: unapproved, 1: approved without a manifest, else approved
	refuse := s.pick(4) == 0
	var manExt, lockExt []string
	for _, e := range fzExtends {
		if s.pick(3) == 0 {
			manExt = append(manExt, e)
		}
		if s.pick(3) == 0 {
			lockExt = append(lockExt, e)
		}
	}
	man := s.caps(5, true)
	approved := s.caps(5, false)
	grant := s.caps(3, false)
	unsafe := s.caps(2, false)
	deny := s.caps(2, false)
	skillDeny := s.caps(2, false)
	deny.secrets, skillDeny.secrets = nil, nil // deny env names go under pass
	polLimits := s.caps(0, true).limits
	flag := []time.Duration{0, time.Second, 5 * time.Minute}[s.pick(3)]
	man.set, approved.set, grant.set, unsafe.set = s.set(), s.set(), s.set(), s.set()

	manDoc := "version: 1\nname: " + skName + "\nextends: " + fzList(manExt) + "\n" + man.yaml()
	manifest, err := ParseManifest(ManifestFile, []byte(manDoc))
	if err != nil {
		t.Fatalf("manifest: %v\n%s", err, manDoc)
	}
	source := skDir
	if linked {
		source = "/home/u/src/pdf-tools"
	}
	var lock *LockedSkill
	switch {
	case state == 0:
	case state == 1:
		lock = &LockedSkill{Name: skName, Path: source, Digest: skDigest}
	default:
		lockDoc := strings.Replace(skLockDoc(strings.Trim(fzList(lockExt), "[]"), approved.yaml()), skDir, source, 1)
		l, err := ParseLock(LockFile, []byte(lockDoc))
		if err != nil {
			t.Fatalf("lock: %v\n%s", err, lockDoc)
		}
		lock = &l.Skills[0]
	}
	polDoc := "version: 1\n"
	if refuse {
		polDoc += "unapproved: refuse\n"
	}
	polDoc += "deny: " + deny.flow() + "\nskills:\n  " + skName + ":\n    grant: " + grant.flow() + "\n    unsafe: " + unsafe.flow() +
		"\n    deny: " + skillDeny.flow() + "\n"
	if len(polLimits) > 0 {
		polDoc += "    limits: " + fzLimits(polLimits) + "\n"
	}
	pol, err := ParsePolicy("policy.yaml", []byte(polDoc))
	if err != nil {
		t.Fatalf("policy: %v\n%s", err, polDoc)
	}
	r := Request{
		Command:    Command{Argv: []string{skDir + "/run"}},
		Cwd:        skDir,
		Workspace:  "/home/u/proj",
		Home:       "/home/u",
		User:       User{Name: "u", UID: 1000, GID: 1000},
		ConfigDir:  "/home/u/.config",
		StateDir:   "/home/u/.local/state",
		CacheDir:   "/home/u/.cache",
		Timeout:    flag,
		Policy:     pol,
		PolicyFile: "/home/u/proj/policy.yaml",
		SkillRoots: []string{"/home/u/.claude/skills", skRoot, "/home/u/.agents/skills"},
		SkillDirs:  []string{source, "/home/u/.agents/skills/other"},
		Skill:      &SkillRequest{Name: skName, Dir: skDir, Source: source, Manifest: manifest, Lock: lock},
	}
	caller := map[string]string{}
	for _, k := range append(append([]string{}, fzEnvNames...), "MY_B", "LC_ALL", "HOME") {
		caller[k] = "caller-value-of-" + k
		r.Environ = append(r.Environ, k+"="+caller[k])
	}
	// PATH's folders are protected by name (a program planted in one shadows a real one), so
	// the plan names them outside env too.
	caller["PATH"] = "/usr/bin:/home/u/bin"
	r.Environ = append(r.Environ, "PATH="+caller["PATH"])
	p, err := Compile(r)
	docs := func() string {
		return "\n--- manifest\n" + manDoc + "--- policy\n" + polDoc + "--- approved\n" + approved.yaml()
	}
	if err != nil {
		if p != nil {
			t.Fatalf("a plan with the error %v", err)
		}
		switch {
		case errors.Is(err, ErrFloor):
			return "floor"
		case errors.Is(err, ErrUnapproved) && lock == nil && refuse:
			return "refused"
		}
		t.Fatalf("Compile: %v%s", err, docs())
	}

	vars := Vars{"WORKSPACE": r.Workspace, "HOME": r.Home, "TMPDIR": SandboxTmp, "SKILL_DIR": skDir,
		"CACHE": "/home/u/.cache/skillrun/" + skName, "CONFIG": r.ConfigDir, "STATE": r.StateDir}
	approvedState := lock != nil && state >= 2

	// The requested and allowed sides, as the documents say.
	var requested, allowed []fzRule
	var reqPass, allowPass []string
	var limitSrcs []LimitCaps
	if approvedState {
		rr, rp, rl := fzProfileRules(t, vars, append([]string{"base"}, manExt...))
		requested = append(rr, fzRules(vars, man.read, man.write, man.exec)...)
		reqPass = append(rp, man.pass...)
		limitSrcs = append(rl, manifest.Limits)
		ar, ap, _ := fzProfileRules(t, vars, append([]string{"base"}, lockExt...))
		allowed = append(ar, fzRules(vars, approved.read, approved.write, approved.exec)...)
		allowed = append(allowed, fzRules(vars, grant.read, grant.write, grant.exec)...)
		allowed = append(allowed, fzRules(vars, unsafe.read, unsafe.write, unsafe.exec)...)
		allowPass = append(append(append(ap, approved.pass...), grant.pass...), unsafe.pass...)
	} else {
		rr, rp, rl := fzProfileRules(t, vars, []string{"untrusted"})
		requested, allowed, reqPass, allowPass, limitSrcs = rr, rr, rp, rp, rl
		if p.Profile != "untrusted" {
			t.Fatalf("state %+v: profile %s", p.Skill, p.Profile)
		}
	}
	limitSrcs = append(limitSrcs, pol.skill(skName).Limits)
	unsafeRules := fzRules(vars, unsafe.read, unsafe.write, unsafe.exec)
	if !approvedState {
		unsafeRules = nil
	}
	unsafeCovers := func(pth string, write bool) bool {
		return fzCovered(unsafeRules, pth, func(r fzRule) bool { return !write || r.w })
	}
	// In a deny section each list takes away exactly its own access.
	var denyRead, denyWrite, denyExec []string
	for _, l := range []fzCaps{deny, skillDeny} {
		for _, x := range []struct {
			list []string
			into *[]string
		}{{l.read, &denyRead}, {l.write, &denyWrite}, {l.exec, &denyExec}} {
			for _, raw := range x.list {
				if pth, err := vars.expand(raw); err == nil {
					*x.into = append(*x.into, pth)
				}
			}
		}
	}
	neverRead := pathsOf(floor.NeverRead, vars)
	neverWrite := append(pathsOf(floor.NeverWrite, vars), r.SkillRoots...)
	neverWrite = append(append(neverWrite, r.SkillDirs...), r.PolicyFile)

	// The skill folder: one read-only mount, nothing inside it; its real folder writable only
	// where an unsafe line says so.
	if m, ok := skMount(p, skDir); !ok || m.Access != ReadOnly || m.Source != map[bool]string{true: source, false: ""}[linked] ||
		(lock != nil) != (m.Digest == skDigest) {
		t.Fatalf("skill folder mount %+v (present %v)%s", m, ok, docs())
	}
	for _, m := range p.Mounts {
		if m.Path != skDir && within(m.Path, skDir) {
			t.Fatalf("mount %s inside the skill folder%s", m.Path, docs())
		}
	}
	if c := p.cover(source); c != nil && c.Access == ReadWrite && !fzWithinAny(p.Protect, source) && !unsafeCovers(source, true) {
		t.Fatalf("the skill's real folder is writable through %s%s", c.Path, docs())
	}

	isSkillMount := func(m Mount) bool { return m.Path == skDir }
	for _, m := range p.Mounts {
		if isSkillMount(m) || (m.Path == r.Home && m.Access == Tmpfs) || m.Path == SandboxTmp {
			continue
		}
		if m.Access == Tmpfs {
			t.Fatalf("unexpected tmpfs %+v%s", m, docs())
		}
		// Within what both sides give, with every bit the mount has.
		bits := []struct {
			name string
			on   bool
			bit  func(fzRule) bool
		}{{"read", true, func(r fzRule) bool { return r.r }}, {"write", m.Access == ReadWrite, func(r fzRule) bool { return r.w }},
			{"exec", m.Exec, func(r fzRule) bool { return r.x }}}
		for _, b := range bits {
			if !b.on {
				continue
			}
			if !fzCovered(allowed, m.Path, b.bit) {
				t.Fatalf("mount %s (%s, exec %v, from %s): %s not approved or granted%s", m.Path, m.Access, m.Exec, m.Origin, b.name, docs())
			}
			if !fzCovered(requested, m.Path, b.bit) {
				t.Fatalf("mount %s (%s, exec %v, from %s): %s never requested%s", m.Path, m.Access, m.Exec, m.Origin, b.name, docs())
			}
		}
		if !approvedState && (m.Access != ReadOnly) {
			t.Fatalf("untrusted plan with a writable mount %+v", m)
		}
		// The floor: never readable unless an unsafe line covers it.
		for _, fp := range neverRead {
			inside := within(m.Path, fp)
			if hasGlob(path.Base(fp)) {
				inside = within(m.Path, path.Dir(fp)) && m.Path != path.Dir(fp) && globMatch(path.Base(fp), pathElem(m.Path, path.Dir(fp)))
				if inside && skHas(p.Mask, fp) {
					continue
				}
			}
			if inside && !unsafeCovers(m.Path, false) {
				t.Fatalf("mount %s (from %s) lies in never-readable %s%s", m.Path, m.Origin, fp, docs())
			}
			if inside && m.Access == ReadWrite && !unsafeCovers(m.Path, true) {
				t.Fatalf("mount %s (from %s) writable inside never-readable %s with only an unsafe read%s", m.Path, m.Origin, fp, docs())
			}
		}
		if m.Access == ReadWrite {
			for _, fp := range neverWrite {
				if within(m.Path, fp) && !unsafeCovers(m.Path, true) {
					t.Fatalf("writable mount %s (from %s) lies in never-writable %s%s", m.Path, m.Origin, fp, docs())
				}
			}
		}
		// Deny: nothing denied shows.
		for _, d := range denyRead {
			if within(m.Path, d) {
				t.Fatalf("mount %s lies in denied %s%s", m.Path, d, docs())
			}
		}
		for _, d := range denyWrite {
			if within(m.Path, d) && m.Access == ReadWrite {
				t.Fatalf("writable mount %s lies in write-denied %s%s", m.Path, d, docs())
			}
		}
		for _, d := range denyExec {
			if within(m.Path, d) && m.Exec {
				t.Fatalf("executable mount %s lies in exec-denied %s%s", m.Path, d, docs())
			}
		}
	}
	// What a broader mount would show is masked or protected.
	shows := func(pth string) *Mount {
		c := p.cover(pth)
		if c == nil || c.Access == Tmpfs || c.Digest != "" {
			return nil
		}
		return c
	}
	for _, fp := range neverRead {
		probe := fp
		if hasGlob(path.Base(fp)) {
			probe = path.Dir(fp)
		}
		if c := shows(probe); c != nil && !skHas(p.Mask, fp) && !fzWithinAny(p.Mask, probe) && !unsafeCovers(fp, false) && c.Path != fp {
			t.Fatalf("never-readable %s shows through %s and is not masked%s", fp, c.Path, docs())
		}
		// Lifting reading does not lift writing: a shown never-readable path stays read-only
		// (a project's own .env files, masked where they exist, are not held when missing).
		if c := shows(probe); !within(fp, "/home/u/proj") && c != nil && c.Access == ReadWrite && !fzWithinAny(p.Mask, probe) && !skHas(p.Mask, fp) && !fzWithinAny(p.Protect, probe) && !unsafeCovers(probe, true) {
			t.Fatalf("never-readable %s is writable through %s with only an unsafe read%s", fp, c.Path, docs())
		}
	}
	for _, fp := range neverWrite {
		if c := shows(fp); c != nil && c.Access == ReadWrite && !fzWithinAny(p.Protect, fp) && !unsafeCovers(fp, true) {
			t.Fatalf("never-writable %s writable through %s and not protected%s", fp, c.Path, docs())
		}
	}
	for _, d := range denyRead {
		if c := shows(d); c != nil && !fzWithinAny(p.Mask, d) && !within(d, skDir) {
			t.Fatalf("denied %s shows through %s and is not masked%s", d, c.Path, docs())
		}
	}
	for _, d := range denyWrite {
		if c := shows(d); c != nil && c.Access == ReadWrite && !fzWithinAny(p.Protect, d) {
			t.Fatalf("write-denied %s writable through %s and not protected%s", d, c.Path, docs())
		}
	}
	for _, d := range denyExec {
		// The skill's own folder is always executable: a deny below it is not checked here.
		if c := shows(d); c != nil && c.Exec && !within(d, skDir) {
			t.Fatalf("exec-denied %s executable through %s%s", d, c.Path, docs())
		}
	}

	// The environment: secrets declared and granted, passes both requested and allowed,
	// never the floor's names otherwise, never the strip list, never a denied name.
	denyEnv := append(append([]string{}, deny.pass...), skillDeny.pass...)
	for k, v := range skEnv(p) {
		if cv, ok := caller[k]; !ok || cv != v || matchAny(baseEnv, k) {
			continue // skillrun's own or a set value
		}
		if matchAny(floor.StripEnv, k) || matchAny(denyEnv, k) {
			t.Fatalf("%s passed although stripped or denied%s", k, docs())
		}
		secret := approvedState && skHas(man.secrets, k) && (skHas(grant.secrets, k) || skHas(unsafe.secrets, k))
		passed := matchAny(reqPass, k) && matchAny(allowPass, k) && !matchAny(floor.NeverEnv, k)
		if !secret && !passed {
			t.Fatalf("%s passed: neither a declared and granted secret nor a requested and allowed name%s", k, docs())
		}
	}

	// Set values: asked and approved with the same value; the strip list only by a profile.
	reqSet, allowSet := map[string]fzSetValue{}, map[string]fzSetValue{}
	if approvedState {
		fzProfileSets(t, reqSet, append([]string{"base"}, manExt...))
		for k, v := range man.set {
			reqSet[k] = fzSetValue{v, false}
		}
		fzProfileSets(t, allowSet, append([]string{"base"}, lockExt...))
		for _, l := range []map[string]string{approved.set, grant.set, unsafe.set} {
			for k, v := range l {
				allowSet[k] = fzSetValue{v, false}
			}
		}
	} else {
		fzProfileSets(t, reqSet, []string{"untrusted"})
		allowSet = reqSet
	}
	for k, v := range skEnv(p) {
		if cv, ok := caller[k]; (ok && cv == v) || matchAny(baseEnv, k) {
			continue
		}
		if p.Network.Proxy != "" && matchAny(append(proxyEnv, "NO_PROXY"), strings.ToUpper(k)) {
			// skillrun's own egress proxy, never a value of the caller's or a manifest's.
			if want := "http://" + p.Network.Proxy; v != want && !strings.EqualFold(k, "NO_PROXY") {
				t.Fatalf("%s=%s, want the egress proxy %s%s", k, v, want, docs())
			}
			continue
		}
		rq, ok := reqSet[k]
		if !ok || allowSet[k].value != rq.value {
			t.Fatalf("%s=%s set but not asked and approved with that value (asked %+v, approved %+v)%s", k, v, rq, allowSet[k], docs())
		}
		if want, err := vars.expandValue(rq.value); err != nil || want != v {
			t.Fatalf("%s=%s, want %q (%v)%s", k, v, want, err, docs())
		}
		if !rq.builtin && (matchAny(floor.StripEnv, k) || matchAny(denyEnv, k)) {
			t.Fatalf("%s=%s set although stripped or denied%s", k, v, docs())
		}
	}
	// No caller value appears anywhere but in the environment.
	q := *p
	q.Env = nil
	if b, _ := json.Marshal(&q); strings.Contains(string(b), "caller-value-of-") {
		t.Fatalf("a caller's value appears in the plan outside env%s", docs())
	}

	// The network.
	var allowHosts, reqHosts, denyHosts []fzHost
	if approvedState {
		for _, l := range [][]string{approved.hosts, grant.hosts, unsafe.hosts} {
			for _, h := range l {
				allowHosts = append(allowHosts, fzParseHost(h))
			}
		}
		for _, h := range man.hosts {
			reqHosts = append(reqHosts, fzParseHost(h))
		}
	}
	for _, h := range append(append([]string{}, deny.hosts...), skillDeny.hosts...) {
		denyHosts = append(denyHosts, fzParseHost(h))
	}
	coveredBy := func(list []fzHost, h fzHost) bool {
		for _, a := range list {
			if fzHostCovers(a, h) {
				return true
			}
		}
		return false
	}
	for _, h := range p.Network.Allow {
		ph := fzParseHost(h)
		if !coveredBy(allowHosts, ph) {
			t.Fatalf("host %s is allowed but not approved or granted%s", h, docs())
		}
		if !coveredBy(reqHosts, ph) {
			t.Fatalf("host %s is allowed but never requested%s", h, docs())
		}
		if coveredBy(denyHosts, ph) {
			t.Fatalf("host %s is allowed but denied%s", h, docs())
		}
	}
	for _, h := range p.Network.Deny {
		if !skHas(deny.hosts, h) && !skHas(skillDeny.hosts, h) {
			t.Fatalf("network deny %s is no deny pattern%s", h, docs())
		}
	}

	// Limits only tighten.
	if flag > 0 {
		d := Duration(flag)
		limitSrcs = append(limitSrcs, LimitCaps{Timeout: &d})
	}
	for _, l := range limitSrcs {
		if l.Timeout != nil && *l.Timeout > 0 && (p.Limits.Timeout == 0 || p.Limits.Timeout > *l.Timeout) {
			t.Fatalf("timeout %v exceeds a source's %v%s", time.Duration(p.Limits.Timeout), time.Duration(*l.Timeout), docs())
		}
		if l.Memory != nil && (p.Limits.Memory == 0 || p.Limits.Memory > *l.Memory) {
			t.Fatalf("memory %v exceeds a source's %v%s", p.Limits.Memory, *l.Memory, docs())
		}
		if l.Processes != nil && (p.Limits.Processes == 0 || p.Limits.Processes > *l.Processes) {
			t.Fatalf("processes %d exceed a source's %d%s", p.Limits.Processes, *l.Processes, docs())
		}
		if l.CPU != nil && *l.CPU > 0 && (p.Limits.CPU == 0 || p.Limits.CPU > *l.CPU) {
			t.Fatalf("cpu %v exceeds a source's %v%s", time.Duration(p.Limits.CPU), time.Duration(*l.CPU), docs())
		}
	}
	if approvedState != (p.Skill.State == "approved") {
		t.Fatalf("state %s, lock %v manifest-state %d", p.Skill.State, lock != nil, state)
	}
	return p.Skill.State
}
