package main

// Output rules: everything skillrun says goes to stderr (stdout belongs to the command) as
// "skillrun: error: …" followed by zero or more "skillrun: hint: …" lines, lowercase, no trailing
// period; a hint gives the exact command to run where there is one.

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/profiles"
	"github.com/skillrun/skillrun/sandbox"
)

// hinted is an error with the hints to print after it and the status to exit with.
type hinted struct {
	err    error
	status int
	hints  []string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

func withHints(status int, err error, hints ...string) error {
	return &hinted{err: err, status: status, hints: hints}
}

// report prints err with its hints and returns the exit status it calls for.
func report(w io.Writer, err error) int {
	status, hints := classify(err)
	fmt.Fprintf(w, "skillrun: error: %s\n", oneLine(err.Error()))
	for _, h := range hints {
		fmt.Fprintf(w, "skillrun: hint: %s\n", h)
	}
	return status
}

func classify(err error) (int, []string) {
	var h *hinted
	if errors.As(err, &h) {
		return h.status, h.hints
	}
	var u usageError
	switch {
	case errors.As(err, &u):
		return exitFailed, []string{"see the flags with: skillrun --help"}
	case errors.Is(err, profiles.ErrUnknown):
		return exitFailed, []string{"list the built-in profiles with: skillrun profiles; the default is agent"}
	case errors.Is(err, policy.ErrUnapproved):
		return exitRefused, []string{"review and approve it: skillrun approve NAME", "or let unapproved skills run untrusted: set unapproved: untrusted in your policy"}
	case errors.Is(err, policy.ErrModified):
		return exitRefused, []string{"review the changes, then approve it again: skillrun approve NAME"}
	case errors.Is(err, policy.ErrFloor):
		return exitFailed, []string{"the floor protects secrets and persistence targets; lift a line only under unsafe: in your policy, and every run will say so"}
	case errors.Is(err, policy.ErrAttribution):
		return exitRefused, []string{"name the skill explicitly: skillrun --skill NAME -- CMD"}
	case errors.Is(err, policy.ErrWorkspace):
		return exitFailed, []string{"run from inside your project, or name it: skillrun --workspace DIR -- CMD"}
	case errors.Is(err, policy.ErrUnprotectable):
		return exitFailed, []string{"rename it to a name in UTF-8 (or remove it), then run again: mv -- PATH NEWNAME"}
	case errors.Is(err, policy.ErrCwd):
		return exitFailed, []string{"cd into the workspace first, or name the directory you are in: skillrun --workspace \"$PWD\" -- CMD"}
	case errors.Is(err, sandbox.ErrLinkedGrant):
		return exitRefused, []string{"look at the link with: ls -l on the path named above; if it is yours, grant the folder it points to instead"}
	case errors.Is(err, sandbox.ErrGrantFolder):
		return exitFailed, []string{"the path named above must be a folder you may create: move a file standing in its way, or grant a path that is a folder"}
	case errors.Is(err, sandbox.ErrLandlock):
		return exitFailed, []string{"see what this machine can enforce with: skillrun doctor",
			"skillrun needs Landlock (Linux 5.13 or later, with landlock in the lsm= boot parameter)"}
	case errors.Is(err, sandbox.ErrCreateWatch):
		return exitFailed, []string{"see what this machine can enforce with: skillrun doctor",
			"skillrun holds missing protected paths with fanotify (Linux 5.13 or later, CONFIG_FANOTIFY); if marks ran out, raise them: sudo sysctl -w fs.fanotify.max_user_marks=65536"}
	case errors.Is(err, sandbox.ErrUserNamespace):
		return exitFailed, userNamespaceHints("your policy")
	case errors.Is(err, sandbox.ErrCgroup):
		return exitFailed, []string{"see what this machine can enforce with: skillrun doctor",
			"as root, memory and processes limits need the memory and pids cgroup controllers, mounted writable; or drop those limits in your policy (limits: memory, processes) to run without a cgroup"}
	case errors.Is(err, sandbox.ErrUnsupported):
		return exitFailed, []string{"see what this machine can enforce with: skillrun doctor",
			"allow unprivileged user namespaces (e.g. sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0), or run as root"}
	case errors.Is(err, sandbox.ErrState):
		return exitFailed, []string{"check the state directory named above, or point XDG_RUNTIME_DIR at a private directory you own"}
	case errors.Is(err, sandbox.ErrSetup):
		return exitFailed, []string{"see what this machine can enforce with: skillrun doctor", "rerun with SKILLRUN_DEBUG=1 for libcontainer's log"}
	}
	return exitFailed, nil
}

// oneLine keeps an error on one line: a multi-line message would break the output contract.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	return strings.TrimRight(s, ". ")
}
