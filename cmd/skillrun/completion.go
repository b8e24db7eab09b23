package main

// Shell completion generated from the CLI's own commands and flags, so it never drifts from
// them. The bash and zsh scripts are static tables walked by a few lines of shell: pressing TAB
// starts no process, evaluates nothing the user typed, and can never run a command (a
// completion request passed through skillrun's own argument parsing could reach a command
// after "--"). Fish gets urfave/cli's generator, which needs no docs code.

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy/scan"
	"github.com/skillrun/skillrun/profiles"
)

var completionCommand = &cli.Command{
	Name:      "completion",
	Usage:     "print the shell completion script for bash, zsh or fish",
	UsageText: "skillrun completion bash|zsh|fish",
	Description: "make install puts these where each shell looks for them; to load one by hand:\n\n" +
		"EXAMPLE:\n" +
		"   source <(skillrun completion bash)\n" +
		"   skillrun completion zsh > ~/.zsh/completions/_skillrun    # a folder in your $fpath\n" +
		"   skillrun completion fish > ~/.config/fish/completions/skillrun.fish",
}

// The action builds a fresh app (the running one has gained help commands and flags): set here,
// since the app's definition lists this command.
func init() { completionCommand.Action = completionAction }

func completionAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return withHints(exitFailed, errors.New("completion takes one shell: bash, zsh or fish"), "skillrun completion bash")
	}
	_, out, _ := stdio(c)
	return writeCompletion(out, newApp(nil, nil), c.Args().First())
}

func writeCompletion(out io.Writer, app *cli.App, shell string) error {
	tree := completionTree(app)
	switch shell {
	case "bash":
		_, err := io.WriteString(out, bashCompletion(tree))
		return err
	case "zsh":
		_, err := io.WriteString(out, zshCompletion(tree))
		return err
	case "fish":
		markFileFlags(app.Flags)
		for _, c := range tree.cli {
			markFileFlags(c.Flags)
		}
		s, err := app.ToFishCompletion()
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, fishCompletion(s, tree))
		return err
	}
	return withHints(exitFailed, fmt.Errorf("no completion for the shell %q", shell), "give bash, zsh or fish")
}

// compCmd is one command's part of the completion: the path of words that selects it ("" for
// skillrun itself), its subcommands, its flags and what its arguments are.
type compCmd struct {
	cli   []*cli.Command // in the root: every command, for the fish generator
	path  string
	usage string
	subs  []*compCmd
	flags []compFlag
	args  []string // words to offer; argDirs offers folders
}

type compFlag struct {
	names []string // with their dashes
	usage string
	value []string // nil: a switch; argFiles/argDirs/argAny or the words to offer
}

const (
	argFiles = "\x00files"
	argDirs  = "\x00dirs"
	argAny   = "\x00any"
)

// commandArgs says what each command's arguments are; the flags say it themselves.
func commandArgs(path string) []string {
	switch path {
	case "approve", "verify", "skills", "scan", "sign":
		return []string{argDirs} // NAME|DIR: a name or a folder
	case "hook", "integrate":
		var agents []string
		for a := range integrations {
			agents = append(agents, a)
		}
		sort.Strings(agents)
		return agents
	case "profiles show":
		return profiles.Names()
	case "completion":
		return []string{"bash", "zsh", "fish"}
	}
	return nil
}

// flagValues says what a flag's value is, by the flag's name.
func flagValues(name string) []string {
	switch name {
	case "policy", "key":
		return []string{argFiles}
	case "workspace", "skill-dir":
		return []string{argDirs}
	case "profile":
		return profiles.Names()
	case "format":
		return []string{"text", "json", "sarif"}
	case "fail-on":
		var out []string
		for _, s := range []scan.Severity{scan.Info, scan.Low, scan.Medium, scan.High, scan.Critical} {
			out = append(out, s.String())
		}
		return out
	}
	return []string{argAny}
}

func completionTree(app *cli.App) *compCmd {
	root := &compCmd{usage: app.Usage, flags: compFlags(app.VisibleFlags())}
	var walk func(parent *compCmd, cmds []*cli.Command)
	walk = func(parent *compCmd, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" { // urfave/cli adds help commands at run time
				continue
			}
			path := strings.TrimSpace(parent.path + " " + c.Name)
			cc := &compCmd{path: path, usage: c.Usage, flags: compFlags(c.VisibleFlags()), args: commandArgs(path)}
			parent.subs = append(parent.subs, cc)
			root.cli = append(root.cli, c)
			walk(cc, c.Subcommands)
		}
	}
	walk(root, app.Commands)
	return root
}

// markFileFlags tells urfave/cli's fish generator which flags name a file.
func markFileFlags(flags []cli.Flag) {
	for _, f := range flags {
		if sf, ok := f.(*cli.StringFlag); ok && flagValues(sf.Name)[0] == argFiles {
			sf.TakesFile = true
		}
	}
}

