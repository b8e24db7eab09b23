package seccomp

import "slices"

// recorded are the syscalls skillrun learn watches (Options.Record): how a command names the
// files and programs it reaches. Each one the table allows notifies the supervisor, which reads
// the path from the caller's memory and lets the call continue unchanged
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE). The stat and access family is left out: glibc's fstat is
// newfstatat(fd, "", AT_EMPTY_PATH), which would make every fstat a round trip, and a file a
// command only stats is one it does not need to read.
var recorded = []string{"open", "openat", "openat2", "creat", "execve", "execveat", "mkdir", "mkdirat",
	"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
	"symlinkat", "truncate", "chdir"}

// IsRecorded says the syscall is one skillrun learn records.
func IsRecorded(name string) bool { return slices.Contains(recorded, name) }

func isRecorded(name string, r Rule) bool {
	return r.Action == Allow && len(r.Conds) == 0 && IsRecorded(name)
}
