package sandbox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// RunState is one run's place in the state root for a run that starts its command without
// libcontainer (package degraded): the lock that marks the run alive, and the files it keeps
// beside that lock, which the next run removes should this one be killed.
type RunState struct {
	st   *state
	runs string // the real path of the folder the run's files live in
}

// Files a run without namespaces keeps beside its lock, named by these suffixes to its id: its
// private home and tmp folders, and the exec step's spec. They are named here, where a dead run's
// files are removed (removeRunFiles), so nothing a killed run kept is missed.
const (
	RunHome = ".home"
	RunTmp  = ".tmp"
	RunSpec = ".spec"
)

// NewRunState reserves a run id under root, after cleaning up after runs that died.
func NewRunState(root string) (*RunState, error) {
	st, err := newState(root)
	if err != nil {
		return nil, err
	}
	runs, err := filepath.EvalSymlinks(filepath.Join(st.root, "runs"))
	if err != nil {
		st.release()
		return nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	return &RunState{st: st, runs: runs}, nil
}

// Dir is the folder that holds the run's lock and files.
func (r *RunState) Dir() string { return r.runs }

// Root is the state root the run was reserved in.
func (r *RunState) Root() string { return r.st.root }

// Path is the run's file with the given suffix (RunHome, RunTmp, RunSpec).
func (r *RunState) Path(suffix string) string { return filepath.Join(r.runs, r.st.id+suffix) }

// Swept is what the cleanup of runs that died undid at their missing protected paths: the run
// reports it as its own [Result.Blocked].
func (r *RunState) Swept() []BlockedCreation { return r.st.stale }

// Release removes everything the run kept, its lock last.
func (r *RunState) Release() { r.st.release() }

// removeDegradedFiles removes what a run without namespaces kept; the command may have left
// folders it made unwritable, so modes are fixed on the way (never following a symlink).
func removeDegradedFiles(runs, id string) {
	os.Remove(filepath.Join(runs, id+RunSpec))
	for _, d := range []string{RunHome, RunTmp} {
		removeTree(filepath.Join(runs, id+d))
	}
}

func removeTree(p string) {
	if err := os.RemoveAll(p); err == nil {
		return
	}
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = unix.Fchmodat(unix.AT_FDCWD, q, 0o700, 0)
		}
		return nil
	})
	_ = os.RemoveAll(p)
}
