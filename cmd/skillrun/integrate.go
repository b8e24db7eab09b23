package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// integration is where an agent CLI keeps its hooks and what skillrun's hook entry looks like.
type integration struct {
	file    func(home string, getenv func(string) string) string
	event   string // the hooks key: PreToolUse, BeforeTool
	matcher string // the shell tool, as the client's matcher: Codex and Gemini CLI read a regex
	hook    func(command string) any
	// check adds what else, beyond the entry in the file, decides whether the client runs it.
	check func(c *clientCheck)
}

// configDir is $ENV when it is absolute, else home/def.
func configDir(getenv func(string) string, env, home, def string) string {
	if d := getenv(env); filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	return filepath.Join(home, def)
}

var integrations = map[string]integration{
	"claude": {
		file: func(home string, getenv func(string) string) string {
			return filepath.Join(configDir(getenv, "CLAUDE_CONFIG_DIR", home, ".claude"), "settings.json")
		},
		event: "PreToolUse", matcher: "Bash",
		hook: func(command string) any {
			return struct {
				Type    string `json:"type"`
				Command string `json:"command"`
				Timeout int    `json:"timeout"` // seconds
			}{"command", command, 30}
		},
		check: checkClaude,
	},
	"codex": {
		file: func(home string, getenv func(string) string) string {
			return filepath.Join(configDir(getenv, "CODEX_HOME", home, ".codex"), "hooks.json")
		},
		event: "PreToolUse", matcher: "^Bash$",
		hook: func(command string) any {
			return struct {
				Type    string `json:"type"`
				Command string `json:"command"`
				Timeout int    `json:"timeout"` // seconds
			}{"command", command, 30}
		},
		check: checkCodex,
	},
	"gemini": {
		file: func(home string, _ func(string) string) string {
			return filepath.Join(home, ".gemini", "settings.json")
		},
		event: "BeforeTool", matcher: "^run_shell_command$",
		hook: func(command string) any {
			return struct {
				Name        string `json:"name"`
				Type        string `json:"type"`
				Command     string `json:"command"`
				Timeout     int    `json:"timeout"` // milliseconds
				Description string `json:"description"`
			}{"skillrun", "command", command, 30000, "run shell commands in the skillrun sandbox"}
		},
		check: checkGemini,
	},
}

var integrateCommand = &cli.Command{
	Name:      "integrate",
	Usage:     "add skillrun's hook to an agent's settings, so its shell commands run sandboxed",
	UsageText: "skillrun integrate claude|codex|gemini [--print | --check]",
	Description: "Claude Code: hooks.PreToolUse (matcher Bash) in ~/.claude/settings.json ($CLAUDE_CONFIG_DIR).\n" +
		"Codex: hooks.PreToolUse (matcher ^Bash$) in ~/.codex/hooks.json ($CODEX_HOME), and the trust\n" +
		"record Codex needs before it runs a hook, in config.toml next to it.\n" +
		"Gemini CLI: hooks.BeforeTool (matcher ^run_shell_command$) in ~/.gemini/settings.json.\n" +
		"The hook command is `/path/to/skillrun hook CLIENT || exit 2`: when the binary is missing or\n" +
		"cannot run, the shell's failure becomes 2, which every client takes as \"block this call\".\n" +
		"Existing settings and hooks are kept, running it again changes nothing, the file is replaced\n" +
		"atomically and the previous version is kept next to it (FILE.skillrun-backup-TIME).\n" +
		"Afterwards it checks, with the client's own view where it has one (Codex: codex app-server),\n" +
		"that the client will run the hook; --check does only that, and exits 1 when commands are\n" +
		"not routed through skillrun.\n\n" +
		"EXAMPLE:\n" +
		"   skillrun integrate claude\n" +
		"   skillrun integrate --check codex\n" +
		"   skillrun integrate gemini --print",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "print", Usage: "print the settings snippet instead of writing it"},
		&cli.BoolFlag{Name: "check", Usage: "only report whether the client's shell commands are routed through skillrun"},
	},
	Action: integrateAction,
}

// hookLine is the hook command for client: a missing or broken binary fails in the shell with
// 126 or 127, which Codex would take as "go ahead unchanged"; `|| exit 2` turns every failure
// into the status each client treats as a block (skillrun hook itself only exits 0 or 2).
func hookLine(self, client string) string {
	return shellQuote(self) + " hook " + client + " || exit 2"
}

