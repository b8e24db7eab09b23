package sandbox

import (
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// defaultOpenFiles bounds descriptors when the plan does not: the stage closes every descriptor
// above 2, and a finite limit keeps that cheap.
const defaultOpenFiles = 4096

// applyLimits turns the plan's limits into rlimits and cgroup resources. Memory and processes are
// sandbox-wide through cgroups as root; without root they fall back to per-process rlimits
// (RLIMIT_DATA; RLIMIT_NPROC, which counts per user namespace, so it bounds the sandbox's own
// processes). Nothing in the plan is ever dropped silently: a limit with no mechanism is an error.
func applyLimits(cfg *configs.Config, l policy.Limits, rootless bool) error {
	nofile := uint64(defaultOpenFiles)
	if l.OpenFiles > 0 && uint64(l.OpenFiles) < nofile {
		nofile = uint64(l.OpenFiles)
	}
	cfg.Rlimits = []configs.Rlimit{{Type: unix.RLIMIT_NOFILE, Soft: nofile, Hard: nofile}}
	if l.FileSize > 0 {
		cfg.Rlimits = append(cfg.Rlimits, configs.Rlimit{Type: unix.RLIMIT_FSIZE, Soft: uint64(l.FileSize), Hard: uint64(l.FileSize)})
	}
	if l.CPU > 0 {
		secs := uint64((time.Duration(l.CPU) + time.Second - 1) / time.Second)
		// SIGXCPU at the limit, SIGKILL a second later for a process that ignores it.
		cfg.Rlimits = append(cfg.Rlimits, configs.Rlimit{Type: unix.RLIMIT_CPU, Soft: secs, Hard: secs + 1})
	}
	res := cfg.Cgroups.Resources
	if l.Memory > 0 && !rootless {
		res.Memory = int64(l.Memory)
	} // rootless: RLIMIT_DATA, set by the stage just before execve (stage.Spec.DataLimit)
	if l.Processes > 0 {
		if rootless {
			// The stage and its helper count too.
			n := uint64(l.Processes) + 2
			cfg.Rlimits = append(cfg.Rlimits, configs.Rlimit{Type: unix.RLIMIT_NPROC, Soft: n, Hard: n})
		} else {
			n := int64(l.Processes) + 1
			res.PidsLimit = &n
		}
	}
	for _, r := range cfg.Rlimits {
		if r.Soft == 0 && r.Type != unix.RLIMIT_CORE {
			return fmt.Errorf("%w: a zero limit (%d) would stop every command", ErrSetup, r.Type)
		}
	}
	return nil
}

// dataLimit is the per-process memory limit of a rootless run, which has no cgroup.
func dataLimit(l policy.Limits, rootless bool) uint64 {
	if rootless && l.Memory > 0 {
		return uint64(l.Memory)
	}
	return 0
}
