package policy

import "slices"

// sandboxPaths are the paths every sandbox has besides the plan's mounts: the Landlock ruleset
// must name them or the command could not use its terminal, /dev/null or /proc.
var sandboxPaths = []LandlockPath{
	// Listing any directory the sandbox shows (ls /, find, getcwd fallbacks); no file content.
	{Path: "/", Rights: []string{RightList}},
	{Path: "/dev", Rights: []string{RightRead, RightWrite, RightIoctl}},
	{Path: "/proc", Rights: []string{RightRead}},
	// POSIX message queues (mq_open) live on the IPC namespace's own mqueue file system.
	{Path: "/dev/mqueue", Rights: []string{RightRead, RightWrite}, Optional: true},
}

// MinLandlockABI is the least a plan needs: ABI 1 restricts reading, writing and executing by
// path, which is what the plan's paths say. A plan with hosts needs no more: Landlock's TCP rules
// (ABI 4) no longer take part in the network boundary (see confineFor), so nothing about the
// network depends on the kernel's Landlock ABI.
const MinLandlockABI = 1

// confineFor derives the command's Landlock ruleset and seccomp filter from the plan's view, so
// the kernel enforces the same paths a second time, below the mounts: a path the mounts show by
// accident (a /proc/1/root walk, a leaked descriptor's view) is still denied.
//
// Every plan allows TCP and UDP sockets (SeccompInet) and leaves TCP ports to the command: the
// sandbox's own network namespace holds nothing but its own lo, so a socket there reaches the
// command's own listeners (test servers: httptest, pytest fixtures, dev servers) and, with hosts,
// the egress proxy's socket, and nothing else; there is no route out, and egress passes only
// the proxy, which checks every destination. A Landlock connect rule to the proxy's port alone
// would add nothing but refuse the command its own loopback. Degraded mode, where no namespace
// exists, replaces this with a filter that refuses every inet socket (package sandbox).
func confineFor(p *Plan) Confine {
	c := Confine{Seccomp: SeccompInet, Landlock: Landlock{MinABI: MinLandlockABI}}
	for _, sp := range sandboxPaths {
		// A plan is its caller's to change: it must not share sandboxPaths' rights.
		sp.Rights = slices.Clone(sp.Rights)
		c.Landlock.Paths = append(c.Landlock.Paths, sp)
	}
	for _, m := range p.Mounts {
		rights := []string{RightRead}
		if m.Access != ReadOnly {
			rights = append(rights, RightWrite)
		}
		if m.Exec {
			rights = append(rights, RightExec)
		}
		c.Landlock.Paths = append(c.Landlock.Paths, LandlockPath{Path: m.Path, Rights: rights, Optional: m.Optional})
	}
	return c
}
