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
	event string   // the hook event: PreToolUse, BeforeTool
	tools []string // the shell tool's names
	// answer wraps the rewritten tool input in the client's output shape.
	answer func(input map[string]json.RawMessage) any
}

// preToolUse is Claude Code's (and Codex's) answer: allow, with the rewritten input.
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
	"claude": {event: "PreToolUse", tools: []string{"Bash"}, answer: preToolUse},
	"codex":  {event: "PreToolUse", tools: []string{"Bash"}, answer: preToolUse},
	// Gemini CLI merges hookSpecificOutput.tool_input over the model's arguments; its own
	// confirmation flow is left as it is.
	"gemini": {event: "BeforeTool", tools: []string{"run_shell_command"}, answer: func(input map[string]json.RawMessage) any {
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
		"the command rewritten to /path/to/skillrun -c '<command>'. Other tools get no output. Any\n" +
		"error exits 2, which the clients take as \"block this call\": a broken hook never lets a\n" +
		"command run outside the sandbox.\n\n" +
		"EXAMPLE:\n" +
		"   echo '{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"}}' | skillrun hook claude",
	Action: hookAction,
}

// hookBlock is the status that makes every client block the tool call and show stderr.
const hookBlock = 2

// maxHookInput bounds the hook JSON read from stdin.
const maxHookInput = 16 << 20

func hookAction(c *cli.Context) error {
	in, out, errw := stdio(c)
	fail := func(err error) error {
		fmt.Fprintf(errw, "skillrun: error: hook: %s\n", oneLine(err.Error()))
		return exitStatus(hookBlock)
	}
	client, ok := hookClients[c.Args().First()]
	if !ok || c.NArg() != 1 {
		return fail(fmt.Errorf("give the client: skillrun hook %s, got %q", hookClientNames(), c.Args().Slice()))
	}
	body, err := io.ReadAll(io.LimitReader(in, maxHookInput+1))
	if err != nil {
		return fail(fmt.Errorf("reading the hook input: %v", err))
	}
	if len(body) > maxHookInput {
		return fail(fmt.Errorf("the hook input is larger than %d bytes", maxHookInput))
	}
	self, err := selfPath()
	if err != nil {
		return fail(err)
	}
	answer, err := rewriteHook(client, body, self)
	if err != nil {
		return fail(err)
	}
	if answer != nil {
		if _, err := out.Write(answer); err != nil {
			return fail(err)
		}
	}
	return nil
}

// selfPath is the absolute path of the running skillrun binary (tests name another).
var selfPath = func() (string, error) {
	p, err := os.Executable()
	if err != nil || strings.HasSuffix(p, " (deleted)") {
		return "", fmt.Errorf("cannot find the skillrun binary's own path (%v); reinstall it", err)
	}
	return p, nil
}

// rewriteHook answers one hook call: nil for a call that is not the client's shell tool, else the
// client's answer with every input field kept and the command wrapped in skillrun.
func rewriteHook(client hookClient, body []byte, self string) ([]byte, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return nil, fmt.Errorf("the hook input is not a JSON object")
	}
	var event, tool string
	_ = json.Unmarshal(in["hook_event_name"], &event)
	_ = json.Unmarshal(in["tool_name"], &tool)
	if event != "" && event != client.event {
		return nil, nil
	}
	found := false
	for _, t := range client.tools {
		found = found || t == tool
	}
	if !found {
		return nil, nil
	}
	var input map[string]json.RawMessage
	if err := json.Unmarshal(in["tool_input"], &input); err != nil || input == nil {
		return nil, fmt.Errorf("%s call without a tool_input object", tool)
	}
	raw, ok := input["command"]
	if !ok {
		return nil, fmt.Errorf("%s call without a command", tool)
	}
	var wrapped any
	var s string
	var argv []string
	switch {
	case json.Unmarshal(raw, &s) == nil:
		w, err := wrapShell(self, s)
		if err != nil {
			return nil, err
		}
		wrapped = w
	case json.Unmarshal(raw, &argv) == nil && len(argv) > 0:
		wrapped = wrapArgv(self, argv)
	default:
		return nil, fmt.Errorf("%s command is neither a string nor a list of strings", tool)
	}
	b, err := marshalNoEscape(wrapped)
	if err != nil {
		return nil, err
	}
	input["command"] = b
	return marshalNoEscape(client.answer(input))
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
// SELF -c 'STRING', the string single-quoted so the shell passes it on byte for byte. A string
// that already is exactly such a call is left as it is; one that merely starts with skillrun's
// path is wrapped like any other, or `skillrun -- true; cat ~/.ssh/id_rsa` would escape.
func wrapShell(self, s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("the command holds a NUL byte, which no shell can pass on")
	}
	prefix := shellQuote(self) + " -c "
	if rest, ok := strings.CutPrefix(s, prefix); ok && singleQuotedWord(rest) {
		return s, nil
	}
	return prefix + singleQuote(s), nil
}

// wrapArgv rewrites an argv command (Codex may send one) to SELF -- ARGV.
func wrapArgv(self string, argv []string) []string {
	if argv[0] == self {
		return argv
	}
	return append([]string{self, "--"}, argv...)
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
