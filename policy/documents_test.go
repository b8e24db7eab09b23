package policy

import (
	"errors"
	"strings"
	"testing"
)

// Bad manifests, policies and locks: each is ErrInvalid, and where the bad value has a position
// the message names it as file:LINE:COL (want holds "file:LINE:" or "file:LINE:COL").

type docCase struct {
	name string
	doc  string
	want []string // substrings of the message; the first is the position when there is one
}

func docCheck(t *testing.T, kind string, parse func(string, []byte) error, cases []docCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(kind+"/"+c.name, func(t *testing.T) {
			err := parse(kind, []byte(c.doc))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid\n%s", err, c.doc)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBadManifests(t *testing.T) {
	const f = "skillrun.yaml"
	head := "version: 1\nname: pdf-tools\n"
	cases := []docCase{
		{"empty", "", []string{f, "version must be 1"}},
		{"malformed YAML", "version: 1\nname: [pdf\n", []string{f + ":"}},
		{"tab indentation", "version: 1\nname: x\nfilesystem:\n\tread: [/a]\n", []string{f + ":"}},
		{"not a mapping", "- version: 1\n", []string{f + ":"}},
		{"unknown top-level key", head + "filesytem:\n  read: [/a]\n", []string{f + ":3:", "filesytem"}},
		{"unknown nested key", head + "filesystem:\n  reed: [/a]\n", []string{f + ":4:", "reed"}},
		{"unknown network key", head + "network:\n  deny: [x.example.com]\n", []string{f + ":4:"}},
		{"unknown limit", head + "limits:\n  threads: 4\n", []string{f + ":4:"}},
		{"metadata belongs to SKILL.md", head + "metadata: {a: b}\n", []string{f + ":3:"}},
		{"version 2", "version: 2\nname: pdf-tools\n", []string{f + ":1:10", "version must be 1"}},
		{"version a string", "version: one\nname: pdf-tools\n", []string{f + ":1:"}},
		{"name missing", "version: 1\n", []string{f, "name"}},
		{"name upper case", "version: 1\nname: PDF\n", []string{f + ":2:7", "not a skill name"}},
		{"name with a slash", "version: 1\nname: a/b\n", []string{f + ":2:7"}},
		{"name double hyphen", "version: 1\nname: a--b\n", []string{f + ":2:7"}},
		{"name too long", "version: 1\nname: " + strings.Repeat("a", 65) + "\n", []string{f + ":2:7"}},
		{"name a list", "version: 1\nname: [a]\n", []string{f + ":2:"}},
		{"extends unknown", head + "extends: [python, nope]\n", []string{f + ":3:19", "nope"}},
		{"extends the floor", head + "extends:\n  - floor\n", []string{f + ":4:5", "floor"}},
		{"extends a string", head + "extends: python\n", []string{f + ":3:"}},
		{"read a string", head + "filesystem:\n  read: /a\n", []string{f + ":4:"}},
		{"read a map", head + "filesystem:\n  read: {a: b}\n", []string{f + ":4:"}},
		{"relative path", head + "filesystem:\n  read:\n    - /ok\n    - data/x\n", []string{f + ":6:7", "absolute"}},
		{"dot path", head + "filesystem:\n  write: [\"./out\"]\n", []string{f + ":4:", "absolute"}},
		{"dot-dot", head + "filesystem:\n  write: [\"${WORKSPACE}/../etc\"]\n", []string{f + ":4:11", `".."`}},
		{"trailing dot-dot", head + "filesystem:\n  exec: [\"/usr/..\"]\n", []string{f + ":4:10", `".."`}},
		{"dot element", head + "filesystem:\n  read: [\"/a/./b\"]\n", []string{f + ":4:10"}},
		{"empty element", head + "filesystem:\n  read: [\"/a//b\"]\n", []string{f + ":4:10"}},
		{"empty path", head + "filesystem:\n  read: [\"\"]\n", []string{f + ":4:10", "empty"}},
		{"glob in a directory", head + "filesystem:\n  read: [\"/a/*/b\"]\n", []string{f + ":4:10", "glob"}},
		{"unknown variable", head + "filesystem:\n  read: [\"${PWD}/x\"]\n", []string{f + ":4:10", "${PWD}"}},
		{"skillrun's own variable", head + "filesystem:\n  read: [\"${CONFIG}\"]\n", []string{f + ":4:10", "${CONFIG}"}},
		{"unterminated variable", head + "filesystem:\n  read: [\"${HOME/x\"]\n", []string{f + ":4:10"}},
		{"lower-case variable", head + "filesystem:\n  read: [\"${home}/x\"]\n", []string{f + ":4:10"}},
		{"variable not at the start", head + "filesystem:\n  read: [\"x${HOME}\"]\n", []string{f + ":4:10"}},
		{"bad host: a URL", head + "network:\n  allow: [\"https://api.example.com\"]\n", []string{f + ":4:11"}},
		{"bad host: a path", head + "network:\n  allow: [\"example.com/x\"]\n", []string{f + ":4:11"}},
		{"bad host: user", head + "network:\n  allow: [\"u@example.com\"]\n", []string{f + ":4:11"}},
		{"bad host: bare wildcard label", head + "network:\n  allow: [\"*.com\"]\n", []string{f + ":4:11", "too broad"}},
		{"bad host: short IPv4 spelling", head + "network:\n  allow: [\"10.1\"]\n", []string{f + ":4:11", "reads as an IPv4 address"}},
		{"bad host: hex IPv4 spelling", head + "network:\n  allow: [\"0x7f000001:8080\"]\n", []string{f + ":4:11", "reads as an IPv4 address"}},
		{"bad host: wildcard over numbers", head + "network:\n  allow: [\"*.0.1\"]\n", []string{f + ":4:11", "reads as an IPv4 address"}},
		{"bad host: inner wildcard", head + "network:\n  allow: [\"api.*.com\"]\n", []string{f + ":4:11"}},
		{"bad host: port 0", head + "network:\n  allow: [\"example.com:0\"]\n", []string{f + ":4:11", "port"}},
		{"bad host: port too big", head + "network:\n  allow:\n    - example.com:65536\n", []string{f + ":5:7", "port"}},
		{"bad host: leading-zero port", head + "network:\n  allow: [\"example.com:0443\"]\n", []string{f + ":4:11"}},
		{"bad host: empty port", head + "network:\n  allow: [\"example.com:\"]\n", []string{f + ":4:11"}},
		{"bad host: IPv6 without brackets", head + "network:\n  allow: [\"2001:db8::1\"]\n", []string{f + ":4:11", "brackets"}},
		{"bad host: IPv6 zone", head + "network:\n  allow: [\"[fe80::1%eth0]\"]\n", []string{f + ":4:11"}},
		{"bad host: empty", head + "network:\n  allow: [\"\"]\n", []string{f + ":4:11"}},
		{"bad host: space", head + "network:\n  allow: [\" example.com\"]\n", []string{f + ":4:11"}},
		{"bad host: trailing dot", head + "network:\n  allow: [\"example.com.\"]\n", []string{f + ":4:11"}},
		{"bad host: underscore", head + "network:\n  allow: [\"a_b.example.com\"]\n", []string{f + ":4:11"}},
		{"bad host: hyphen label", head + "network:\n  allow: [\"-a.example.com\"]\n", []string{f + ":4:11"}},
		{"bad env name", head + "env:\n  pass: [\"A-B\"]\n", []string{f + ":4:10"}},
		{"env name with a digit first", head + "env:\n  pass: [\"1A\"]\n", []string{f + ":4:10"}},
		{"env name with =", head + "env:\n  pass: [\"A=B\"]\n", []string{f + ":4:10"}},
		{"globbed secret", head + "env:\n  secrets: [OK_KEY, \"*_TOKEN\"]\n", []string{f + ":4:21", "without '*'"}},
		{"bad secret name", head + "env:\n  secrets: [\"MY KEY\"]\n", []string{f + ":4:13"}},
		{"set HOME", head + "env:\n  set:\n    HOME: /tmp\n", []string{f + ":5:11", "HOME"}},
		{"set PATH", head + "env:\n  set: {PATH: /evil}\n", []string{f + ":4:", "PATH"}},
		{"set TMPDIR", head + "env:\n  set: {TMPDIR: /evil}\n", []string{f + ":4:", "TMPDIR"}},
		{"set a glob", head + "env:\n  set: {\"A*\": x}\n", []string{f + ":4:"}},
		{"set an unknown variable", head + "env:\n  set:\n    A: \"${SECRET}\"\n", []string{f + ":5:8", "${SECRET}"}},
		{"set a list", head + "env:\n  set: [A]\n", []string{f + ":4:"}},
		{"bad size", head + "limits:\n  memory: 1XB\n", []string{f + ":4:"}},
		{"negative size", head + "limits:\n  memory: -1GiB\n", []string{f + ":4:"}},
		{"zero size", head + "limits: {file_size: 0}\n", []string{f + ":3:"}},
		{"huge size", head + "limits:\n  memory: 99999999999TiB\n", []string{f + ":4:"}},
		{"bad duration", head + "limits:\n  timeout: 2 minutes\n", []string{f + ":4:"}},
		{"duration without a unit", head + "limits:\n  cpu: 60\n", []string{f + ":4:"}},
		{"negative duration", head + "limits:\n  timeout: -5s\n", []string{f + ":4:"}},
		{"zero processes", head + "limits:\n  processes: 0\n", []string{f + ":4:14", "positive"}},
		{"negative open files", head + "limits:\n  open_files: -1\n", []string{f + ":4:15", "positive"}},
		{"processes a string", head + "limits:\n  processes: many\n", []string{f + ":4:"}},
	}
	docCheck(t, f, func(file string, b []byte) error { _, err := ParseManifest(file, b); return err }, cases)
}

func TestBadPolicies(t *testing.T) {
	const f = "policy.yaml"
	cases := []docCase{
		{"malformed YAML", "version: 1\nagent: {network: [\n", []string{f + ":"}},
		{"version missing", "agent: {}\n", []string{f, "version must be 1"}},
		{"version 0", "version: 0\n", []string{f + ":1:10"}},
		{"unknown key", "version: 1\ngrant: {}\n", []string{f + ":2:", "grant"}},
		{"unknown key under skills", "version: 1\nskills:\n  pdf:\n    grants: {}\n", []string{f + ":4:"}},
		{"unknown key under deny", "version: 1\ndeny:\n  files: {}\n", []string{f + ":3:"}},
		{"skills a list", "version: 1\nskills: [pdf]\n", []string{f + ":2:"}},
		{"default profile unknown", "version: 1\ndefault_profile: nope\n", []string{f + ":2:18", "nope"}},
		{"default profile the floor", "version: 1\ndefault_profile: floor\n", []string{f + ":2:18"}},
		{"unapproved unknown", "version: 1\nunapproved: allow\n", []string{f + ":2:13", "allow"}},
		{"skill root relative", "version: 1\nskill_roots: [skills]\n", []string{f + ":2:15"}},
		{"skill root glob", "version: 1\nskill_roots:\n  - \"${HOME}/skills/*\"\n", []string{f + ":3:5", "patterns"}},
		{"skill root dot-dot", "version: 1\nskill_roots: [\"${WORKSPACE}/../x\"]\n", []string{f + ":2:15"}},
		{"skill root unknown variable", "version: 1\nskill_roots: [\"${XDG}/skills\"]\n", []string{f + ":2:15"}},
		{"deny relative path", "version: 1\ndeny:\n  filesystem:\n    read: [secret]\n", []string{f + ":4:12"}},
		{"deny with limits", "version: 1\ndeny:\n  limits: {timeout: 1s}\n", []string{f + ":3:", "limits"}},
		{"deny with env.set", "version: 1\ndeny:\n  env:\n    set: {A: b}\n", []string{f + ":4:", "env.set"}},
		{"agent bad host", "version: 1\nagent:\n  network:\n    allow: [\"*\", \"a..b\"]\n", []string{f + ":4:18"}},
		{"agent set HOME", "version: 1\nagent: {env: {set: {HOME: /x}}}\n", []string{f + ":2:", "HOME"}},
		{"agent globbed secret", "version: 1\nagent: {env: {secrets: [\"AWS_*\"]}}\n", []string{f + ":2:", "without '*'"}},
		{"unsafe dot-dot", "version: 1\nunsafe:\n  filesystem:\n    read: [\"${HOME}/../root\"]\n", []string{f + ":4:12"}},
		{"skill name with a slash", "version: 1\nskills:\n  a/b: {}\n", []string{f + ":3:"}},
		{"skill name with a bidi character", "version: 1\nskills:\n  \"pdf\u202e\": {}\n", []string{f + ":3:"}},
		{"skill grant relative path", "version: 1\nskills:\n  pdf:\n    grant:\n      filesystem:\n        write: [\"out\"]\n", []string{f + ":6:17"}},
		{"skill grant unknown variable", "version: 1\nskills:\n  pdf:\n    grant: {filesystem: {read: [\"${CONFIG}/x\"]}}\n", []string{f + ":4:33", "${CONFIG}"}},
		{"skill grant bad host", "version: 1\nskills:\n  pdf:\n    grant: {network: {allow: [\"example.com:99999\"]}}\n", []string{f + ":4:31"}},
		{"skill grant globbed secret", "version: 1\nskills:\n  pdf:\n    grant:\n      env:\n        secrets: [\"*\"]\n", []string{f + ":6:19"}},
		{"skill deny with limits", "version: 1\nskills:\n  pdf:\n    deny: {limits: {memory: 1GiB}}\n", []string{f + ":4:", "limits"}},
		{"skill deny with env.set", "version: 1\nskills:\n  pdf:\n    deny: {env: {set: {A: b}}}\n", []string{f + ":4:"}},
		{"skill unsafe glob dir", "version: 1\nskills:\n  pdf:\n    unsafe: {filesystem: {read: [\"/a*/b\"]}}\n", []string{f + ":4:34"}},
		{"skill limits bad size", "version: 1\nskills:\n  pdf:\n    limits:\n      memory: lots\n", []string{f + ":5:"}},
		{"skill limits bad duration", "version: 1\nskills:\n  pdf:\n    limits: {timeout: forever}\n", []string{f + ":4:"}},
		{"skill limits zero processes", "version: 1\nskills:\n  pdf:\n    limits:\n      processes: 0\n", []string{f + ":5:18", "positive"}},
		{"skill limits unknown", "version: 1\nskills:\n  pdf:\n    limits: {threads: 2}\n", []string{f + ":4:"}},
	}
	docCheck(t, f, func(file string, b []byte) error { _, err := ParsePolicy(file, b); return err }, cases)
}

func TestBadLocks(t *testing.T) {
	const f = "skills.lock"
	entry := func(lines ...string) string {
		return "version: 1\nskills:\n  - " + strings.Join(lines, "\n    ") + "\n"
	}
	name, pth, dig := "name: pdf", "path: /home/u/.claude/skills/pdf", "digest: "+skDigest
	cases := []docCase{
		{"malformed YAML", "version: 1\nskills: [\n", []string{f + ":"}},
		{"version 2", "version: 2\n", []string{f + ":1:10"}},
		{"unknown key", "version: 1\nsigners: []\n", []string{f + ":2:"}},
		{"unknown entry key", entry(name, pth, dig, "trusted: true"), []string{f + ":6:"}},
		{"skills a map", "version: 1\nskills: {pdf: {}}\n", []string{f + ":2:"}},
		{"name missing", entry(pth, dig), []string{f, "skill folder name"}},
		{"name with a slash", entry("name: a/b", pth, dig), []string{f + ":3:11"}},
		{"name with a control character", entry("name: \"pdf\\u0007\"", pth, dig), []string{f + ":3:11"}},
		{"relative path", entry(name, "path: skills/pdf", dig), []string{f + ":4:11", "clean absolute"}},
		{"unclean path", entry(name, "path: /home/u/skills/../pdf", dig), []string{f + ":4:11"}},
		{"trailing slash", entry(name, "path: /home/u/pdf/", dig), []string{f + ":4:11"}},
		{"root path", entry(name, "path: /", dig), []string{f + ":4:11"}},
		{"duplicate path", "version: 1\nskills:\n  - name: pdf\n    path: /s/pdf\n    digest: " + skDigest +
			"\n  - name: pdf2\n    path: /s/pdf\n    digest: " + skOther + "\n", []string{f + ":7:11", "twice"}},
		{"digest missing", entry(name, pth), []string{f, "digest"}},
		{"digest without algorithm", entry(name, pth, "digest: "+strings.Repeat("ab", 32)), []string{f + ":5:13"}},
		{"digest upper case", entry(name, pth, "digest: sha256:"+strings.Repeat("AB", 32)), []string{f + ":5:13"}},
		{"digest short", entry(name, pth, "digest: sha256:abcd"), []string{f + ":5:13"}},
		{"digest md5", entry(name, pth, "digest: md5:"+strings.Repeat("ab", 16)), []string{f + ":5:13"}},
		{"negative files", entry(name, pth, dig, "files: -1"), []string{f + ":6:12"}},
		{"manifest without approved", entry(name, pth, dig, "manifest: true"), []string{f + ":6:15", "approved"}},
		{"approved without manifest", entry(name, pth, dig, "approved: {filesystem: {read: [/a]}}"), []string{f, "without a manifest"}},
		{"extends without manifest", entry(name, pth, dig, "extends: [python]"), []string{f, "without a manifest"}},
		{"extends unknown", entry(name, pth, dig, "manifest: true", "extends: [nope]", "approved: {}"), []string{f + ":7:15", "nope"}},
		{"approved relative path", entry(name, pth, dig, "manifest: true", "approved:", "  filesystem:", "    read: [x]"), []string{f + ":9:16"}},
		{"approved dot-dot", entry(name, pth, dig, "manifest: true", "approved: {filesystem: {write: [\"${SKILL_DIR}/..\"]}}"), []string{f + ":7:"}},
		{"approved bad host", entry(name, pth, dig, "manifest: true", "approved: {network: {allow: [\"http://x\"]}}"), []string{f + ":7:"}},
		{"approved globbed secret", entry(name, pth, dig, "manifest: true", "approved: {env: {secrets: [\"*_KEY\"]}}"), []string{f + ":7:"}},
		{"approved unknown key", entry(name, pth, dig, "manifest: true", "approved: {files: []}"), []string{f + ":7:"}},
		{"bad approval time", entry(name, pth, dig, "approved_at: yesterday"), []string{f + ":6:"}},
		{"manifest a string", entry(name, pth, dig, "manifest: maybe"), []string{f + ":6:"}},
	}
	docCheck(t, f, func(file string, b []byte) error { _, err := ParseLock(file, b); return err }, cases)
}

// Good documents parse, and a lock round-trips through Marshal.
func TestGoodDocuments(t *testing.T) {
	if _, err := ParseManifest(ManifestFile, []byte(skManifestDoc("python, git", skCaps))); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseManifest(ManifestFile, []byte("version: 1\nname: a\nfilesystem:\n  read: [\"${SKILL_DIR}/\", \"/etc/ssl/*.pem\", \"${CACHE}\"]\nnetwork:\n  allow: [\"[2001:db8::1]:443\", \"192.0.2.1\", \"*\", \"API.Example.com:8080\"]\nenv:\n  pass: [\"*\"]\n")); err != nil {
		t.Fatal(err)
	}
	pol := `version: 1
default_profile: agent
unapproved: refuse
skill_roots: ["${HOME}/skills", "/opt/skills"]
deny:  {filesystem: {read: ["${HOME}/work/secret"]}, network: {allow: ["*"]}, env: {pass: ["X_*"]}}
agent: {network: {allow: ["api.example.com:443"]}}
unsafe: {filesystem: {read: ["${HOME}/.ssh/known_hosts"]}}
skills:
  pdf-tools:
    grant: {env: {secrets: [EXAMPLE_API_KEY]}, network: {allow: ["api.example.com:443"]}}
    deny:  {network: {allow: ["*"]}}
    limits: {timeout: 60s, memory: 512MiB}
  empty:
`
	p, err := ParsePolicy("policy.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	if p.Skills["empty"] == nil {
		t.Error("an empty skill entry is nil")
	}
	l, err := ParseLock(LockFile, []byte(skLockDoc("python", skCaps)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	l2, err := ParseLock(LockFile, out)
	if err != nil {
		t.Fatalf("the marshalled lock does not parse: %v\n%s", err, out)
	}
	if len(l2.Skills) != 1 || l2.Skills[0].Digest != skDigest || l2.Skills[0].Approved == nil ||
		len(l2.Skills[0].Approved.Env.Secrets) != 1 || !l2.Skills[0].ApprovedAt.Equal(l.Skills[0].ApprovedAt) {
		t.Errorf("round trip: %+v", l2.Skills)
	}
}
