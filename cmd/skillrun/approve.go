package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/scan"
	"github.com/skillrun/skillrun/policy/trust"
)

var approveCommand = &cli.Command{
	Name:      "approve",
	Usage:     "review a skill's manifest and content, and pin it as approved",
	UsageText: "skillrun approve [--yes] NAME|DIR",
	Description: "EXAMPLE:\n" +
		"   skillrun approve pdf-tools\n" +
		"   skillrun approve --yes ~/.claude/skills/pdf-tools",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "approve without asking"},
		&cli.BoolFlag{Name: "accept-findings", Usage: "approve although the scan found high or critical problems"},
		&cli.StringFlag{Name: "policy", EnvVars: []string{"SKILLRUN_POLICY"}, Usage: "developer policy `FILE` (for its skill_roots)"},
		&cli.StringFlag{Name: "workspace", Aliases: []string{"w"}, Usage: "the workspace `DIR` whose skill folders to include"},
	},
	Action: approveAction,
}

func approveAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return withHints(exitFailed, errors.New("approve takes one skill name or folder"), "skillrun approve NAME|DIR")
	}
	d, pol, lock, found, err := inventory(c)
	if err != nil {
		return err
	}
	f, err := resolveSkill("approve", c.Args().First(), found)
	if err != nil {
		return err
	}
	man, err := loadManifest(f.Source)
	if err != nil {
		return withHints(exitRefused, err, "fix the manifest, or ask the skill's author to")
	}
	if man != nil && man.Name != f.Name {
		return withHints(exitRefused, fmt.Errorf("%s names the skill %q but its folder is %q", filepath.Join(f.Source, policy.ManifestFile), man.Name, f.Name))
	}
	listing, err := hashSkill(f.Source)
	if err != nil {
		return err
	}
	in, out, _ := stdio(c)
	fmt.Fprintf(out, "skill %s\n  folder   %s\n", f.Name, f.Dir)
	if f.Source != f.Dir {
		fmt.Fprintf(out, "  real     %s\n", f.Source)
	}
	fmt.Fprintf(out, "  content  %d files, %s\n", listing.Files(), listing.Digest())
	if man == nil {
		fmt.Fprintf(out, "  manifest none: the skill runs with the untrusted profile (reads the workspace, writes only a private /tmp, no network)\n")
	} else {
		fmt.Fprintln(out, "  it asks to:")
		for _, line := range policy.Describe(man) {
			fmt.Fprintf(out, "    - %s\n", line)
		}
	}
	prev := lock.Find(f.Source)
	if prev != nil && man != nil && prev.Manifest {
		if diff := policy.CapabilityDiff(prev.Extends, prev.Approved, man.Extends, &man.Capabilities); len(diff) > 0 {
			fmt.Fprintln(out, "  capabilities since the last approval:")
			for _, line := range diff {
				fmt.Fprintf(out, "    %s\n", line)
			}
		}
	}
	signer, err := checkSignature(pol, f.Name, f.Source, listing.Digest())
	if err != nil {
		return err
	}
	switch {
	case signer != "":
		fmt.Fprintf(out, "  signed by %s\n", signer)
	case pol.RequiresSignature(f.Name):
	default:
		fmt.Fprintf(out, "  signature none checked (no pinned signer for it in your policy)\n")
	}
	if prev != nil && prev.Signer != "" && prev.Signer != signer {
		fmt.Fprintf(out, "  SIGNER CHANGED: approved as signed by %s, now %s\n", prev.Signer, orNone(signer))
	}
	rep, err := scanFolder(f.Source)
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot scan %s: %v", f.Source, err))
	}
	if len(rep.Findings) == 0 {
		fmt.Fprintf(out, "  scan     no findings (%d files)\n", rep.Files)
	} else {
		fmt.Fprintf(out, "  scan     %d findings, the worst %s:\n", len(rep.Findings), rep.Max())
		for _, fd := range rep.Findings {
			loc := fd.File
			if fd.Line > 0 {
				loc = fmt.Sprintf("%s:%d", fd.File, fd.Line)
			}
			fmt.Fprintf(out, "    %-8s %s %s: %s\n", fd.Rule.Severity, fd.Rule.ID, loc, fd.Message)
		}
	}
	accepted := false
	if rep.Count(scan.High) > 0 {
		if !c.Bool("accept-findings") {
			return withHints(exitRefused, fmt.Errorf("%s was not approved: the scan found %d high or critical problems", f.Name, rep.Count(scan.High)),
				"read the findings above; if you are sure, approve anyway: skillrun approve --accept-findings "+c.Args().First())
		}
		accepted = true
	}
	if prev != nil && prev.Digest != listing.Digest() {
		if data, err := os.ReadFile(d.listingPath(prev.Digest)); err == nil {
			if old, err := trust.ParseListing(data); err == nil {
				ch := trust.Diff(old, listing)
				fmt.Fprintf(out, "  since the approval of %s: changed %d, added %d, removed %d files\n",
					prev.ApprovedAt.Format(time.RFC3339), len(ch.Changed), len(ch.Added), len(ch.Removed))
				for _, p := range []struct {
					what  string
					files []string
				}{{"changed", ch.Changed}, {"added", ch.Added}, {"removed", ch.Removed}} {
					for _, f := range p.files {
						fmt.Fprintf(out, "    %s %s\n", p.what, f)
					}
				}
			}
		}
	} else if prev != nil {
		fmt.Fprintf(out, "  already approved with this content on %s\n", prev.ApprovedAt.Format(time.RFC3339))
	}
	if !c.Bool("yes") {
		fmt.Fprintf(out, "approve %s? [y/N] ", f.Name)
		line, _ := bufio.NewReader(in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(out)
			return withHints(exitRefused, fmt.Errorf("%s was not approved", f.Name), "approve without the question with: skillrun approve --yes "+c.Args().First())
		}
	}
	entry := policy.LockedSkill{Name: f.Name, Path: f.Source, Digest: listing.Digest(), Files: listing.Files(),
		ApprovedAt: time.Now().UTC().Truncate(time.Second), Signer: signer, Scan: scanSummary(rep, accepted)}
	if man != nil {
		caps := man.Capabilities
		entry.Manifest, entry.Approved, entry.Extends = true, &caps, man.Extends
	}
	if err := os.MkdirAll(filepath.Dir(d.listingPath(entry.Digest)), 0o700); err != nil {
		return err
	}
	if err := writeAtomic(d.listingPath(entry.Digest), listing.Text()); err != nil {
		return err
	}
	if err := updateLock(d, func(l *policy.Lock) error { l.Put(entry); return nil }); err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot record the approval: %w", err))
	}
	fmt.Fprintf(out, "approved %s (%s)\n", f.Name, entry.Digest)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "nobody (unsigned)"
	}
	return s
}
