// Package sandbox turns a [policy.Plan] into a running, confined process. It is the host side of
// the sandbox: it builds the sandbox, starts the command in it, watches it while it runs and
// takes it all down afterwards. With the packages below it, it is the only part of skillrun that
// touches the kernel.
//
// # The layers
//
// Each layer has a folder of its own:
//   - sandbox (this package): the host side, from the plan to libcontainer's configuration, the
//     run, its supervision and its teardown, and the state directory;
//   - sandbox/stage: the in-sandbox stage, the sandbox's PID 1, which confines and executes the
//     command; C that a constructor runs before the Go runtime starts;
//   - sandbox/landlock: the plan's file-system rules, compiled here for the kernel's Landlock ABI
//     and applied by the stage to the command;
//   - sandbox/seccomp: the syscall table and its classic BPF programs, compiled at build time
//     into the binary (a run only picks one), and the syscalls whose refusals it reports;
//   - sandbox/netproxy: the egress proxy, the only way out of a sandbox whose plan allows hosts;
//   - sandbox/degraded: the run without any namespace, for a user who may not create them and a
//     policy that allows it;
//   - sandbox/wstree: what in a workspace needs protecting (nested repositories, CLAUDE.md);
//   - sandbox/trace: the phases of a run in milliseconds, for the benchmarks.
//
// # From plan to configuration
//
// [Run] builds a libcontainer configuration from the plan (config.go): new mount, PID, IPC, UTS
// and network namespaces (loopback only), plus a user namespace when the caller is not root; a
// constructed root of read-only system binds, the workspace read-write with the floor's
// protected paths re-bound read-only on top, an empty tmpfs home, a private /tmp, a minimal /dev
// and a fresh /proc. Around those binds:
//   - masked paths are covered by an empty object of the run's own, which fanotify watches to
//     report reads (maskwatch.go);
//   - a protected path that does not exist yet is watched, and whatever the command makes there
//     is undone and reported (createguard.go); a symlink at or above a protected path is never
//     followed on the host but covered by an empty read-only file (cover.go);
//   - a verified skill folder is never bound: a hook copies it into a private tmpfs while hashing
//     it, so the command runs exactly the bytes that were checked (snapshot.go);
//   - the plan's limits become rlimits, and as root cgroup limits for the whole sandbox
//     (limits.go).
//
// # A run
//
// [Run] checks first that the kernel can enforce the plan (Landlock ABI, seccomp, user namespaces)
// and fails closed when it cannot. It takes the seccomp program built for the plan's options,
// reserves the run's state, creates the container and starts it with the skillrun binary itself,
// bound read-only at [StagePath], as its init: runc's init pivots into the root and executes
// `skillrun __stage SPEC WORDS...`, and the C stage takes over before any Go runs. The spec is
// everything the stage must not decide for itself, computed here: the Landlock rights for this
// kernel's ABI, the seccomp program, the descriptors it inherits and the inodes of the mounts it
// must find in place. The stage starts the command confined in a new session, forwards signals to
// it, reaps orphans, and exits with the command's status.
//
// While the command runs, Run forwards the caller's signals, enforces the timeout (SIGTERM to the
// sandbox, SIGKILL after [KillGrace]), serves the egress proxy on the listener the stage handed
// over ([Egress]), and answers the seccomp notifications of the syscalls the filter reports: the
// refusals it observed (notify.go), the writes that protected paths refused (protectwrites.go),
// and a learning run's file accesses (record.go). When the stage exits, the kernel kills
// everything left in the PID namespace; Run then destroys the container and its cgroups and
// releases the run's state, so nothing of the run is left when it returns. When skillrun itself
// dies, the stage's lifeline (a pipe whose write end only skillrun holds) and the parent-death
// signal take the stage, and everything in the sandbox, with it.
//
// As root, a plan's memory and process limits hold for the whole sandbox through cgroups that
// skillrun makes for the run in just the hierarchies they need, and that the sandbox is born in
// (cgroup.go); without root they are rlimits, and a run joins no cgroup of its own.
//
// # State
//
// Runs keep their state under the state root ([StateRoot]): runs/ holds each run's lock, held for
// its whole life, and beside it the files the run needs on the host (the empty file that covers
// symlinks, the mask objects, degraded mode's private home, tmp and spec: [RunState]); containers/
// holds libcontainer's state of each run; quarantine/ what the creation guard moved away from a
// protected path. All runs share one root directory, rootfs/: a skeleton of empty mount points
// that is never written to from inside (it is read-only in every sandbox), kept because creating
// and removing a fresh one costs dozens of file system operations per run. A run that was killed
// leaves its files behind; the next run finds them by their unheld lock and destroys them,
// container and cgroups included.
package sandbox
