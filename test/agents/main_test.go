//go:build agents

// Package agents drives the real agent clients (Claude Code, Codex, Gemini CLI) against mock
// model APIs and checks that their shell commands run inside skillrun. The clients come from npm
// (make test-agents installs them); everything runs inside a network namespace the test creates,
// where only the loopback device exists, so no request can reach a real service.
package agents

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	skillrunBin string // the binary under test
	clientsDir  string // npm prefix holding node_modules/.bin/{claude,codex,gemini}
)

const inNetns = "SKILLRUN_AGENTS_NETNS"

func TestMain(m *testing.M) {
	skillrunBin, clientsDir = os.Getenv("SKILLRUN_BIN"), os.Getenv("SKILLRUN_AGENTS_DIR")
	if skillrunBin == "" || clientsDir == "" {
		fmt.Fprintln(os.Stderr, "SKILLRUN_BIN and SKILLRUN_AGENTS_DIR must be set: run make test-agents")
		os.Exit(1)
	}
	if os.Getenv(inNetns) != "1" {
		// Start again inside a new network namespace with only lo, up.
		args := []string{"-n"}
		if os.Geteuid() != 0 {
			args = append(args, "--map-current-user")
		}
		args = append(args, "--", "/bin/sh", "-c", `ip link set lo up && exec "$@"`, "sh")
		cmd := exec.Command("unshare", append(append(args, os.Args[0]), os.Args[1:]...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), inNetns+"=1")
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "entering a new network namespace:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	ifaces, _ := net.Interfaces()
	if len(ifaces) != 1 || ifaces[0].Name != "lo" {
		fmt.Fprintf(os.Stderr, "not in a network namespace of our own: %d interfaces\n", len(ifaces))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// identity is who runs the client: root, or the unprivileged SKILLRUN_TEST_USER.
type identity struct {
	name     string
	uid, gid int
	cred     *syscall.Credential
}

func identities(t *testing.T) []identity {
	if os.Geteuid() != 0 {
		t.Logf("not root: only the unprivileged variant runs")
		return []identity{{name: "user", uid: os.Getuid(), gid: os.Getgid()}}
	}
	name := os.Getenv("SKILLRUN_TEST_USER")
	if name == "" {
		name = "skillrun-test"
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("the unprivileged test user %q does not exist (make test-user creates it): %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return []identity{{name: "root"}, {name: "user", uid: uid, gid: gid,
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}}
}

// env is one identity's world: a home with a planted key, a workspace, XDG folders.
type env struct {
	t         *testing.T
	id        identity
	base      string
	home      string
	workspace string
	canary    string
	bin       string // a folder on PATH holding links to the clients
	clientEnv []string
}

func newEnv(t *testing.T, id identity) *env {
	base, err := os.MkdirTemp("", "skillrun-agents-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	t.Cleanup(func() { os.RemoveAll(base) })
	e := &env{t: t, id: id, base: base, home: filepath.Join(base, "home"), workspace: filepath.Join(base, "ws"),
		canary: "CANARY-" + strconv.FormatInt(time.Now().UnixNano(), 36), bin: filepath.Join(base, "bin")}
	e.mkdir(e.home, 0o755)
	e.mkdir(filepath.Join(base, "run"), 0o700)
	e.mkdir(e.workspace, 0o755)
	e.mkdir(filepath.Join(e.workspace, "sub"), 0o755)
	e.write(filepath.Join(e.workspace, "README"), "hello from the workspace\n", 0o644)
	e.mkdir(filepath.Join(e.home, ".ssh"), 0o700)
	e.write(filepath.Join(e.home, ".ssh", "id_ed25519"), e.canary+"\n", 0o600)
	e.mkdir(e.bin, 0o755)
	for _, c := range []string{"claude", "codex", "gemini"} {
		os.Symlink(filepath.Join(clientsDir, "node_modules", ".bin", c), filepath.Join(e.bin, c))
	}
	// A copy of skillrun the test may move away, as a user's install would be.
	e.mkdir(filepath.Join(base, "opt"), 0o755)
	b, err := os.ReadFile(skillrunBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.skillrun(), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// skillrun is this env's copy of the binary.
func (e *env) skillrun() string { return filepath.Join(e.base, "opt", "skillrun") }

func (e *env) mkdir(p string, mode os.FileMode) {
	e.t.Helper()
	if err := os.MkdirAll(p, mode); err != nil {
		e.t.Fatal(err)
	}
	os.Chmod(p, mode)
	e.chown(p)
}

func (e *env) write(p, content string, mode os.FileMode) {
	e.t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	e.chown(p)
}

func (e *env) chown(p string) {
	if e.id.cred != nil {
		if err := os.Lchown(p, e.id.uid, e.id.gid); err != nil {
			e.t.Fatal(err)
		}
	}
}

// chownAll gives everything under the home to the identity (files the test wrote as root).
func (e *env) chownAll() {
	if e.id.cred == nil {
		return
	}
	filepath.Walk(e.home, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, e.id.uid, e.id.gid)
		}
		return nil
	})
}

func (e *env) environ(extra ...string) []string {
	name := "root"
	if e.id.cred != nil {
		if u, err := user.LookupId(strconv.Itoa(e.id.uid)); err == nil {
			name = u.Username
		}
	}
	return append([]string{
		"HOME=" + e.home,
		"USER=" + name,
		"LOGNAME=" + name,
		"SHELL=/bin/bash",
		"PATH=" + e.bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"XDG_RUNTIME_DIR=" + filepath.Join(e.base, "run"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(e.home, ".local", "state"),
		"XDG_CACHE_HOME=" + filepath.Join(e.home, ".cache"),
		"LANG=C.UTF-8",
		"TERM=dumb",
		"NO_COLOR=1",
	}, extra...)
}

// run runs a program as the identity in the workspace and returns its combined output.
func (e *env) run(timeout time.Duration, env []string, name string, args ...string) (string, int) {
	e.t.Helper()
	e.chownAll()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if !filepath.IsAbs(name) {
		name = filepath.Join(e.bin, name)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.workspace
	cmd.Env = env
	cmd.Stdin = strings.NewReader("")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("%s: %v", name, err)
	}
	if ctx.Err() != nil {
		e.t.Fatalf("%s did not finish in %v:\n%s", name, timeout, out.String())
	}
	return out.String(), code
}

// auditRecord is the part of skillrun's audit record these tests read.
type auditRecord struct {
	Argv     []string `json:"argv"`
	Shell    *string  `json:"shell"`
	Client   string   `json:"client"`
	Decision string   `json:"decision"`
	ExitCode int      `json:"exit_code"`
}

func (e *env) audit() []auditRecord {
	e.t.Helper()
	f, err := os.Open(filepath.Join(e.home, ".local", "state", "skillrun", "audit.jsonl"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []auditRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			e.t.Fatalf("audit record: %v: %s", err, sc.Text())
		}
		out = append(out, r)
	}
	return out
}
