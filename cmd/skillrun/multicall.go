package main

import "path/filepath"

// shellName is the multi-call name: a link to skillrun called skillrun-sh behaves as skillrun -c.
// It is for callers that take one program and hand it one string, such as Claude Code's
// CLAUDE_CODE_SHELL_PREFIX when it starts hooks and stdio MCP servers.
const shellName = "skillrun-sh"

// multiCall turns `skillrun-sh STRING [ARGS...]` (or `skillrun-sh -c STRING [ARGS...]`, as sh
// takes it) into `skillrun -c STRING -- ARGS...`; any other name is left as it is. STRING is passed
// as -c=STRING, so a string that is exactly "--" is not taken for the end of skillrun's flags.
func multiCall(args []string) []string {
	if len(args) == 0 || filepath.Base(args[0]) != shellName {
		return args
	}
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "-c" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return args[:1] // "no command given"
	}
	out := []string{args[0], "-c=" + rest[0]}
	if len(rest) > 1 {
		out = append(append(out, "--"), rest[1:]...)
	}
	return out
}
