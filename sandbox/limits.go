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

// applyLimits turns the plan's limits into rlimits. Memory and processes are sandbox-wide through
// cgroups as root ([sandboxCgroupLimits], cgroup.go); without root they fall back to per-process
// rlimits (RLIMIT_DATA; RLIMIT_NPROC, which counts per user namespace, so it bounds the sandbox's
// own processes). Nothing in the plan is ever dropped silently: a limit with no mechanism is an
// error.
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
	// rootless memory: RLIMIT_DATA, set by the stage just before execve (stage.Spec.DataLimit)
	if l.Processes > 0 && rootless {
		// The stage and its helper count too.
		n := uint64(l.Processes) + 2
		cfg.Rlimits = append(cfg.Rlimits, configs.Rlimit{Type: unix.RLIMIT_NPROC, Soft: n, Hard: n})
	}
	for _, r := range cfg.Rlimits {
		if r.Soft == 0 && r.Type != unix.RLIMIT_CORE {
			return fmt.Errorf("%w: a zero limit (%d) would stop every command", ErrSetup, r.Type)
		}
	}
	return nil
}

// cgroupLimits are the limits of a run that need a cgroup: they hold for the whole sandbox, not
// per process. The zero value asks for no cgroup at all.
type cgroupLimits struct {
	Memory int64 // memory.limit_in_bytes (v1) or memory.max (v2), bytes; 0: none
	Pids   int64 // pids.max; 0: none
}

// none says the run needs no cgroup.
func (c cgroupLimits) none() bool { return c.Memory == 0 && c.Pids == 0 }

// sandboxCgroupLimits are the plan's sandbox-wide limits: memory and processes as root. Without
// root there are none (the rlimits of applyLimits and the stage stand in), and so no cgroup.
func sandboxCgroupLimits(l policy.Limits, rootless bool) cgroupLimits {
	if rootless {
		return cgroupLimits{}
	}
	var c cgroupLimits
	if l.Memory > 0 {
		c.Memory = int64(l.Memory)
	}
	if l.Processes > 0 {
		c.Pids = int64(l.Processes) + 1 // the stage counts too
	}
	return c
}

// dataLimit is the per-process memory limit of a rootless run, which has no cgroup.
func dataLimit(l policy.Limits, rootless bool) uint64 {
	if rootless && l.Memory > 0 {
		return uint64(l.Memory)
	}
	return 0
}
