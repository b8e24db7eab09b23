package landlock

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// childEnv carries the ruleset to a re-executed test binary: Landlock cannot be undone, so the
// test process itself never applies one.
const childEnv = "SKILLRUN_LANDLOCK_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		child(spec)
	}
	os.Exit(m.Run())
}

type childSpec struct {
	Rules policy.Landlock
	Ops   []string // "read PATH", "write PATH", "exec PATH", "mkdir PATH", "rename FROM TO", "tcp PORT"
}

// child applies the ruleset and prints one line per operation: "ok" or the errno.
func child(raw string) {
	var s childSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		panic(err)
	}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		panic(err)
	}
	if _, err := Apply(s.Rules, []int{0, 1, 2}); err != nil {
		os.Stdout.WriteString("apply: " + err.Error() + "\n")
		os.Exit(3)
	}
	for _, op := range s.Ops {
		f := strings.Fields(op)
		var err error
		switch f[0] {
		case "read":
			_, err = os.ReadFile(f[1])
		case "write":
			err = os.WriteFile(f[1], []byte("x"), 0o644)
		case "mkdir":
			err = os.Mkdir(f[1], 0o755)
		case "rename":
			err = os.Rename(f[1], f[2])
		case "exec":
			err = unix.Access(f[1], unix.X_OK) // not Landlock's business: check with a real exec
			if err == nil {
				err = exec.Command(f[1]).Run()
			}
		}
		if err != nil {
			os.Stdout.WriteString(op + ": " + errnoName(err) + "\n")
		} else {
			os.Stdout.WriteString(op + ": ok\n")
		}
	}
	os.Exit(0)
}

func errnoName(err error) string {
	for _, e := range []unix.Errno{unix.EACCES, unix.EPERM, unix.ENOENT, unix.EXDEV} {
		if strings.Contains(err.Error(), e.Error()) {
			return unix.ErrnoName(e)
		}
	}
	return err.Error()
}

func runChild(t *testing.T, s childSpec) string {
	t.Helper()
	b, _ := json.Marshal(s)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return string(out)
}

func TestApply(t *testing.T) {
	abi, err := ABI()
	if err != nil {
		t.Skipf("no Landlock on this kernel: %v", err)
	}
	dir := t.TempDir()
	ro, rw, hidden := filepath.Join(dir, "ro"), filepath.Join(dir, "rw"), filepath.Join(dir, "hidden")
	for _, d := range []string{ro, rw, hidden} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte("secret"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(ro, "run.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rules := policy.Landlock{MinABI: 1, Paths: []policy.LandlockPath{
		{Path: "/usr", Rights: []string{policy.RightRead, policy.RightExec}},
		{Path: "/bin", Rights: []string{policy.RightRead, policy.RightExec}, Optional: true},
		{Path: "/lib", Rights: []string{policy.RightRead, policy.RightExec}, Optional: true},
		{Path: "/lib64", Rights: []string{policy.RightRead, policy.RightExec}, Optional: true},
		{Path: "/etc", Rights: []string{policy.RightRead}},
		{Path: "/dev", Rights: []string{policy.RightRead, policy.RightWrite}}, // os/exec opens /dev/null
		{Path: ro, Rights: []string{policy.RightRead}},
		{Path: rw, Rights: []string{policy.RightRead, policy.RightWrite}},
		{Path: filepath.Join(dir, "missing"), Rights: []string{policy.RightRead}, Optional: true},
	}}
	out := runChild(t, childSpec{Rules: rules, Ops: []string{
		"read " + filepath.Join(ro, "f"),
		"write " + filepath.Join(ro, "f"),
		"read " + filepath.Join(hidden, "f"),
		"write " + filepath.Join(rw, "f"),
		"mkdir " + filepath.Join(rw, "d"),
		"mkdir " + filepath.Join(ro, "d"),
		"exec " + script,
		"exec /bin/true",
		"rename " + filepath.Join(rw, "f") + " " + filepath.Join(ro, "moved"),
	}})
	want := []string{
		"read " + filepath.Join(ro, "f") + ": ok",
		"write " + filepath.Join(ro, "f") + ": EACCES",
		"read " + filepath.Join(hidden, "f") + ": EACCES",
		"write " + filepath.Join(rw, "f") + ": ok",
		"mkdir " + filepath.Join(rw, "d") + ": ok",
		"mkdir " + filepath.Join(ro, "d") + ": EACCES",
		"exec " + script + ": EACCES",
		"exec /bin/true: ok",
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("want %q in:\n%s", w, out)
		}
	}
	// A rename out of the writable folder into a read-only one: EXDEV when the kernel handles
	// reparenting (ABI 2), EACCES before.
	if !strings.Contains(out, "moved: EXDEV") && !strings.Contains(out, "moved: EACCES") {
		t.Errorf("rename into a read-only folder was not refused (ABI %d):\n%s", abi, out)
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "f")); string(b) != "secret" {
		t.Errorf("read-only file changed: %q", b)
	}
}

