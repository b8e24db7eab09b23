package main

import (
	"encoding/json"
	"fmt"
	"io"
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
	f.Enforced, f.NotEnforced = nonEmpty(f.Enforced), nonEmpty(f.NotEnforced)
	_, out, _ := stdio(c)
	if c.Bool("json") {
		b, _ := json.MarshalIndent(f, "", "  ")
		fmt.Fprintln(out, string(b))
	} else {
		doctorText(out, f)
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

// doctorText prints the facts for a person.
func doctorText(out io.Writer, f sandbox.Facts) {
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
	bullets(out, "a run enforces", f.Enforced, "none")
	bullets(out, "not yet enforced", f.NotEnforced, "none")
}

// bullets prints a titled list, one item a line; an empty list says none on the title line
// rather than leaving an empty item.
func bullets(out io.Writer, title string, items []string, none string) {
	kept := nonEmpty(items)
	if len(kept) == 0 {
		fmt.Fprintf(out, "%s: %s\n", title, none)
		return
	}
	fmt.Fprintf(out, "%s:\n", title)
	for _, it := range kept {
		fmt.Fprintf(out, "  - %s\n", it)
	}
}

// nonEmpty drops blank items; never nil, so JSON prints [] for an empty list.
func nonEmpty(items []string) []string {
	kept := []string{}
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			kept = append(kept, it)
		}
	}
	return kept
}
