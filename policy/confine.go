package policy

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
// path, which is what the plan's paths say.
const MinLandlockABI = 1

// landlockTCPABI is the first Landlock ABI with TCP bind and connect rules: a plan with network
// needs it to limit connections to the proxy's port.
const landlockTCPABI = 4

// confineFor derives the command's Landlock ruleset and seccomp filter from the plan's view, so
// the kernel enforces the same paths a second time, below the mounts: a path the mounts show by
// accident (a /proc/1/root walk, a leaked descriptor's view) is still denied.
func confineFor(p *Plan) Confine {
	c := Confine{Seccomp: SeccompDefault, Landlock: Landlock{MinABI: MinLandlockABI}}
	if p.Network.Proxy != "" {
		// TCP sockets, and connections only to the proxy: nothing else is reachable anyway in
		// the sandbox's own network namespace, and this keeps it so on the loopback too.
		c.Seccomp = SeccompInet
		c.Landlock.ConnectTCP = []int{ProxyPort}
		c.Landlock.MinABI = landlockTCPABI // the connect rule is what keeps TCP to the proxy
	}
	c.Landlock.Paths = append(c.Landlock.Paths, sandboxPaths...)
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
