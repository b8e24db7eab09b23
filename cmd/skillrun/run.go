package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
)

// runAction is the root command: skillrun [flags] -- CMD [ARGS...] | -c STRING.
func runAction(c *cli.Context) error {
	req, err := buildRequest(c)
	if err != nil {
		return err
	}
	plan, err := policy.Compile(req)
	if err != nil {
		return err
	}
	in, out, errw := stdio(c)
	res, err := sandbox.Run(plan, sandbox.Options{Stdin: in, Stdout: out, Stderr: errw})
	if err != nil {
		return err
	}
	if res.TimedOut {
		fmt.Fprintf(errw, "skillrun: error: timed out after %s; the sandbox was stopped\n", time.Duration(plan.Limits.Timeout))
		fmt.Fprintf(errw, "skillrun: hint: give it longer with --timeout, e.g. skillrun --timeout %s -- ...\n", 2*time.Duration(plan.Limits.Timeout))
	}
	if res.ExitCode != 0 {
		return exitStatus(res.ExitCode)
	}
	return nil
}
