package test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestNoUserNamespacesFailsClosed simulates a machine where this user may not create user
// namespaces (a container runtime's seccomp profile, Ubuntu 24.04's AppArmor restriction): the
// probe starts skillrun under a filter that refuses CLONE_NEWUSER. A run by an ordinary user must
// then refuse with the diagnosis instead of running with less protection, and doctor must say so.
func TestNoUserNamespacesFailsClosed(t *testing.T) {
	var user *env
	for _, id := range identities(t) {
		if id.name == "user" {
			user = newEnv(t, id)
		}
	}
	runDenied := func(args ...string) result {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := user.command(ctx, args...)
		cmd.Path = probeBin
		cmd.Args = append([]string{probeBin, "no-userns", skillrunBin}, args...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Run()
		return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	}
	r := runDenied("--", "sh", "-c", "echo RAN")
	if r.code != 125 || strings.Contains(r.stdout, "RAN") ||
		!strings.Contains(r.stderr, "skillrun: error: required protection unavailable: user namespaces: creating one was refused (EPERM)") ||
		!strings.Contains(r.stderr, "skillrun: hint: ") {
		t.Fatalf("want a refusal with the diagnosis:\n%s", r)
	}
	r = runDenied("doctor")
	if r.code != 125 || !strings.Contains(r.stdout, "user namespaces:  no (creating one was refused (EPERM)") ||
		!strings.Contains(r.stderr, "skillrun: error: runs will fail closed") {
		t.Fatalf("doctor must report the missing feature and fail:\n%s", r)
	}
	user.assertNoState()
	if _, err := os.Stat(user.workspace + "/.claude"); err == nil {
		t.Errorf("the refused run left .claude behind")
	}
}

// TestNoCreationWatchFailsClosed: where fanotify is missing (the probe's filter fails
// fanotify_init with ENOSYS), missing protected paths cannot be held: a run refuses with the
// diagnosis, and doctor says so.
func TestNoCreationWatchFailsClosed(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		run := func(args ...string) result {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := e.command(ctx, args...)
			cmd.Path = probeBin
			cmd.Args = append([]string{probeBin, "no-fanotify", skillrunBin}, args...)
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.Run()
			return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
		}
		r := run("-c", "echo RAN; echo evil > CLAUDE.md")
		if r.code != 125 || strings.Contains(r.stdout, "RAN") ||
			!strings.Contains(r.stderr, "skillrun: error: required protection unavailable: watching missing protected paths: fanotify:") ||
			!strings.Contains(r.stderr, "skillrun: hint: ") {
			t.Fatalf("want a refusal with the diagnosis:\n%s", r)
		}
		if _, err := os.Lstat(e.workspace + "/CLAUDE.md"); err == nil {
			t.Errorf("the refused run made CLAUDE.md")
		}
		r = run("doctor")
		if !strings.Contains(r.stdout, "creation watch:   no (fanotify") {
			t.Errorf("doctor does not report the missing watch:\n%s", r)
		}
		e.assertNoState()
	})
}
