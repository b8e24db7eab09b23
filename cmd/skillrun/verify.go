package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

var verifyCommand = &cli.Command{
	Name:      "verify",
	Usage:     "re-hash approved skills and check them against the lock",
	UsageText: "skillrun verify [NAME...]",
	Description: "EXAMPLE:\n" +
		"   skillrun verify\n" +
		"   skillrun verify pdf-tools",
	Action: verifyAction,
}

func verifyAction(c *cli.Context) error {
	d, err := xdgDirs()
	if err != nil {
		return err
	}
	lock, err := loadLock(d)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range c.Args().Slice() {
		want[n] = true
	}
	_, out, errw := stdio(c)
	bad, seen := 0, map[string]bool{}
	for i := range lock.Skills {
		s := &lock.Skills[i]
		if len(want) > 0 && !want[s.Name] {
			continue
		}
		seen[s.Name] = true
		listing, err := hashSkill(s.Path)
		switch {
		case err != nil:
			bad++
			fmt.Fprintf(out, "FAILED   %s  %s: %s\n", s.Name, s.Path, oneLine(errors.Unwrap(err).Error()))
		case listing.Digest() != s.Digest:
			bad++
			fmt.Fprintf(out, "MODIFIED %s  %s\n", s.Name, s.Path)
			report(errw, changeError(d, s.Name, s, listing))
		default:
			fmt.Fprintf(out, "ok       %s  %s (%d files)\n", s.Name, s.Path, listing.Files())
		}
	}
	for n := range want {
		if !seen[n] {
			bad++
			fmt.Fprintf(out, "UNKNOWN  %s  not in the lock\n", n)
		}
	}
	if bad > 0 {
		return withHints(exitRefused, fmt.Errorf("%d skill(s) failed verification", bad), "review each, then: skillrun approve NAME")
	}
	return nil
}
