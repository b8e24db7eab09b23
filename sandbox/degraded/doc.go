// Package degraded runs a plan's command without any namespace, confined by Landlock, seccomp
// and rlimits alone: degraded mode.
//
// # When it runs
//
// Only for an unprivileged user who may not create user namespaces (Ubuntu 24.04's AppArmor
// restriction, a container's seccomp profile), so that [sandbox.Run] fails with
// [sandbox.ErrUserNamespace], and only when the developer policy says `degraded: allow` (the CLI
// checks that before it calls [Run]). [Run] refuses root, who needs no user namespace, and a
// machine where user namespaces work after all. It needs Landlock ABI [MinABI] and seccomp
// ([Support]); without them it fails closed too. Every run says so once on stderr, naming what
// it loses.
//
// # What it keeps and what it loses
//
// What the namespaces did is taken over where it can be:
//   - the plan's view becomes a Landlock ruleset over the host's own paths (translateHost). Its
//     rights add up down the tree, so a writable folder that holds a protected or masked path
//     keeps only what every path below it may have, and each of its entries gets a rule of its
//     own: nothing can be created directly in such a folder. The empty home and the private /tmp
//     become folders of the run in the state directory ([sandbox.RunState]);
//   - Landlock's signal and abstract-unix-socket scopes (ABI 6) stand in for the PID and network
//     namespaces;
//   - the seccomp filter refuses every AF_INET/AF_INET6 socket whatever the plan allows (there is
//     no network namespace, so no proxy), and socket(AF_UNIX), datagram socketpairs, System V
//     IPC and other processes' prlimit64, which the host's namespaces would expose
//     (seccomp.Options.HostNamespaces);
//   - a supervisor ([Main], a child subreaper in its own session) stands in for the PID
//     namespace's init: it forwards signals to the command's process group and, when the command
//     ends, when the timeout's grace runs out or when skillrun dies (its lifeline breaks), kills
//     every process the command left behind, daemons included;
//   - a verified skill folder runs from where it lies, hashed just before the run
//     ([sandbox.VerifyFolders]) rather than copied.
//
// What it cannot give: the network the plan allows; a private copy of a verified folder, so the
// race between the check and the run stays open; privacy for the names, sizes, modes and times
// of files outside the grants, and a stop to chmod, chown, utimes and xattrs on them (Landlock
// does not cover them); a /proc without the host's processes; memory and CPU limits for the
// whole tree (they are per process); a process limit of its own (it counts every process of the
// user).
//
// # The exec step
//
// The process tree is: skillrun ([Run]) → supervisor (skillrun __degraded, [Main]) → exec step
// (skillrun __exec, [ExecMain]) → the command. The host writes the exec step's spec (argv,
// working directory, ruleset, the seccomp program compiled at build time, rlimits) to a file in
// the run's state directory. The exec step runs on one locked thread: it marks every descriptor
// above stderr close-on-exec (Landlock does not restrict descriptors opened before it), sets
// no_new_privs and the rlimits, finds the program, applies the Landlock ruleset and then the
// seccomp program to itself, sets the memory limit last (loading the filter allocates) and
// executes the command, so nothing runs between the confinement and the command. A spec without
// its seccomp program is refused rather than run unfiltered.
//
// In a sandbox none of this runs: the in-sandbox stage (package stage) does the exec step's work
// there, in C, before the Go runtime starts.
package degraded
