package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/scan"
)

var scanCommand = &cli.Command{
	Name:      "scan",
	Usage:     "static analysis of a skill folder: hidden execution, credentials, redirection, persistence, exfiltration, smuggling",
	UsageText: "skillrun scan [--format text|json|sarif] [--fail-on SEVERITY] NAME|DIR",
	Description: "Exit status: 0 clean, 1 findings at or above --fail-on, 2 error.\n\nEXAMPLE:\n" +
		"   skillrun scan ~/.claude/skills/pdf-tools\n" +
		"   skillrun scan --format sarif --fail-on medium ./my-skill > scan.sarif",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or sarif"},
		&cli.StringFlag{Name: "fail-on", Value: "high", Usage: "exit 1 on findings at or above `SEVERITY` (info, low, medium, high, critical)"},
		&cli.StringFlag{Name: "policy", EnvVars: []string{"SKILLRUN_POLICY"}, Usage: "developer policy `FILE` (for its skill_roots, to find a NAME)"},
		&cli.StringFlag{Name: "workspace", Aliases: []string{"w"}, Usage: "the workspace `DIR` whose skill folders to include, to find a NAME"},
	},
	Action: scanAction,
}

// scanError is scan's own contract: 2 for an error, whatever the error.
const scanError = 2

// version names this build in reports other tools read (SARIF).
const version = "0.1.0"

func scanAction(c *cli.Context) error {
	_, out, errw := stdio(c)
	fail := func(err error, hints ...string) error {
		report(errw, withHints(scanError, err, hints...))
		return exitStatus(scanError)
	}
	if c.NArg() != 1 {
		return fail(errors.New("scan takes one skill name or folder"), "skillrun scan NAME|DIR")
	}
	min, err := scan.ParseSeverity(c.String("fail-on"))
	if err != nil {
		return fail(err, "give one of info, low, medium, high, critical")
	}
	format := c.String("format")
	if format != "text" && format != "json" && format != "sarif" {
		return fail(fmt.Errorf("unknown format %q", format), "give --format text, json or sarif")
	}
	dir, err := scanTarget(c)
	if err != nil {
		return fail(err)
	}
	rep, err := scanFolder(dir)
	if err != nil {
		return fail(err)
	}
	switch format {
	case "json":
		err = rep.WriteJSON(out)
	case "sarif":
		err = rep.WriteSARIF(out, version)
	default:
		_, terr := unix.IoctlGetTermios(int(out.Fd()), unix.TCGETS)
		err = rep.WriteText(out, terr == nil)
	}
	if err != nil {
		return fail(err)
	}
	if rep.Count(min) > 0 {
		return exitStatus(1)
	}
	return nil
}

// scanTarget resolves scan's NAME|DIR to a real folder. A folder need not hold SKILL.md: scan
// also serves a skill being written, before it has one. Only a name needs the skill roots.
func scanTarget(c *cli.Context) (string, error) {
	arg := c.Args().First()
	var found []policy.FoundSkill
	if !isDirArg(arg) {
		var err error
		if _, _, _, found, err = inventory(c); err != nil {
			return "", err
		}
		if matches, _ := matchSkills(arg, found); len(matches) == 0 && (hostFS{}).IsDir(arg) {
			arg = "./" + arg
		}
	}
	if isDirArg(arg) {
		f, err := resolveSkillDir(arg, nil, true)
		if err != nil {
			return "", err
		}
		return f.Source, nil
	}
	f, err := resolveSkill("scan", arg, found)
	if err != nil {
		return "", err
	}
	return f.Source, nil
}

// scanFolder scans a skill folder, with its manifest for the consistency rules.
func scanFolder(dir string) (*scan.Report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("cannot open the skill folder: %w", err)
	}
	defer root.Close()
	man, err := loadManifest(abs)
	if err != nil {
		return nil, err
	}
	return scan.Scan(root.FS(), scan.Options{Manifest: man})
}

// scanSummary is what the lock keeps of a scan.
func scanSummary(rep *scan.Report, accepted bool) *policy.ScanSummary {
	s := &policy.ScanSummary{Max: rep.Max().String(), Accepted: accepted}
	for _, f := range rep.Findings {
		if s.Findings == nil {
			s.Findings = map[string]int{}
		}
		s.Findings[f.Rule.Severity.String()]++
	}
	return s
}
