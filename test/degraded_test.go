package test

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDegradedMode simulates a machine where this user may not create user namespaces (as
// TestNoUserNamespacesFailsClosed does) with a policy that says `degraded: allow`: the command runs
// with Landlock, seccomp and rlimits alone, says so once, and the floor still holds.
func TestDegradedMode(t *testing.T) {
	e := unprivilegedEnv(t)
	e.setUserPolicy("version: 1\ndegraded: allow\n")
	e.extraEnv = append(e.extraEnv, "SKILLRUN_TEST_CANARY="+e.canary) // skillrun's own environment
	e.mkdir(filepath.Join(e.workspace, "src"), 0o755)
	e.mkdir(filepath.Join(e.workspace, ".claude"), 0o755)
	settings := filepath.Join(e.workspace, ".claude", "settings.json")
	e.write(settings, `{"hooks": {}}`+"\n", 0o644)
	protected := []string{settings, filepath.Join(e.workspace, ".git", "config")}
	before := hashProtected(t, protected)
	token := "skillrun-degraded-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	script := `
echo RAN
cat "$REALHOME/.ssh/id_ed25519" || echo HOME-SECRET-DENIED
cat "$REALHOME/.aws/credentials" || echo HOME-AWS-DENIED
ls "$REALHOME" || echo HOME-LIST-DENIED
[ "$HOME" != "$REALHOME" ] && echo > "$HOME/scratch" && echo PRIVATE-HOME-OK
echo > "$TMPDIR/scratch" && echo PRIVATE-TMP-OK
echo appended >> README && echo WS-WRITE-OK
echo new > src/new.txt && echo WS-CREATE-OK
echo evil > .claude/settings.json || echo SETTINGS-DENIED
echo evil > .git/hooks/pre-commit || echo HOOK-DENIED
echo evil >> .git/config || echo GITCONFIG-DENIED
mv .git/hooks .git/hooks-old || echo HOOKS-RENAME-DENIED
rm -rf .claude || echo CLAUDE-RM-DENIED
ln -s /tmp/x .git/hooks/post-checkout || echo HOOK-LINK-DENIED
python3 -c '
import socket
for fam, name in [(socket.AF_INET, "INET"), (socket.AF_INET6, "INET6"), (socket.AF_UNIX, "UNIX")]:
    try:
        socket.socket(fam, socket.SOCK_STREAM)
        print(name + "-OPEN")
    except OSError as e:
        print(name + "-REFUSED", e.errno)
a, b = socket.socketpair()
print("SOCKETPAIR-OK")
'
cat /proc/$PPID/environ || echo SUPERVISOR-ENV-DENIED
while read k v _; do [ "$k" = PPid: ] && pp=$v; done < /proc/$PPID/status
cat /proc/$pp/environ || echo SKILLRUN-ENV-DENIED
setsid nohup sh -c "sleep 1000 # ` + token + `" >/dev/null 2>&1 &
sh -c 'sh -c "sleep 1000 # ` + token + `" >/dev/null 2>&1 &'
sleep 0.3
echo DAEMONS-$(ps -eo args | grep -c "^[s]h -c sleep 1000 # ` + token + `")
echo DONE
`
	r := e.runWithoutUserNamespaces(time.Minute, "--", "env", "REALHOME="+e.home, "sh", "-c", script)
	e.noCanary(r)
	if r.code != 0 || !strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "DONE") {
		t.Fatalf("the command must run degraded:\n%s", r)
	}
	if n := strings.Count(r.stderr, "skillrun: warning: degraded: "); n != 1 {
		t.Errorf("the degraded warning must be printed exactly once, got %d:\n%s", n, r.stderr)
	}
	for _, want := range []string{"user namespaces are unavailable (creating one was refused (EPERM)",
		"running with Landlock, seccomp and rlimits only: ", "no network", "no entry can be created, removed or renamed directly in " + e.workspace} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the warning must say %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{"HOME-SECRET-DENIED", "HOME-AWS-DENIED", "HOME-LIST-DENIED", "PRIVATE-HOME-OK",
		"PRIVATE-TMP-OK", "WS-WRITE-OK", "WS-CREATE-OK", "SETTINGS-DENIED", "HOOK-DENIED", "GITCONFIG-DENIED",
		"HOOKS-RENAME-DENIED", "CLAUDE-RM-DENIED", "HOOK-LINK-DENIED", "INET-REFUSED", "INET6-REFUSED",
		"UNIX-REFUSED", "SOCKETPAIR-OK", "SUPERVISOR-ENV-DENIED", "SKILLRUN-ENV-DENIED", "DAEMONS-2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("want %s:\n%s", want, r)
		}
	}
	if b, err := os.ReadFile(filepath.Join(e.workspace, "README")); err != nil || !strings.Contains(string(b), "appended") {
		t.Errorf("the workspace write did not land: %q %v", b, err)
	}
	if after := hashProtected(t, protected); after != before {
		t.Errorf("a protected file changed")
	}
	for _, p := range []string{".git/hooks/pre-commit", ".git/hooks-old", ".git/hooks/post-checkout"} {
		if _, err := os.Lstat(filepath.Join(e.workspace, p)); err == nil {
			t.Errorf("%s was created", p)
		}
	}
	if waitFor(2*time.Second, func() bool { return !markerAlive(token) }) == false {
		t.Errorf("a process of the command outlived the run (%s)", token)
	}
	e.assertNoState()

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		r := e.runWithoutUserNamespaces(time.Minute, "--timeout", "1s", "--", "sh", "-c", `trap "" TERM; sleep 30 # `+token)
		if r.code != 137 || !strings.Contains(r.stderr, "skillrun: error: timed out after 1s") {
			t.Errorf("a command that ignores SIGTERM must be killed after the grace period:\n%s", r)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("the timeout took %s", d)
		}
		r = e.runWithoutUserNamespaces(time.Minute, "--timeout", "1s", "--", "sleep", "30")
		if r.code != 143 {
			t.Errorf("want 143 (SIGTERM):\n%s", r)
		}
		if !waitFor(2*time.Second, func() bool { return !markerAlive(token) }) {
			t.Errorf("a process outlived the timeout")
		}
		e.assertNoState()
	})

	t.Run("status", func(t *testing.T) {
		if r := e.runWithoutUserNamespaces(time.Minute, "--", "sh", "-c", "exit 7"); r.code != 7 {
			t.Errorf("want the command's status 7:\n%s", r)
		}
		if r := e.runWithoutUserNamespaces(time.Minute, "--", "sh", "-c", "kill -USR1 $$"); r.code != 128+10 {
			t.Errorf("want 138 (SIGUSR1):\n%s", r)
		}
	})

	t.Run("doctor", func(t *testing.T) {
		r := e.runWithoutUserNamespaces(time.Minute, "doctor")
		if r.code != 0 || !strings.Contains(r.stdout, "degraded mode:    allowed by") {
			t.Errorf("doctor must say runs go ahead degraded:\n%s", r)
		}
	})

	for _, pol := range []string{"version: 1\n", "version: 1\ndegraded: refuse\n"} {
		t.Run("refused/"+strings.TrimSpace(strings.ReplaceAll(pol, "\n", " ")), func(t *testing.T) {
			e.setUserPolicy(pol)
			r := e.runWithoutUserNamespaces(time.Minute, "--", "sh", "-c", "echo RAN")
			if r.code != 125 || strings.Contains(r.stdout, "RAN") || strings.Contains(r.stderr, "warning: degraded") ||
				!strings.Contains(r.stderr, "skillrun: error: required protection unavailable: user namespaces: creating one was refused (EPERM)") ||
				!strings.Contains(r.stderr, "skillrun: hint: or run without namespaces, with Landlock, seccomp and rlimits only: add the line `degraded: allow` to "+e.userPolicyPath()) {
				t.Errorf("want the refusal with a hint naming degraded: allow:\n%s", r)
			}
			r = e.runWithoutUserNamespaces(time.Minute, "doctor")
			if r.code != 125 || !strings.Contains(r.stdout, "degraded mode:    refused (add `degraded: allow` to") {
				t.Errorf("doctor must say degraded mode is refused:\n%s", r)
			}
			e.assertNoState()
		})
	}

	t.Run("bad policy value", func(t *testing.T) {
		e.setUserPolicy("version: 1\ndegraded: sometimes\n")
		r := e.runWithoutUserNamespaces(time.Minute, "--", "true")
		if r.code != 125 || !strings.Contains(r.stderr, e.userPolicyPath()+":2:11: degraded must be refuse or allow") {
			t.Errorf("want a positioned error:\n%s", r)
		}
	})
}

// unprivilegedEnv is the unprivileged user's environment for the degraded tests.
func unprivilegedEnv(t *testing.T) *env {
	for _, id := range identities(t) {
		if id.name == "user" {
			return newEnv(t, id)
		}
	}
	t.Fatal("no unprivileged identity")
	return nil
}

func (e *env) userPolicyPath() string {
	return filepath.Join(e.home, ".config", "skillrun", "policy.yaml")
}

func (e *env) setUserPolicy(doc string) {
	e.t.Helper()
	e.mkdir(filepath.Dir(filepath.Dir(e.userPolicyPath())), 0o755)
	e.mkdir(filepath.Dir(e.userPolicyPath()), 0o700)
	e.write(e.userPolicyPath(), doc, 0o600)
}

// runWithoutUserNamespaces runs skillrun where creating a user namespace is refused (see the probe's
// no-userns), as the env's identity.
func (e *env) runWithoutUserNamespaces(timeout time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := e.command(ctx, args...)
	cmd.Path = probeBin
	cmd.Args = append([]string{probeBin, "no-userns", skillrunBin}, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

func hashProtected(t *testing.T, files []string) string {
	t.Helper()
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(f + "\x00"))
		h.Write(b)
	}
	return string(h.Sum(nil))
}
