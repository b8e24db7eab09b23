package seccomp

import (
	"slices"

	"golang.org/x/sys/unix"
)

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

// writeRecorded are the syscalls a normal run watches (Options.RecordWrites) to report writes
// refused at protected paths: a read-only bind refuses them with EROFS in the kernel, where no
// unprivileged watcher sees it. open and openat notify only when their flags ask to write,
// create or truncate (writeFlags); the others always change the file system.
var writeRecorded = []string{"creat", "openat2", "mkdir", "mkdirat", "unlink", "unlinkat", "rmdir", "rename",
	"renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "truncate"}

// writeFlags are the open flags that ask to change a file.
var writeFlags = []uint64{unix.O_WRONLY, unix.O_RDWR, unix.O_CREAT, unix.O_TRUNC}

// openFlagsArg is where open and openat take their flags.
var openFlagsArg = map[string]uint{"open": 1, "openat": 2}
