package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit statuses skillrun itself causes (design section 3); every other status is the command's.
const (
	exitFailed   = 125 // skillrun failed: bad usage or config, sandbox setup, missing kernel feature
	exitRefused  = 126 // refused by policy or integrity check, or not executable
	exitNotFound = 127 // command not found inside the sandbox
)

// cmdArgsKey holds the words after the first "--": the command, never parsed by skillrun.
const cmdArgsKey = "skillrun.command"

// runFlags are shared by running and planning a command.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "c", Usage: "run `STRING` with bash -c (sh if there is no bash)"},
		&cli.StringFlag{Name: "skill", EnvVars: []string{"SKILLRUN_SKILL"}, Usage: "attribute the command to skill `NAME`"},
		&cli.StringFlag{Name: "skill-dir", Usage: "attribute the command to the skill in `DIR`"},
		&cli.StringSliceFlag{Name: "profile", Aliases: []string{"p"},
			Usage: "run with built-in profile `NAME` (default: agent); a toolchain (go, node, python, rust, git, github) is added to the agent's view; repeat it or give a comma list"},
		&cli.StringFlag{Name: "workspace", Aliases: []string{"w"}, Usage: "the read-write workspace `DIR` (default: the git root containing the cwd, else the cwd)"},
		&cli.StringFlag{Name: "policy", EnvVars: []string{"SKILLRUN_POLICY"}, Usage: "developer policy `FILE` (default: $XDG_CONFIG_HOME/skillrun/policy.yaml)"},
		&cli.DurationFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "stop the command after `DURATION` (SIGTERM, then SIGKILL)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, EnvVars: []string{"SKILLRUN_QUIET"}, Usage: "no \"skillrun: blocked:\" lines after the command (the audit log still has them)"},
	}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "skillrun",
		Usage: "run an agent's or a skill's command with exactly its granted capabilities",
		UsageText: "skillrun [flags] -- CMD [ARGS...]\n" +
			"skillrun [flags] -c STRING\n" +
			"skillrun plan [flags] -- CMD [ARGS...]\n" +
			"skillrun learn [--skill NAME | --skill-dir DIR] [--allow-hosts] [--write] -- CMD [ARGS...]\n" +
			"skillrun doctor [--json]\n" +
			"skillrun skills [--json] | approve [--yes] NAME|DIR | verify [--all] [NAME...]\n" +
			"skillrun scan [--format text|json|sarif] DIR | sign --key KEY DIR\n" +
			"skillrun profiles [show NAME]\n" +
			"skillrun log [--json] [-f] [--skill NAME] [--denied] [--since WHEN]\n" +
			"skillrun hook claude|codex|gemini | integrate claude|codex|gemini [--print | --check]\n" +
			"skillrun completion bash|zsh|fish\n" +
			"skillrun-sh STRING                        (a link to skillrun: the same as skillrun -c STRING)",
		Description: "EXAMPLE:\n" +
			"   skillrun -- git status\n" +
			"   skillrun --timeout 2m -c 'make test 2>&1 | tail -n 20'\n\n" +
			"Exit status: the command's own; 128+N if signal N ended it; 125 if skillrun failed;\n" +
			"126 if refused or not executable; 127 if the command was not found in the sandbox.",
		Flags:  runFlags(),
		Action: runAction,
		Commands: []*cli.Command{planCommand, doctorCommand, skillsCommand, approveCommand, verifyCommand,
			scanCommand, signCommand, profilesCommand, logCommand, hookCommand, integrateCommand, completionCommand, learnCommand},
		Writer:                    stdout,
		ErrWriter:                 stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		ExitErrHandler: func(*cli.Context, error) {}, // runCLI maps errors to statuses
	}
	return app
}

// usageError is a command line skillrun could not understand.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// runCLI runs skillrun with args and returns the exit status. Everything after the first "--"
// is the command and is never parsed as skillrun flags.
func runCLI(args []string, stdin *os.File, stdout, stderr *os.File) int {
	own, command := splitCommand(args)
	app := newApp(stdout, stderr)
	app.Metadata = map[string]any{cmdArgsKey: command, "stdin": stdin, "stdout": stdout, "stderr": stderr}
	err := app.Run(own)
	if err == nil {
		return 0
	}
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	return report(stderr, err)
}

// splitCommand cuts args at the first "--".
func splitCommand(args []string) (own, command []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], append([]string{}, args[i+1:]...)
		}
	}
	return args, nil
}

// exitStatus carries a command's exit status out of an action.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// commandWords returns the command given after "--", or as plain arguments when there was no "--".
func commandWords(c *cli.Context) []string {
	if words, _ := c.App.Metadata[cmdArgsKey].([]string); words != nil {
		if c.Args().Present() {
			return append(c.Args().Slice(), words...)
		}
		return words
	}
	return c.Args().Slice()
}

func stdio(c *cli.Context) (in, out, errw *os.File) {
	return c.App.Metadata["stdin"].(*os.File), c.App.Metadata["stdout"].(*os.File), c.App.Metadata["stderr"].(*os.File)
}
