package main

import (
	"encoding/json"
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/landlock"
)

var planCommand = &cli.Command{
	Name:      "plan",
	Usage:     "print the plan a command would run with, and run nothing",
	UsageText: "skillrun plan [flags] -- CMD [ARGS...]",
	Description: "EXAMPLE:\n" +
		"   skillrun plan -- npm test\n" +
		"   skillrun plan --json --profile untrusted -c 'ls ~'",
	Flags:  append(runFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON instead of YAML"}),
	Action: planAction,
}

func planAction(c *cli.Context) error {
	req, err := buildRequest(c, true)
	if err != nil {
		return err
	}
	plan, err := compile(req)
	if err != nil {
		return err
	}
	// What this kernel enforces of the ruleset; a plan is otherwise independent of the machine.
	if abi, err := landlock.ABI(); err == nil {
		plan.Confine.Landlock.KernelABI = min(abi, landlock.MaxABI)
	}
	_, out, errw := stdio(c)
	// Granted paths that do not exist: what a run would create, and what it would skip.
	if notes, err := sandbox.CheckGrants(plan); err != nil {
		fmt.Fprintf(errw, "skillrun: warning: a run would be refused: %s\n", oneLine(err.Error()))
	} else {
		reportGrants(errw, notes, true, false)
	}
	b, err := json.MarshalIndent(struct {
		*policy.Plan
		Digest string `json:"digest"`
	}{plan, plan.Digest()}, "", "  ")
	if err != nil {
		return err
	}
	if !c.Bool("json") {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, string(b))
	return nil
}
