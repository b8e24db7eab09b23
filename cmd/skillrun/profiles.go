package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/profiles"
)

var profilesCommand = &cli.Command{
	Name:      "profiles",
	Usage:     "list the built-in profiles, or show one",
	UsageText: "skillrun profiles\nskillrun profiles show NAME",
	Description: "EXAMPLE:\n" +
		"   skillrun profiles\n" +
		"   skillrun profiles show python",
	Action: profilesAction,
	Subcommands: []*cli.Command{{
		Name:      "show",
		Usage:     "print a built-in profile's YAML",
		UsageText: "skillrun profiles show NAME",
		Action:    profilesShowAction,
	}},
}

func profilesAction(c *cli.Context) error {
	_, out, _ := stdio(c)
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	for _, n := range profiles.Names() {
		p, err := policy.LoadProfile(n)
		if err != nil {
			return err
		}
		// A view shows the workspace and serves alone; a toolchain is added to one (--profile go).
		kind := "toolchain"
		if v, err := policy.IsView(n); err != nil {
			return err
		} else if v {
			kind = "view"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, kind, p.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nAn agent command runs with one view plus any toolchains: skillrun --profile go -- go test ./...")
	return nil
}

func profilesShowAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return withHints(exitFailed, errors.New("show takes one profile name"), "list them with: skillrun profiles")
	}
	if c.Args().First() == profiles.Floor {
		data, err := profiles.Get(profiles.Floor)
		if err != nil {
			return err
		}
		_, out, _ := stdio(c)
		_, err = out.Write(data)
		return err
	}
	if _, err := policy.LoadProfile(c.Args().First()); err != nil {
		return err
	}
	data, err := profiles.Get(c.Args().First())
	if err != nil {
		return err
	}
	_, out, _ := stdio(c)
	_, err = out.Write(data)
	return err
}
