package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/sandbox"
)

var doctorCommand = &cli.Command{
	Name:        "doctor",
	Usage:       "show what this kernel and user can enforce, and what a run will get",
	UsageText:   "skillrun doctor [--json]",
	Description: "EXAMPLE:\n   skillrun doctor\n   skillrun doctor --json | jq .enforced",
	Flags:       []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
	Action:      doctorAction,
}

func doctorAction(c *cli.Context) error {
	f := sandbox.Probe()
	_, out, _ := stdio(c)
	if c.Bool("json") {
		b, _ := json.MarshalIndent(f, "", "  ")
		fmt.Fprintln(out, string(b))
	} else {
		yesno := func(ok bool, note string) string {
			s := "no"
			if ok {
				s = "yes"
			}
			if note != "" {
				s += " (" + note + ")"
			}
			return s
		}
		fmt.Fprintf(out, "kernel:           %s\n", f.Kernel)
		fmt.Fprintf(out, "running as root:  %s\n", yesno(f.Root, fmt.Sprintf("uid %d", f.UID)))
		fmt.Fprintf(out, "landlock:         ABI %d, %s\n", f.LandlockABI, f.Landlock)
		fmt.Fprintf(out, "seccomp:          %s, user notification: %s\n", yesno(f.Seccomp, f.SeccompNote), yesno(f.SeccompNotif, ""))
		fmt.Fprintf(out, "user namespaces:  %s\n", yesno(f.UserNS, f.UserNSNote))
		fmt.Fprintf(out, "masked reads:     %s\n", yesno(f.MaskWatch, f.MaskWatchNote))
		fmt.Fprintf(out, "creation watch:   %s\n", yesno(f.CreateWatch, f.CreateWatchNote))
		fmt.Fprintf(out, "cgroups:          %s, %s\n", f.Cgroup, f.CgroupNote)
		fmt.Fprintf(out, "state directory:  %s\n", f.StateRoot)
		fmt.Fprintf(out, "a run enforces:\n  - %s\n", strings.Join(f.Enforced, "\n  - "))
		fmt.Fprintf(out, "not yet enforced:\n  - %s\n", strings.Join(f.NotEnforced, "\n  - "))
	}
	if !f.Root && !f.UserNS && f.LandlockABI > 0 && f.Seccomp {
		return doctorDegraded(out, f, !c.Bool("json")) // degraded.go: does the policy allow runs without namespaces?
	}
	if !f.Ready {
		return withHints(exitFailed, fmt.Errorf("runs will fail closed: %s", f.Problem),
			"allow unprivileged user namespaces (e.g. sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0), or run as root")
	}
	return nil
}
