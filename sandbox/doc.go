// Package sandbox turns a [policy.Plan] into a running, confined process. It is the only part of
// skillrun that touches the kernel.
//
// # How a run works
//
// [Run] builds a libcontainer configuration from the plan: new mount, PID, IPC, UTS and network
// namespaces (loopback only), plus a user namespace when the caller is not root; a constructed root
// of read-only system binds, the workspace read-write with the floor's protected paths re-bound
// read-only on top, an empty tmpfs home, a private /tmp, a minimal /dev and a fresh /proc. It
// starts the container with the skillrun binary itself, bound read-only at [StagePath], as PID 1.
// That stage (package stage: C that runs before the Go runtime) confines and starts the command in
// a new session, forwards signals to it, reaps orphans, and exits with the command's status; when
// it exits, the kernel kills everything left in the PID namespace, and when skillrun dies the
// lifeline and the parent-death signal take the stage, and everything in the sandbox, with it.
//
// # State
//
// Each run keeps its libcontainer state and a lock under the state root ([StateRoot]). All runs
// share one root directory there: a skeleton of empty mount points that is never written to from
// inside (it is read-only in every sandbox), kept because creating and removing a fresh one costs
// dozens of file system operations per run. A run that was killed leaves them behind; the next run finds them by their
// unheld lock and destroys them.
package sandbox