func TestMinABIFailsClosed(t *testing.T) {
	abi, err := ABI()
	if err != nil {
		t.Skipf("no Landlock on this kernel: %v", err)
	}
	b, _ := json.Marshal(childSpec{Rules: policy.Landlock{MinABI: abi + 1}})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 3 || !strings.Contains(string(out), "needs Landlock ABI") {
		t.Fatalf("a plan above the kernel's ABI ran: %v\n%s", err, out)
	}
}

func TestUnknownRight(t *testing.T) {
	if _, err := rightsOf([]string{"fly"}); err == nil {
		t.Fatal("an unknown right was accepted")
	}
}

// TestCompileFor: what the host hands the C stage for each kernel ABI: the handled rights grow
// with the ABI, each rule keeps only handled rights, and a plan above the kernel fails closed.
func TestCompileFor(t *testing.T) {
	rs := policy.Landlock{MinABI: 1, DenyTCP: true, Paths: []policy.LandlockPath{
		{Path: "/usr", Rights: []string{policy.RightRead, policy.RightExec}},
		{Path: "/work", Rights: []string{policy.RightRead, policy.RightWrite}, Optional: true},
		{Path: "/dev", Rights: []string{policy.RightIoctl}},
	}}
	for _, tc := range []struct {
		abi                 int
		refer, trunc, ioctl bool
		net, scoped         bool
	}{
		{abi: 1},
		{abi: 2, refer: true},
		{abi: 3, refer: true, trunc: true},
		{abi: 4, refer: true, trunc: true, net: true},
		{abi: 5, refer: true, trunc: true, net: true, ioctl: true},
		{abi: 6, refer: true, trunc: true, net: true, ioctl: true, scoped: true},
		{abi: 99, refer: true, trunc: true, net: true, ioctl: true, scoped: true},
	} {
		c, err := compileFor(rs, tc.abi)
		if err != nil {
			t.Fatalf("ABI %d: %v", tc.abi, err)
		}
		has := func(m, bit uint64) bool { return m&bit != 0 }
		if c.ABI != min(tc.abi, MaxABI) || has(c.HandledFS, ll.AccessFSRefer) != tc.refer ||
			has(c.HandledFS, ll.AccessFSTruncate) != tc.trunc || has(c.HandledFS, ll.AccessFSIoctlDev) != tc.ioctl ||
			(c.HandledNet != 0) != tc.net || (c.Scoped != 0) != tc.scoped {
			t.Errorf("ABI %d: %+v", tc.abi, c)
		}
		for _, m := range append([]uint64{c.FileOnly, c.StdioRead, c.StdioWrite, c.StdioDevice}, c.Rules[0].Access, c.Rules[1].Access, c.Rules[2].Access) {
			if m&^c.HandledFS != 0 {
				t.Errorf("ABI %d: rights %#x outside the handled %#x", tc.abi, m, c.HandledFS)
			}
		}
		if !c.Rules[1].Optional || c.Rules[0].Optional || (c.Rules[2].Access != 0) != tc.ioctl {
			t.Errorf("ABI %d: rules %+v", tc.abi, c.Rules)
		}
	}
	if _, err := compileFor(policy.Landlock{MinABI: 4}, 3); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a plan above the kernel's ABI compiled: %v", err)
	}
}