func compFlags(flags []cli.Flag) []compFlag {
	var out []compFlag
	for _, f := range flags {
		var cf compFlag
		for _, n := range f.Names() {
			if len(n) == 1 {
				cf.names = append(cf.names, "-"+n)
			} else {
				cf.names = append(cf.names, "--"+n)
			}
		}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			cf.usage = d.GetUsage()
			if d.TakesValue() {
				cf.value = flagValues(f.Names()[0])
			}
		}
		out = append(out, cf)
	}
	return out
}

// key names the command in the scripts' tables: "skillrun", "skillrun profiles show" (zsh
// takes no empty key).
func (c *compCmd) key() string { return strings.TrimSpace("skillrun " + c.path) }

// all lists the tree's commands, parents first.
func (c *compCmd) all() []*compCmd {
	out := []*compCmd{c}
	for _, s := range c.subs {
		out = append(out, s.all()...)
	}
	return out
}

func (c *compCmd) subNames() []string {
	var out []string
	for _, s := range c.subs {
		out = append(out, s.path[strings.LastIndex(s.path, " ")+1:])
	}
	return out
}

// words is what a script offers for vals: the kind names files, dirs or any, else the words.
func words(vals []string) (kind string, list []string) {
	for _, v := range vals {
		switch v {
		case argFiles:
			kind = "files"
		case argDirs:
			kind = "dirs"
		case argAny:
			kind = "any"
		default:
			list = append(list, v)
		}
	}
	return kind, list
}

