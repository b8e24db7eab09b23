package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// Granted folders that do not exist yet. A writable grant strictly inside the workspace
// (policy.Mount.Create) names a skill's output folder: `write: ["${WORKSPACE}/dist"]` in a
// workspace without dist/ would otherwise bind nothing, and the skill's `mkdir dist` would fail
// on the read-only workspace. Such folders are created before the run, as the caller, one element
// at a time from the workspace down, never through a symlink and never outside the workspace
// (openat2 with RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS for each step, mkdirat for a missing
// one). They stay after the run: they hold the skill's output. When creating fails, every folder
// this call made is removed again. A missing grant anywhere else is skipped, and said so.

// GrantNote is a granted path the plan names that does not exist on the host.
type GrantNote struct {
	Path   string
	Origin string
	// Created says the folder was made for the run (PrepareGrants), or would be (CheckGrants).
	Created bool
	// Skipped says why the grant is not part of the run; empty when Created.
	Skipped string
}

// CheckGrants reports, without changing anything, the plan's granted paths that do not exist: the
// ones a run would create and the ones it would skip. An error says a run would be refused.
func CheckGrants(plan *policy.Plan) ([]GrantNote, error) {
	return grantFolders(plan, false)
}

// PrepareGrants creates the plan's missing folders marked for creation and reports them, with the
// missing grants it skips. On error nothing it made is left.
func PrepareGrants(plan *policy.Plan) ([]GrantNote, error) {
	return grantFolders(plan, true)
}

func grantFolders(plan *policy.Plan, create bool) ([]GrantNote, error) {
	var notes []GrantNote
	var undo undoList
	for _, m := range plan.Mounts {
		if m.Access == policy.Tmpfs || m.Source != "" || (!m.Create && !m.Grant) {
			continue
		}
		if !m.Create {
			if _, err := os.Lstat(m.Path); errors.Is(err, os.ErrNotExist) && m.Optional {
				notes = append(notes, GrantNote{Path: m.Path, Origin: m.Origin, Skipped: skipReason(plan, m)})
			}
			continue
		}
		made, err := makeBeneath(plan.Workspace, m, create, &undo)
		if err != nil {
			undo.run()
			return nil, err
		}
		if made {
			notes = append(notes, GrantNote{Path: m.Path, Origin: m.Origin, Created: true})
		}
	}
	undo.forget()
	return notes, nil
}

// skipReason says why a missing grant is not created.
func skipReason(plan *policy.Plan, m policy.Mount) string {
	switch {
	case !strings.HasPrefix(m.Path, plan.Workspace+"/"):
		return "it does not exist, and skillrun creates missing folders only inside the workspace"
	case m.Access != policy.ReadWrite:
		return "it does not exist, and only writable grants are created"
	default:
		return "it does not exist, and the floor keeps it from being created"
	}
}

// undoList removes the folders one call made, newest first, each by its parent's descriptor
// (never by a path a sandbox could have re-routed through a link since).
type undoList []struct {
	parent int
	name   string
}

func (u *undoList) run() {
	for i := len(*u) - 1; i >= 0; i-- {
		e := (*u)[i]
		unix.Unlinkat(e.parent, e.name, unix.AT_REMOVEDIR) // only if still empty
		unix.Close(e.parent)
	}
	*u = nil
}

func (u *undoList) forget() {
	for _, e := range *u {
		unix.Close(e.parent)
	}
	*u = nil
}

// makeBeneath walks from the workspace to m.Path, creating each missing folder when create is
// set, and reports whether anything was (or would be) missing.
func makeBeneath(ws string, m policy.Mount, create bool, undo *undoList) (bool, error) {
	rel, ok := strings.CutPrefix(m.Path, ws+"/")
	if !ok || rel == "" {
		return false, fmt.Errorf("%w: %s (%s) lies outside the workspace %s", ErrSetup, m.Path, m.Origin, ws)
	}
	dir, err := unix.Open(ws, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("%w: the workspace %s: %v", ErrSetup, ws, err)
	}
	defer func() { unix.Close(dir) }()
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS}
	// The whole path first: an existing file or folder is bound as it is (a grant may name a file).
	if fd, err := unix.Openat2(dir, rel, how); err == nil {
		unix.Close(fd)
		return false, nil
	}
	missing := false
	elems := strings.Split(rel, "/")
	done := ws
	for i, name := range elems {
		here := done + "/" + name
		fd, err := unix.Openat2(dir, name, how)
		if errors.Is(err, unix.ENOENT) {
			missing = true
			if !create {
				return true, nil // the rest is missing too; CheckGrants stops here
			}
			if err := unix.Mkdirat(dir, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return false, fmt.Errorf("%w: cannot create %s for the grant of %s (%s): %v", ErrGrantFolder, here, m.Path, m.Origin, err)
			} else if err == nil {
				parent, derr := unix.Dup(dir)
				if derr == nil {
					*undo = append(*undo, struct {
						parent int
						name   string
					}{parent, name})
				}
			}
			fd, err = unix.Openat2(dir, name, how)
		}
		switch {
		case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV):
			return false, fmt.Errorf("%w: %s (%s) passes through the symlink %s inside %s; a grant never follows links there: grant the real path", ErrLinkedGrant, m.Path, m.Origin, here, ws)
		case err != nil:
			return false, fmt.Errorf("%w: %s for the grant of %s (%s): %v", ErrGrantFolder, here, m.Path, m.Origin, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return false, fmt.Errorf("%w: %s: %v", ErrGrantFolder, here, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR && i < len(elems)-1 {
			unix.Close(fd)
			return false, fmt.Errorf("%w: %s is a file where the grant of %s (%s) needs a folder", ErrGrantFolder, here, m.Path, m.Origin)
		}
		unix.Close(dir)
		dir, done = fd, here
	}
	return missing, nil
}