func integrateAction(c *cli.Context) error {
	// urfave/cli stops at the first argument; `integrate claude --print` is what people type.
	print, check, args := c.Bool("print"), c.Bool("check"), []string{}
	for _, a := range c.Args().Slice() {
		switch a {
		case "--print", "-print":
			print = true
		case "--check", "-check":
			check = true
		default:
			args = append(args, a)
		}
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	in, ok := integrations[name]
	if !ok || (print && check) {
		return withHints(exitFailed, fmt.Errorf("give one agent: skillrun integrate %s [--print | --check], got %q", integrationNames(), c.Args().Slice()))
	}
	self, err := selfPath()
	if err != nil {
		return withHints(exitFailed, err)
	}
	command := hookLine(self, name)
	home, err := homeDir()
	if err != nil {
		return err
	}
	_, out, errw := stdio(c)
	path := in.file(home, os.Getenv)
	if check {
		return reportCheck(out, runCheck(name, in, path))
	}
	if print {
		root, _ := parseObject(nil)
		if _, err := mergeHook(root, in, name, command); err != nil {
			return err
		}
		b, err := render(root, nil)
		if err != nil {
			return err
		}
		out.Write(b)
		fmt.Fprintf(errw, "skillrun: merge it into %s\n", path)
		if name == "codex" {
			fmt.Fprintf(errw, "skillrun: then trust it in Codex (/hooks), or run: skillrun integrate codex\n")
		}
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return withHints(exitFailed, fmt.Errorf("cannot read %s: %v", path, err))
	}
	keep := func(err error) error {
		return withHints(exitFailed, fmt.Errorf("%s: %v; it was left as it is", path, err),
			"print the snippet and merge it by hand: skillrun integrate "+name+" --print")
	}
	root, err := parseObject(data)
	if err != nil {
		return keep(fmt.Errorf("not plain JSON (%v)", err))
	}
	changed, err := mergeHook(root, in, name, command)
	if err != nil {
		return keep(err)
	}
	if !changed {
		fmt.Fprintf(out, "%s already runs %s's shell commands through skillrun\n", path, name)
	} else {
		b, err := render(root, data)
		if err != nil {
			return keep(err)
		}
		backup, err := replaceFile(path, b, backupName(path, time.Now()))
		if err != nil {
			return withHints(exitFailed, fmt.Errorf("cannot write %s: %v", path, err),
				"print the snippet and merge it by hand: skillrun integrate "+name+" --print")
		}
		fmt.Fprintf(out, "added the skillrun hook to %s: %s\n", path, command)
		if backup != "" {
			fmt.Fprintf(out, "the previous version is in %s\n", backup)
		}
	}
	if name == "codex" {
		if err := trustCodexHook(out, path, root, in); err != nil {
			return err
		}
	}
	return reportCheck(out, runCheck(name, in, path))
}

// mergeHook adds skillrun's hook group to root.hooks[event], unless a skillrun hook for this
// client is there already: with the same command it changes nothing, with another (the binary
// moved) it takes the new command in place. Everything else is kept as it was.
func mergeHook(root *jsonObject, in integration, client, command string) (changed bool, err error) {
	hooks, err := root.object("hooks")
	if err != nil {
		return false, err
	}
	groups, err := hooks.list(in.event)
	if err != nil {
		return false, fmt.Errorf("hooks.%s is not a list", in.event)
	}
	for gi, g := range groups {
		group, err := parseObject(g)
		if err != nil {
			continue // not ours, whatever it is
		}
		entries, err := group.list("hooks")
		if err != nil {
			continue
		}
		for ei, e := range entries {
			entry, err := parseObject(e)
			if err != nil {
				continue
			}
			var cmd string
			if v, ok := entry.get("command"); !ok || jsonString(v, &cmd) != nil || !isSkillrunHook(cmd, client) {
				continue
			}
			var matcher string
			if v, ok := group.get("matcher"); ok {
				_ = jsonString(v, &matcher)
			}
			// The matcher is ours to set only in a group of our own.
			own := len(entries) == 1
			if cmd == command && (matcher == in.matcher || !own) {
				return false, nil
			}
			if err := entry.setValue("command", command); err != nil {
				return false, err
			}
			if own {
				if err := group.setValue("matcher", in.matcher); err != nil {
					return false, err
				}
			}
			if entries[ei], err = entry.MarshalJSON(); err != nil {
				return false, err
			}
			if err := group.setValue("hooks", entries); err != nil {
				return false, err
			}
			if groups[gi], err = group.MarshalJSON(); err != nil {
				return false, err
			}
			return true, setNested(root, hooks, in.event, groups)
		}
	}
	g := struct {
		Matcher string `json:"matcher"`
		Hooks   []any  `json:"hooks"`
	}{in.matcher, []any{in.hook(command)}}
	b, err := marshalNoEscape(g)
	if err != nil {
		return false, err
	}
	return true, setNested(root, hooks, in.event, append(groups, b))
}

// setNested stores groups at root.hooks[event].
func setNested(root, hooks *jsonObject, event string, groups []json.RawMessage) error {
	if err := hooks.setValue(event, groups); err != nil {
		return err
	}
	b, err := hooks.MarshalJSON()
	if err != nil {
		return err
	}
	root.set("hooks", b)
	return nil
}

func jsonString(v json.RawMessage, s *string) error { return json.Unmarshal(v, s) }

// isSkillrunHook reports whether a hook command is `.../skillrun hook CLIENT`, with or without
// the `|| exit 2` that hookLine adds.
func isSkillrunHook(cmd, client string) bool {
	prog, rest := firstWord(strings.TrimSpace(cmd))
	rest = strings.Join(strings.Fields(rest), " ")
	if rest != "hook "+client && rest != "hook "+client+" || exit 2" {
		return false
	}
	self, err := selfPath()
	return filepath.Base(prog) == "skillrun" || (err == nil && prog == self)
}

// hookProgram is the program a skillrun hook command runs.
func hookProgram(cmd string) string {
	prog, _ := firstWord(strings.TrimSpace(cmd))
	return prog
}

// firstWord splits off a command's first shell word, unquoting '…' and \' pieces and backslashes.
func firstWord(cmd string) (word, rest string) {
	var b strings.Builder
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; {
		case c == ' ' || c == '\t':
			return b.String(), cmd[i:]
		case c == '\'':
			end := strings.IndexByte(cmd[i+1:], '\'')
			if end < 0 {
				return "", ""
			}
			b.WriteString(cmd[i+1 : i+1+end])
			i += end + 1
		case c == '\\' && i+1 < len(cmd):
			b.WriteByte(cmd[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

func integrationNames() string {
	names := make([]string, 0, len(integrations))
	for n := range integrations {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}
