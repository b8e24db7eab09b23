package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

var skillsCommand = &cli.Command{
	Name:      "skills",
	Usage:     "list the skills skillrun finds, and whether each is approved and unchanged",
	UsageText: "skillrun skills [--json] [NAME|DIR...]",
	Description: "EXAMPLE:\n" +
		"   skillrun skills\n" +
		"   skillrun skills ./my-skill\n" +
		"   skillrun skills --json | jq '.[] | select(.state != \"approved\")'",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		&cli.StringFlag{Name: "policy", EnvVars: []string{"SKILLRUN_POLICY"}, Usage: "developer policy `FILE` (for its skill_roots)"},
		&cli.StringFlag{Name: "workspace", Aliases: []string{"w"}, Usage: "the workspace `DIR` whose skill folders to include"},
	},
	Action: skillsAction,
}

// skillStatus is one line of `skillrun skills`.
type skillStatus struct {
	policy.FoundSkill
	// State: approved, modified (since approval), unapproved, invalid (cannot be hashed or parsed).
	State    string `json:"state"`
	Manifest bool   `json:"manifest"`
	Digest   string `json:"digest,omitempty"`
	Files    int    `json:"files,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// inventory discovers the skills visible from the current directory.
func inventory(c *cli.Context) (dirs, *policy.DevPolicy, *policy.Lock, []policy.FoundSkill, error) {
	d, err := xdgDirs()
	if err != nil {
		return d, nil, nil, nil, err
	}
	cwd, err := unix.Getwd()
	if err != nil {
		return d, nil, nil, nil, err
	}
	ws, err := workspace(c.String("workspace"), cwd)
	if err != nil {
		return d, nil, nil, nil, err
	}
	pol, _, err := loadPolicy(c.String("policy"), d, ws)
	if err != nil {
		return d, nil, nil, nil, err
	}
	lock, err := loadLock(d)
	if err != nil {
		return d, nil, nil, nil, err
	}
	return d, pol, lock, policy.Discover(hostFS{}, policy.SkillRoots(d.home, ws, pol)), nil
}

func statusOf(lock *policy.Lock, f policy.FoundSkill) skillStatus {
	st := skillStatus{FoundSkill: f, State: "unapproved"}
	m, err := loadManifest(f.Source)
	st.Manifest = m != nil
	if err != nil {
		st.State, st.Problem = "invalid", oneLine(err.Error())
		return st
	}
	l, err := hashSkill(f.Source)
	if err != nil {
		st.State, st.Problem = "invalid", oneLine(err.Error())
		return st
	}
	st.Digest, st.Files = l.Digest(), l.Files()
	if locked := lock.Find(f.Source); locked != nil {
		st.State = "approved"
		if locked.Digest != st.Digest {
			st.State = "modified"
		}
	}
	return st
}

func skillsAction(c *cli.Context) error {
	_, _, lock, found, err := inventory(c)
	if err != nil {
		return err
	}
	if c.Args().Present() {
		var picked []policy.FoundSkill
		for _, arg := range c.Args().Slice() {
			f, err := resolveSkill("skills", arg, found)
			if err != nil {
				return err
			}
			picked = append(picked, *f)
		}
		found = picked
	}
	statuses := []skillStatus{}
	for _, f := range found {
		statuses = append(statuses, statusOf(lock, f))
	}
	_, out, _ := stdio(c)
	if c.Bool("json") {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(statuses)
	}
	if len(statuses) == 0 {
		fmt.Fprintln(out, "no skills found")
		return nil
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tMANIFEST\tFOLDER")
	for _, s := range statuses {
		state := s.State
		if state == "modified" {
			state = "modified since approval"
		}
		man := "yes"
		if !s.Manifest {
			man = "no (runs untrusted)"
		}
		folder := s.Dir
		if s.Source != s.Dir {
			folder += " -> " + s.Source
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, state, man, folder)
	}
	return tw.Flush()
}
