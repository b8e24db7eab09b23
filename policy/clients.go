package policy

import (
	"path"
	"regexp"
	"strings"
	"sync"
)

// ClaudeCodeProfile is the profile of agent commands that Claude Code issues.
const ClaudeCodeProfile = "claude-code"

// claudeWrapperTail matches the end of the script Claude Code hands its shell prefix: after the
// model's command it records the final directory with `pwd -P >| <tmp>/claude-<hex>-cwd` and
// reads that file back to carry `cd` over to the next command (design section 6). Without the
// write, every successful command would be reported as a failure.
// Compiled on first use: package init runs in every start of the binary, the sandbox's too.
var claudeWrapperTail = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`&& pwd -P >\| ([^\s'"$;&|<>]+/claude-[0-9A-Za-z]{1,64}-cwd)\s*$`)
})

// ClaudeCwdFile returns the cwd file a Claude Code command writes, or "" when the request is not
// Claude Code's wrapper. The file must lie directly in /tmp or in the caller's TMPDIR.
func ClaudeCwdFile(r *Request) string {
	if r.Command.Shell == nil || !fromClaudeCode(r.Environ) {
		return ""
	}
	m := claudeWrapperTail().FindStringSubmatch(*r.Command.Shell)
	if m == nil {
		return ""
	}
	f := m[1]
	dir := path.Dir(f)
	if path.Clean(f) != f || (dir != "/tmp" && dir != path.Clean(envValue(r.Environ, "TMPDIR"))) {
		return ""
	}
	return f
}

// fromClaudeCode recognises Claude Code by the variable it sets in every command's environment.
func fromClaudeCode(environ []string) bool {
	return envValue(environ, "CLAUDECODE") == "1"
}

func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}
