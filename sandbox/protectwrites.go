package sandbox

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/learn"
)

// BlockedWrite is a change the command asked for at or below a protected path that existed when
// the run started: its read-only bind refused it in the kernel (EROFS). The calls that change the
// file system notify the supervisor, which reads their paths and lets them continue (the mount
// decides), so a refusal an unprivileged watcher could never see is reported.
type BlockedWrite struct {
	// Path is what the command named; Entry the plan's protect line that covers it.
	Path  string `json:"path"`
	Entry string `json:"entry"`
	// Access is write, create or remove.
	Access string `json:"access"`
	Count  int    `json:"count"`
}

// writeWatch keeps what one run needs to report refused writes: the protected paths that exist
// (their binds refuse every change below them) and the recorder the supervisor fills.
type writeWatch struct {
	rec     *Recorder
	entries []protectedEntry
}

type protectedEntry struct{ path, line string }

// writeLogBytes bounds the paths a normal run keeps: a build that writes a million files keeps
// a folded record, which still names the protected paths it touched.
const writeLogBytes = 1 << 20

func newWriteWatch(plan *policy.Plan) *writeWatch {
	w := &writeWatch{rec: NewRecorder(writeLogBytes)}
	for _, line := range plan.Protect {
		paths := []string{line}
		if strings.ContainsAny(filepath.Base(line), "*?[") {
			paths, _ = filepath.Glob(line)
		}
		for _, p := range paths {
			if _, err := os.Lstat(p); err == nil {
				w.entries = append(w.entries, protectedEntry{p, line})
			}
		}
	}
	return w
}

// finish lists the recorded changes that fall at or below an existing protected path.
func (w *writeWatch) finish() []BlockedWrite {
	var out []BlockedWrite
	for _, e := range w.rec.Log().Entries() {
		access := ""
		switch {
		case e.Access&learn.Remove != 0:
			access = "remove"
		case e.Access&learn.Write != 0:
			access = "write"
		case e.Access&learn.Create != 0:
			access = "create"
		default:
			continue
		}
		for _, p := range w.entries {
			if e.Path == p.path || strings.HasPrefix(e.Path, p.path+"/") {
				out = append(out, BlockedWrite{Path: e.Path, Entry: p.line, Access: access, Count: max(e.Count, 1)})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
