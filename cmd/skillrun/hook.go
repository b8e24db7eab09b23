package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// hookClient is how one agent CLI asks a pre-tool hook and reads its answer (design section 6).
type hookClient struct {
	event string // the hook event: PreToolUse, BeforeTool
	tool  string // the shell tool's name
	// mark names the client in the audit record when its commands carry no variable of their
	// own that says so (Claude Code sets AI_AGENT, Gemini CLI GEMINI_CLI; Codex sets neither).
	mark string
	// answer wraps the rewritten tool input in the client's output shape.
	answer func(input map[string]json.RawMessage) any
}

// preToolUse is Claude Code's (and Codex's) answer: allow, with the rewritten input. Codex
// rewrites only with both the decision and updatedInput.
func preToolUse(input map[string]json.RawMessage) any {
	type out struct {
		HookEventName            string                     `json:"hookEventName"`
		PermissionDecision       string                     `json:"permissionDecision"`
		PermissionDecisionReason string                     `json:"permissionDecisionReason"`
		UpdatedInput             map[string]json.RawMessage `json:"updatedInput"`
	}
	return struct {
		Out out `json:"hookSpecificOutput"`
	}{out{"PreToolUse", "allow", "runs in the skillrun sandbox", input}}
}

var hookClients = map[string]hookClient{
	"claude": {event: "PreToolUse", tool: "Bash", answer: preToolUse},
	"codex":  {event: "PreToolUse", tool: "Bash", mark: "codex-cli", answer: preToolUse},
	// Gemini CLI merges hookSpecificOutput.tool_input over the model's arguments; its own
	// confirmation flow is left as it is.
	"gemini": {event: "BeforeTool", tool: "run_shell_command", answer: func(input map[string]json.RawMessage) any {
		type out struct {
			HookEventName string                     `json:"hookEventName"`
			ToolInput     map[string]json.RawMessage `json:"tool_input"`
		}
		return struct {
			Out out `json:"hookSpecificOutput"`
		}{out{"BeforeTool", input}}
	}},
}

var hookCommand = &cli.Command{
	Name:      "hook",
	Usage:     "rewrite an agent's shell tool call to run in skillrun (the hook JSON comes on stdin)",
	UsageText: "skillrun hook claude|codex|gemini",
	Description: "Set up by skillrun integrate. Reads the client's pre-tool hook JSON on stdin and, for its shell\n" +
		"tool (Claude Code and Codex: Bash; Gemini CLI: run_shell_command), prints the same input with\n" +
		"the command rewritten to /path/to/skillrun -c '<command>'. Everything else it is given (no\n" +
		"input, no JSON, another tool, a call without a command, more than 1 MiB) exits 2 with the\n" +
		"reason on stderr: all three clients then block the call and show the reason to the model, so\n" +
		"a broken or misplaced hook never lets a command run outside the sandbox.\n\n" +
		"EXAMPLE:\n" +
		"   echo '{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"}}' | skillrun hook claude",
	Action: hookAction,
}

// hookBlock is the status that makes every client block the tool call and pass stderr on to
// the model (Claude Code and Codex: 2; Gemini CLI: anything but 0 and 1).
const hookBlock = 2

// maxHookInput bounds the hook JSON read from stdin: a command longer than one argument can
// hold (maxCommand) is refused anyway, and the rest of a call is a few ids and paths.
const maxHookInput = 1 << 20

// maxCommand is the longest wrapped command that still runs: the client hands it to the shell
// as one argument, and Linux refuses an argument of more than 128 KiB (MAX_ARG_STRLEN, with its
// NUL) with E2BIG.
const maxCommand = 128<<10 - 1

// errHook is every hook input that cannot become a sandboxed command: the call is blocked.
var errHook = errors.New("the call was blocked, nothing ran")

// blocked is a refused hook call on one line: what was wrong, that nothing ran, and what to do.
// One line, because Claude Code and Codex pass only the first line of stderr on to the model.
func blocked(advice, format string, a ...any) error {
	return withHints(hookBlock, fmt.Errorf(format+"; %w: %s", append(a, errHook, advice)...))
}

func hookAction(c *cli.Context) error {
	in, out, errw := stdio(c)
	fail := func(err error) error {
		fmt.Fprintf(errw, "skillrun: error: hook: %s\n", oneLine(err.Error()))
		var h *hinted
		if errors.As(err, &h) {
			for _, s := range h.hints {
				fmt.Fprintf(errw, "skillrun: hint: %s\n", s)
			}
		}
		return exitStatus(hookBlock)
	}
	name := c.Args().First()
	client, ok := hookClients[name]
	if !ok || c.NArg() != 1 {
		return fail(blocked(setupHint(hookClientNames()), "give the client: skillrun hook %s, got %q", hookClientNames(), c.Args().Slice()))
	}
	body, err := io.ReadAll(io.LimitReader(in, maxHookInput+1))
	if err != nil {
		return fail(blocked(setupHint(name), "reading the hook input: %v", err))
	}
	if len(body) > maxHookInput {
		return fail(blocked("write the script to a file in the workspace and run that file instead",
			"the hook input is larger than %d bytes", maxHookInput))
	}
	self, err := selfPath()
	if err != nil {
		return fail(blocked(setupHint(name), "%v", err))
	}
	answer, err := rewriteHook(client, name, body, self)
	if err != nil {
		return fail(err)
	}
	if _, err := out.Write(answer); err != nil {
		return fail(blocked(setupHint(name), "%v", err))
	}
	return nil
}

