package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy/scan"
)

var verifyCommand = &cli.Command{
	Name:      "verify",
	Usage:     "re-hash approved skills and check them against the lock and their signatures",
	UsageText: "skillrun verify [--all] [NAME...]",
	Description: "With --all, every discovered skill is checked, approved or not, and scanned again with\n" +
		"the current rules: for cron or CI. Exit status 126 on any problem.\n\nEXAMPLE:\n" +
		"   skillrun verify\n" +
		"   skillrun verify pdf-tools\n" +
		"   skillrun verify --all",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Usage: "check every discovered skill, and scan each again"},
		&cli.StringFlag{Name: "policy", EnvVars: []string{"SKILLRUN_POLICY"}, Usage: "developer policy `FILE` (signers, skill_roots)"},
		&cli.StringFlag{Name: "workspace", Aliases: []string{"w"}, Usage: "the workspace `DIR` whose skill folders to include"},
	},
	Action: verifyAction,
}

func verifyAction(c *cli.Context) error {
	d, pol, lock, found, err := inventory(c)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range c.Args().Slice() {
		want[n] = true
	}
	all := c.Bool("all")
	_, out, errw := stdio(c)
	bad, seen := 0, map[string]bool{}
	for i := range lock.Skills {
		s := &lock.Skills[i]
		if len(want) > 0 && !want[s.Name] {
			continue
		}
		seen[s.Name], seen[s.Path] = true, true
		listing, err := hashSkill(s.Path)
		switch {
		case err != nil:
			bad++
			fmt.Fprintf(out, "FAILED   %s  %s: %s\n", s.Name, s.Path, oneLine(errors.Unwrap(err).Error()))
			continue
		case listing.Digest() != s.Digest:
			bad++
			fmt.Fprintf(out, "MODIFIED %s  %s\n", s.Name, s.Path)
			report(errw, changeError(d, s.Name, s, listing))
			continue
		}
		signer, err := checkSignature(pol, s.Name, s.Path, s.Digest)
		if err == nil && s.Signer != "" && signer != s.Signer {
			err = fmt.Errorf("approved as signed by %s, now %s", s.Signer, orNone(signer))
		}
		if err != nil {
			bad++
			fmt.Fprintf(out, "SIGNATURE %s  %s: %s\n", s.Name, s.Path, oneLine(err.Error()))
			continue
		}
		if all {
			if n, ok := verifyScan(out, s.Name, s.Path); !ok {
				bad += n
				continue
			}
		}
		note := ""
		if signer != "" {
			note = ", signed by " + signer
		}
		fmt.Fprintf(out, "ok       %s  %s (%d files%s)\n", s.Name, s.Path, listing.Files(), note)
	}
	if all {
		for _, f := range found {
			if seen[f.Source] {
				continue
			}
			seen[f.Source] = true
			if _, ok := verifyScan(out, f.Name, f.Source); ok {
				fmt.Fprintf(out, "UNAPPROVED %s  %s\n", f.Name, f.Dir)
			}
			bad++
		}
	}
	for n := range want {
		if !seen[n] {
			bad++
			fmt.Fprintf(out, "UNKNOWN  %s  not in the lock\n", n)
		}
	}
	if bad > 0 {
		return withHints(exitRefused, fmt.Errorf("%d problem(s) found", bad), "review each, then: skillrun approve NAME")
	}
	return nil
}

// verifyScan scans a skill again; high or critical findings are a problem.
func verifyScan(w interface{ Write([]byte) (int, error) }, name, dir string) (int, bool) {
	rep, err := scanFolder(dir)
	if err != nil {
		fmt.Fprintf(w, "FAILED   %s  %s: cannot scan: %s\n", name, dir, oneLine(err.Error()))
		return 1, false
	}
	if n := rep.Count(scan.High); n > 0 {
		fmt.Fprintf(w, "FINDINGS %s  %s: %d high or critical (run: skillrun scan %s)\n", name, dir, n, dir)
		return 1, false
	}
	return 0, true
}
