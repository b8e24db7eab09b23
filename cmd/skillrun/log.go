package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy/audit"
)

var logCommand = &cli.Command{
	Name:      "log",
	Usage:     "show the audit log: one line per run or refusal",
	UsageText: "skillrun log [--json] [-f] [--skill NAME] [--denied] [--since DURATION|TIME]",
	Description: "Each line: time, skill (or agent), decision (ran, refused, failed), exit status, the command,\n" +
		"then why it was refused and what was blocked. The log is $XDG_STATE_HOME/skillrun/audit.jsonl,\n" +
		"rotated by size to audit.jsonl.1, .2, .3 (all read, oldest first).\n\n" +
		"EXAMPLE:\n" +
		"   skillrun log --since 2h\n" +
		"   skillrun log --denied -f\n" +
		"   skillrun log --json --skill pdf-tools | jq .exit_code",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print the records as stored: one JSON object per line"},
		&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing records as they are appended (Ctrl-C to stop)"},
		&cli.StringFlag{Name: "skill", Usage: "only the records of skill `NAME` (agent: commands of no skill)"},
		&cli.BoolFlag{Name: "denied", Usage: "only refusals and runs that had something blocked"},
		&cli.StringFlag{Name: "since", Usage: "only records from `WHEN` on: a duration back (90m, 2h, 3d) or a time (2006-01-02, RFC 3339)"},
	},
	Action: logAction,
}

func logAction(c *cli.Context) error {
	if c.Args().Present() {
		return withHints(exitFailed, fmt.Errorf("skillrun log takes no arguments, got %q", c.Args().First()),
			"filter with --skill NAME, --denied or --since 2h")
	}
	_, out, errw := stdio(c)
	f := audit.Filter{Skill: c.String("skill"), Denied: c.Bool("denied")}
	if s := c.String("since"); s != "" {
		t, err := audit.ParseSince(s, time.Now(), time.Local)
		if err != nil {
			return withHints(exitFailed, err, "e.g. --since 2h, --since 3d or --since 2006-01-02")
		}
		f.Since = t
	}
	path, err := auditPath("")
	if err != nil {
		return err
	}
	l := auditLog{path: path, keep: auditKeep}
	w := bufio.NewWriter(out)
	asJSON, malformed := c.Bool("json"), 0
	show := func(line []byte) {
		r, err := audit.Parse(line)
		if err != nil {
			malformed++
			return
		}
		if !f.Match(r) {
			return
		}
		if asJSON {
			w.Write(line)
			w.WriteByte('\n')
		} else {
			w.WriteString(r.Text(time.Local) + "\n")
		}
	}
	offset, skipped, err := l.read(show)
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot read the audit log: %v", err))
	}
	if err := w.Flush(); err != nil {
		return nil // the reader went away (a pager quit)
	}
	if n := malformed + skipped; n > 0 {
		fmt.Fprintf(errw, "skillrun: warning: %d lines of %s are not audit records and were skipped\n", n, path)
	}
	if !c.Bool("follow") {
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return l.follow(ctx, offset, 200*time.Millisecond, func(line []byte) {
		show(line)
		if w.Flush() != nil {
			stop()
		}
	})
}