// setupHint tells the model that the call failed on the setup, not on its command.
func setupHint(client string) string {
	return "a setup problem, not one of the command: ask the user to run skillrun integrate " + client + " --check"
}

// selfPath is the absolute path of the running skillrun binary (tests name another).
var selfPath = func() (string, error) {
	p, err := os.Executable()
	if err != nil || strings.HasSuffix(p, " (deleted)") {
		return "", fmt.Errorf("cannot find the skillrun binary's own path (%v); reinstall it", err)
	}
	return p, nil
}

// rewriteHook answers one hook call: the client's answer with every input field kept and the
// command wrapped in skillrun. Anything else is an error (errHook): the call is blocked.
func rewriteHook(client hookClient, name string, body []byte, self string) ([]byte, error) {
	setup := func(format string, a ...any) error { return blocked(setupHint(name), format, a...) }
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, setup("the hook got no input on stdin")
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return nil, setup("the hook input is not a JSON object")
	}
	var event, tool string
	if err := unmarshalField(in, "hook_event_name", &event); err != nil {
		return nil, setup("hook_event_name is not a string")
	}
	if event != "" && event != client.event {
		return nil, setup("the hook got a %q event; it handles only %s (set it up as a %s hook)", event, client.event, client.event)
	}
	if err := unmarshalField(in, "tool_name", &tool); err != nil || tool == "" {
		return nil, setup("the hook input names no tool (tool_name)")
	}
	if tool != client.tool {
		return nil, setup("the hook got a call of the tool %q; it sandboxes only %s (its matcher must be ^%s$)", tool, client.tool, client.tool)
	}
	var input map[string]json.RawMessage
	if err := json.Unmarshal(in["tool_input"], &input); err != nil || input == nil {
		return nil, setup("%s call without a tool_input object", tool)
	}
	raw, ok := input["command"]
	if !ok {
		return nil, setup("%s call without a command", tool)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, setup("the %s command is not a string", tool)
	}
	w, err := wrapShell(self, client.mark, s)
	if err != nil {
		return nil, err
	}
	b, err := marshalNoEscape(w)
	if err != nil {
		return nil, setup("%v", err)
	}
	input["command"] = b
	out, err := marshalNoEscape(client.answer(input))
	if err != nil {
		return nil, setup("%v", err)
	}
	return out, nil
}

// unmarshalField reads an optional field: absent and null are the zero value.
func unmarshalField(in map[string]json.RawMessage, key string, v any) error {
	raw, ok := in[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// wrapShell rewrites a shell command string to run, with bash semantics, inside skillrun:
// [SKILLRUN_CLIENT=MARK ]SELF -c 'STRING', the string single-quoted so the shell passes it on
// byte for byte. A string that already is exactly such a call is left as it is; one that merely
// starts with skillrun's path is wrapped like any other, or `skillrun -- true; cat ~/.ssh/id_rsa`
// would escape.
func wrapShell(self, mark, s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", blocked("remove the NUL byte from the command", "the command holds a NUL byte, which no shell can pass on")
	}
	prefix := shellQuote(self) + " -c "
	if mark != "" {
		prefix = "SKILLRUN_CLIENT=" + shellQuote(mark) + " " + prefix
	}
	if rest, ok := strings.CutPrefix(s, prefix); ok && singleQuotedWord(rest) {
		return s, nil
	}
	w := prefix + singleQuote(s)
	if len(w) > maxCommand {
		return "", blocked("write the script to a file in the workspace and run that file instead",
			"the command is %d bytes, more than the %d bytes one shell argument can hold", len(s), maxCommand-len(prefix)-2)
	}
	return w, nil
}

// singleQuote quotes s as one shell word: inside single quotes nothing is special, and each
// single quote of s ends the quoted piece, is written escaped (\'), and starts a new piece.
func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellQuote quotes s only when it holds characters a shell would treat specially.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return singleQuote(s)
}

// singleQuotedWord reports whether s is one shell word made only of '…' and \' pieces, as
// singleQuote writes them: nothing in it can end the word or start another command.
func singleQuotedWord(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		switch {
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return false
			}
			s = s[end+2:]
		case strings.HasPrefix(s, `\'`):
			s = s[2:]
		default:
			return false
		}
	}
	return true
}

// hookClientNames lists the clients, for messages.
func hookClientNames() string {
	names := make([]string, 0, len(hookClients))
	for n := range hookClients {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}
