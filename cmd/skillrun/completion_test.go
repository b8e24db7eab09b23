package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestCompletionGolden pins each shell's script, and checks that it names every command and
// every flag the CLI defines: the scripts are generated from those definitions.
//
// The scripts are made in a fresh process: urfave/cli adds help flags and commands to a command
// once it has run, so in this package's process they would depend on which tests ran before.
func TestCompletionGolden(t *testing.T) {
	if shell := os.Getenv("SKILLRUN_COMPLETION_CHILD"); shell != "" {
		if err := writeCompletion(os.Stdout, newApp(nil, nil), shell); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	app := newApp(nil, nil)
	var want []string
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" { // added by urfave/cli once a command ran
				continue
			}
			want = append(want, c.Name)
			for _, f := range c.Flags {
				if f.Names()[0] != "help" { // added by urfave/cli once a command ran
					want = append(want, f.Names()[0])
				}
			}
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
	for _, f := range app.Flags {
		want = append(want, f.Names()[0])
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		child := exec.Command(os.Args[0], "-test.run=^TestCompletionGolden$")
		child.Env = append(os.Environ(), "SKILLRUN_COMPLETION_CHILD="+shell)
		b, err := child.Output()
		if err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		got := string(b)
		if len(got) < 1000 {
			t.Errorf("%s: script too short:\n%s", shell, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: the script does not name %q", shell, w)
			}
		}
		golden := filepath.Join("testdata", "completion", "skillrun."+shell)
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
		}
		if g, err := os.ReadFile(golden); err != nil || string(g) != got {
			t.Errorf("%s: the script differs from %s (%v); rerun with -update after checking it", shell, golden, err)
		}
	}
	var b strings.Builder
	if err := writeCompletion(&b, newApp(nil, nil), "tcsh"); err == nil {
		t.Errorf("an unknown shell must be an error")
	}
}

// completionCase is what TAB after line offers: want among the candidates, never any of deny.
type completionCase struct {
	line       []string // the words; the last is the one being completed
	want, deny []string
}

var completionCases = []completionCase{
	{line: []string{"skillrun", ""}, want: []string{"approve", "doctor", "completion", "profiles"}},
	{line: []string{"skillrun", "ap"}, want: []string{"approve"}, deny: []string{"doctor"}},
	{line: []string{"skillrun", "--pro"}, want: []string{"--profile"}},
	{line: []string{"skillrun", "--profile", ""}, want: []string{"agent", "python", "untrusted"}, deny: []string{"approve"}},
	{line: []string{"skillrun", "approve", "--"}, want: []string{"--yes", "--accept-findings"}, deny: []string{"--timeout"}},
	{line: []string{"skillrun", "scan", "--format", ""}, want: []string{"text", "json", "sarif"}},
	{line: []string{"skillrun", "scan", "--fail-on", ""}, want: []string{"high", "critical"}},
	{line: []string{"skillrun", "profiles", "show", ""}, want: []string{"python", "github"}},
	{line: []string{"skillrun", "hook", ""}, want: []string{"claude", "codex", "gemini"}},
	{line: []string{"skillrun", "integrate", ""}, want: []string{"claude"}},
	{line: []string{"skillrun", "completion", ""}, want: []string{"bash", "zsh", "fish"}},
	{line: []string{"skillrun", "approve", "/et"}, want: []string{"/etc"}},
	// After "--" the words are the command's own: never skillrun's subcommands or flags.
	{line: []string{"skillrun", "--", "approv"}, deny: []string{"approve"}},
	{line: []string{"skillrun", "--", "sk"}, deny: []string{"skills"}},
	{line: []string{"skillrun", "plan", "--", "ls", "--"}, deny: []string{"--json", "--profile"}},
}

// TestCompletionInShells runs each script in its shell on the cases above. The shells are
// asked directly, with no terminal: bash through its completion function, zsh with the
// completion builtins stood in for by functions that print what matches the word, fish
// through complete -C.
func TestCompletionInShells(t *testing.T) {
	dir := t.TempDir()
	scripts := map[string]string{}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var b strings.Builder
		if err := writeCompletion(&b, newApp(nil, nil), shell); err != nil {
			t.Fatal(err)
		}
		scripts[shell] = filepath.Join(dir, "skillrun."+shell)
		if err := os.WriteFile(scripts[shell], []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	drivers := map[string]func(words []string) []string{
		"bash": func(words []string) []string {
			return []string{"bash", "--norc", "-c", `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _skillrun; printf '%s\n' "${COMPREPLY[@]}"`, scripts["bash"]}
		},
		"zsh": func(words []string) []string {
			return []string{"zsh", "-f", "-c", `compdef() { :; }; source "$0"
compadd() { [[ $1 == -- ]] && shift; local x; for x in "$@"; do [[ $x == ${words[CURRENT]}* ]] && print -r -- "$x"; done; }
_describe() { compadd -- "${(@)${(P)4[@]}%%:*}"; }
_files() { print -r -- "<files $*>"; }
_normal() { print -r -- "<normal ${words[*]}>"; }
words=("$@"); CURRENT=$#; _skillrun; true`, scripts["zsh"]}
		},
		"fish": func(words []string) []string {
			return []string{"fish", "--no-config", "-c", `source $argv[1]; complete -C (string join ' ' -- $argv[2..-1]) | string replace -r '\t.*' ''; true`, scripts["fish"]}
		},
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("%s is not installed: its script is only checked against the golden file", shell)
			}
			for _, c := range completionCases {
				argv := drivers[shell](c.line)
				cmd := exec.Command(argv[0], append(argv[1:], c.line...)...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("%q: %v\n%s", c.line, err, out)
					continue
				}
				got := strings.Fields(string(out))
				for _, w := range c.want {
					if !containsPrefix(got, w) {
						t.Errorf("%q: %s offers %q, want %q among them", c.line, shell, got, w)
					}
				}
				for _, d := range c.deny {
					for _, g := range got {
						if g == d {
							t.Errorf("%q: %s offers %q", c.line, shell, d)
						}
					}
				}
			}
		})
	}
}

// containsPrefix: a folder may come back as /etc or /etc/.
func containsPrefix(list []string, w string) bool {
	for _, x := range list {
		if x == w || x == w+"/" || strings.Contains(x, "<files") && strings.HasPrefix(w, "/") {
			return true
		}
	}
	return false
}
