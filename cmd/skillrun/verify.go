package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/scan"
)

var verifyCommand = &cli.Command{
	Name:      "verify",
	Usage:     "re-hash approved skills and check them against the lock and their signatures",
	UsageText: "skillrun verify [--all] [NAME|DIR...]",
	Description: "With --all, every discovered skill is checked, approved or not, and scanned again with\n" +
		"the current rules: for cron or CI. Exit status 126 on any problem.\n\nEXAMPLE:\n" +
		"   skillrun verify\n" +
		"   skillrun verify pdf-tools\n" +
		"   skillrun verify ~/.claude/skills/pdf-tools\n" +
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
	// Each NAME|DIR names real folders; a name may mean an approval made from another
	// workspace, so the lock's own entries count as well as the skills found from here.
	want := map[string]bool{}
	var unknown []string
	var unapproved []policy.FoundSkill
	candidates := append(lockedAsFound(lock), found...)
	for _, arg := range c.Args().Slice() {
		matches, err := matchSkills(arg, candidates)
		if err != nil {
			unknown = append(unknown, fmt.Sprintf("%s  %s", arg, oneLine(err.Error())))
			continue
		}
		if len(matches) == 0 {
			unknown = append(unknown, arg+"  not in the lock and no skill of that name is found from here")
		}
		for _, f := range matches {
			want[f.Source] = true
			if lock.Find(f.Source) == nil {
				unapproved = append(unapproved, f)
			}
		}
	}
	filter := c.Args().Present()
	all := c.Bool("all")
	_, out, errw := stdio(c)
	bad, seen := 0, map[string]bool{}
	for i := range lock.Skills {
		s := &lock.Skills[i]
		if filter && !want[s.Path] {
			continue
		}
		seen[s.Path] = true
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
			if seen[f.Source] || filter && !want[f.Source] {
				continue
			}
			seen[f.Source] = true
			if _, ok := verifyScan(out, f.Name, f.Source); ok {
				fmt.Fprintf(out, "UNAPPROVED %s  %s\n", f.Name, f.Dir)
			}
			bad++
		}
	}
	for _, f := range unapproved {
		if seen[f.Source] {
			continue // --all has reported it
		}
		seen[f.Source] = true
		bad++
		fmt.Fprintf(out, "UNAPPROVED %s  %s\n", f.Name, f.Dir)
	}
	for _, u := range unknown {
		bad++
		fmt.Fprintf(out, "UNKNOWN  %s\n", u)
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
