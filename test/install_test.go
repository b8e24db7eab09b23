package test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeInstall runs make install with a DESTDIR, checks the layout a packager and the shells
// expect, runs the installed skillrun-sh as every identity, and make uninstall removes it all.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("make is not installed: %v", err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dest, err := os.MkdirTemp("", "skillrun-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dest)
	os.Chmod(dest, 0o755)
	runMake := func(target string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "make", "-C", repo, "--no-print-directory", target, "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	runMake("install")

	got := map[string]string{}
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dest || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		fi, _ := os.Lstat(p)
		got[rel] = fi.Mode().String()
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			got[rel] += " -> " + target
		}
		return nil
	})
	want := map[string]string{
		"usr/bin/skillrun":                                  "-rwxr-xr-x",
		"usr/bin/skillrun-sh":                               "Lrwxrwxrwx -> skillrun",
		"usr/share/bash-completion/completions/skillrun":    "-rw-r--r--",
		"usr/share/zsh/site-functions/_skillrun":            "-rw-r--r--",
		"usr/share/fish/vendor_completions.d/skillrun.fish": "-rw-r--r--",
	}
	if !equalMaps(got, want) {
		t.Fatalf("installed:\n%s\nwant:\n%s", listMap(got), listMap(want))
	}
	bin := filepath.Join(dest, "usr", "bin", "skillrun")
	for file, shell := range map[string]string{"bash-completion/completions/skillrun": "bash", "zsh/site-functions/_skillrun": "zsh", "fish/vendor_completions.d/skillrun.fish": "fish"} {
		installed, _ := os.ReadFile(filepath.Join(dest, "usr", "share", file))
		fresh, err := exec.Command(bin, "completion", shell).Output()
		if err != nil || len(installed) == 0 || string(installed) != string(fresh) || !strings.Contains(string(installed), "approve") {
			t.Errorf("%s: the installed completion is not the binary's own (%v)", file, err)
		}
	}

	forEachIdentity(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(dest, "usr", "bin", "skillrun-sh"), `echo "as $0: $(cat README)"; cat ~/.ssh/id_ed25519 2>&1 | head -c 200`)
		cmd.Dir, cmd.Env = e.workspace, e.environ()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "hello from the workspace") {
			t.Fatalf("the installed skillrun-sh: %v\n%s", err, out)
		}
		if strings.Contains(string(out), e.canary) {
			t.Fatalf("the installed skillrun-sh ran outside the sandbox:\n%s", out)
		}
	})

	runMake("uninstall")
	var left []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return err
	})
	if len(left) > 0 {
		t.Errorf("make uninstall left: %q", left)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func listMap(m map[string]string) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, "  "+v+" "+k)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