// shellWord quotes s for a single-quoted shell string.
func shellWord(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// bashTables is the data both static scripts walk: per command path, its subcommands, flags,
// the flags that take a value, and per "path flag" or path what to offer.
func bashTables(root *compCmd, assign func(table, key, value string) string) string {
	var b strings.Builder
	for _, c := range root.all() {
		var flags, valued []string
		for _, f := range c.flags {
			flags = append(flags, f.names...)
			if f.value != nil {
				valued = append(valued, f.names...)
				kind, list := words(f.value)
				for _, n := range f.names {
					b.WriteString(assign("kinds", c.key()+" "+n, kind))
					b.WriteString(assign("offer", c.key()+" "+n, strings.Join(list, " ")))
				}
			}
		}
		b.WriteString(assign("subs", c.key(), strings.Join(c.subNames(), " ")))
		b.WriteString(assign("flags", c.key(), strings.Join(flags, " ")))
		b.WriteString(assign("valued", c.key(), strings.Join(valued, " ")))
		kind, list := words(c.args)
		b.WriteString(assign("kinds", c.key(), kind))
		b.WriteString(assign("offer", c.key(), strings.Join(list, " ")))
	}
	return b.String()
}

func bashCompletion(root *compCmd) string {
	tables := bashTables(root, func(table, key, value string) string {
		if value == "" {
			return ""
		}
		return fmt.Sprintf("\t%s[%s]=%s\n", table, shellWord(key), shellWord(value))
	})
	return `# bash completion for skillrun, generated by: skillrun completion bash
# After "--" or -c the words are the command's own: bash completes them as it would anyway.
_skillrun() {
	local -A subs=() flags=() valued=() kinds=() offer=()
` + tables + `	local cur=${COMP_WORDS[COMP_CWORD]} cmdpath=skillrun i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -- || ( $cmdpath == skillrun && ( $w == -c || $w == -c=* ) ) ]]; then
			((i == COMP_CWORD - 1)) && [[ $w == -- ]] && COMPREPLY=($(compgen -c -- "$cur"))
			return 0
		elif [[ " ${valued[$cmdpath]} " == *" $w "* ]]; then
			((i++))
		elif [[ $w != -* ]]; then
			if [[ " ${subs[$cmdpath]} " == *" $w "* ]]; then
				cmdpath="$cmdpath $w"
			elif [[ $cmdpath == skillrun ]]; then
				return 0 # skillrun CMD ARGS: the command's words
			fi
		fi
	done
	local key=$cmdpath
	if ((COMP_CWORD > 1)) && [[ " ${valued[$cmdpath]} " == *" ${COMP_WORDS[COMP_CWORD-1]} "* ]]; then
		key="$cmdpath ${COMP_WORDS[COMP_CWORD-1]}"
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${flags[$cmdpath]}" -- "$cur"))
		return 0
	else
		COMPREPLY=($(compgen -W "${subs[$cmdpath]}" -- "$cur"))
	fi
	COMPREPLY+=($(compgen -W "${offer[$key]}" -- "$cur"))
	case ${kinds[$key]} in
	files) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
	dirs) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "$cur")) ;;
	esac
	return 0
}
complete -o bashdefault -o default -F _skillrun skillrun
`
}

func zshCompletion(root *compCmd) string {
	tables := bashTables(root, func(table, key, value string) string {
		if value == "" {
			return ""
		}
		return fmt.Sprintf("\t%s+=(%s %s)\n", table, shellWord(key), shellWord(value))
	})
	// zsh keeps quotes inside a subscript, so the pairs are added as lists. Descriptions for
	// subcommands and flags are name:usage lines.
	var desc strings.Builder
	for _, c := range root.all() {
		var items []string
		for _, s := range c.subs {
			items = append(items, s.path[strings.LastIndex(s.path, " ")+1:]+":"+s.usage)
		}
		if len(items) > 0 {
			fmt.Fprintf(&desc, "\tsubdesc+=(%s %s)\n", shellWord(c.key()), shellWord(strings.Join(items, "\n")))
		}
		items = nil
		for _, f := range c.flags {
			for _, n := range f.names {
				items = append(items, strings.ReplaceAll(n, ":", `\:`)+":"+f.usage)
			}
		}
		if len(items) > 0 {
			fmt.Fprintf(&desc, "\tflagdesc+=(%s %s)\n", shellWord(c.key()), shellWord(strings.Join(items, "\n")))
		}
	}
	return `#compdef skillrun
# zsh completion for skillrun, generated by: skillrun completion zsh
# After "--" the words are a command of its own, completed as zsh completes that command.
_skillrun() {
	local -A subs flags valued kinds offer subdesc flagdesc
` + tables + desc.String() + `	local cmdpath=skillrun i w key
	local -a items
	for ((i = 2; i < CURRENT; i++)); do
		w=${words[i]}
		if [[ $w == -- ]]; then
			shift $i words
			((CURRENT -= i))
			_normal
			return
		elif [[ $cmdpath == skillrun && ( $w == -c || $w == -c=* ) ]]; then
			_files
			return
		elif [[ " ${valued[$cmdpath]} " == *" $w "* ]]; then
			((i++))
		elif [[ $w != -* ]]; then
			if [[ " ${subs[$cmdpath]} " == *" $w "* ]]; then
				cmdpath="$cmdpath $w"
			elif [[ $cmdpath == skillrun ]]; then
				_files
				return
			fi
		fi
	done
	key=$cmdpath
	if ((CURRENT > 2)) && [[ " ${valued[$cmdpath]} " == *" ${words[CURRENT-1]} "* ]]; then
		key="$cmdpath ${words[CURRENT-1]}"
	elif [[ ${words[CURRENT]} == -* ]]; then
		items=("${(@f)flagdesc[$cmdpath]}")
		_describe -t flags 'flag' items
		return
	elif [[ -n ${subdesc[$cmdpath]} ]]; then
		items=("${(@f)subdesc[$cmdpath]}")
		_describe -t commands 'command' items
	fi
	[[ -n ${offer[$key]} ]] && compadd -- ${=offer[$key]}
	case ${kinds[$key]} in
	files) _files ;;
	dirs) _files -/ ;;
	esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_skillrun "$@"
else
	compdef _skillrun skillrun
fi
`
}

// fishCompletion adds to urfave/cli's fish script what it cannot know: the values of flags and
// arguments, and that after "--" the words are a command of its own.
func fishCompletion(generated string, root *compCmd) string {
	var b strings.Builder
	b.WriteString("# fish completion for skillrun, generated by: skillrun completion fish\n")
	// The generator writes one-letter flags as long ones (--c); skillrun's are -c. After "--"
	// no word is skillrun's, so its test for "no subcommand yet" must say no.
	generated = regexp.MustCompile(`(?m) -l (\w) `).ReplaceAllString(generated, " -s $1 ")
	generated = strings.Replace(generated, "if contains -- $i ", "if contains -- $i -- ", 1)
	b.WriteString(generated)
	b.WriteString(`
# After "--": the words are a command of its own, completed as fish completes that command.
function __fish_skillrun_command --description 'Complete the command after --'
    set -l words (commandline -opc) (commandline -ct)
    set -l from (math (contains -i -- -- $words) + 1)
    complete -C (string join ' ' -- $words[$from..-1])
end
complete -c skillrun -n 'contains -- -- (commandline -opc)' -x -a '(__fish_skillrun_command)'
`)
	for _, c := range root.all() {
		if c.path == "" {
			continue
		}
		cond := "__fish_seen_subcommand_from " + c.path[strings.LastIndex(c.path, " ")+1:]
		kind, list := words(c.args)
		if len(list) > 0 {
			fmt.Fprintf(&b, "complete -c skillrun -n %s -f -a %s\n", shellWord(cond), shellWord(strings.Join(list, " ")))
		}
		if kind == "dirs" {
			fmt.Fprintf(&b, "complete -c skillrun -n %s -f -a '(__fish_complete_directories)'\n", shellWord(cond))
		}
	}
	for _, c := range root.all() {
		for _, f := range c.flags {
			kind, list := words(f.value)
			for _, n := range f.names {
				opt := "-l " + strings.TrimPrefix(n, "--")
				if !strings.HasPrefix(n, "--") {
					opt = "-s " + strings.TrimPrefix(n, "-")
				}
				cond := "__fish_skillrun_no_subcommand"
				if c.path != "" {
					cond = "__fish_seen_subcommand_from " + c.path[strings.LastIndex(c.path, " ")+1:]
				}
				switch {
				case len(list) > 0:
					fmt.Fprintf(&b, "complete -c skillrun -n %s %s -x -a %s\n", shellWord(cond), opt, shellWord(strings.Join(list, " ")))
				case kind == "dirs":
					fmt.Fprintf(&b, "complete -c skillrun -n %s %s -x -a '(__fish_complete_directories)'\n", shellWord(cond), opt)
				}
			}
		}
	}
	return b.String()
}
