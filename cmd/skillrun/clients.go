package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// prepareClientFiles creates the files an agent client's wrapper writes through the sandbox: the
// plan binds them, and a bind needs an existing file. Claude Code's cwd file lives in the host's
// /tmp, where another user could have planted a link: it must be a regular file of the caller's,
// with no other name (a hard link to ~/.bashrc would otherwise become writable).
func prepareClientFiles(req *policy.Request, plan *policy.Plan) error {
	f := policy.ClaudeCwdFile(req)
	if f == "" || plan.Profile != policy.ClaudeCodeProfile {
		return nil
	}
	fd, err := unix.Open(f, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot prepare Claude Code's cwd file %s: %v", f, err),
			"remove it if it is not yours, then rerun: rm "+f)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot prepare Claude Code's cwd file %s: %v", f, err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Getuid() || st.Nlink != 1 {
		return withHints(exitFailed, fmt.Errorf("refusing Claude Code's cwd file %s: not a regular file of yours with one name", f),
			"remove it if it is not yours, then rerun: rm "+f)
	}
	return nil
}
