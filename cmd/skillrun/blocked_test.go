package main

import (
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/sandbox"
)

// TestReportBlockedCreations: one line per creation with the protecting line and what became of
// it, a hint with the policy line that would allow it, all in the audit record, nothing printed
// under --quiet.
func TestReportBlockedCreations(t *testing.T) {
	plan := &policy.Plan{Why: []policy.Decision{
		{Kind: "path", Subject: "/ws/.envrc", Decision: "protected", Origin: "floor", Reason: "never writable"},
		{Kind: "path", Subject: "/ws/notes", Decision: "protected", Origin: "policy.yaml:3:5", Reason: "writing denied"},
	}}
	req := policy.Request{Home: "/home/u", PolicyFile: "/home/u/.config/skillrun/policy.yaml"}
	blocked := []sandbox.BlockedCreation{
		{Path: "/ws/.envrc", Entry: "/ws/.envrc", Kept: "/run/q/sr-1/1-.envrc", Count: 2},
		{Path: "/ws/notes", Entry: "/ws/notes", Why: "removed: the state directory /run is on another file system", Count: 1},
		{Path: "/ws/.github", Entry: "/ws/.github/copilot-instructions.md", Link: true, Kept: "/run/q/sr-1/2-.github", Count: 1},
	}
	var w strings.Builder
	got := reportBlockedCreations(&w, plan, req, blocked, false)
	want := `skillrun: blocked: creation of /ws/.envrc 2 times (floor: never writable; undone, kept in /run/q/sr-1/1-.envrc)
skillrun: hint: the floor keeps it from every command; only if agent commands must write it, add to /home/u/.config/skillrun/policy.yaml, loudly: unsafe: {filesystem: {write: ["/ws/.envrc"]}}
skillrun: blocked: creation of /ws/notes (policy.yaml:3:5: writing denied; undone, removed: the state directory /run is on another file system)
skillrun: hint: it is denied by policy.yaml:3:5; remove that line if this command should write it
skillrun: blocked: creation of /ws/.github (a symlink on the way to /ws/.github/copilot-instructions.md, floor: never writable; undone, kept in /run/q/sr-1/2-.github)
skillrun: hint: the floor keeps it from every command; only if agent commands must write it, add to /home/u/.config/skillrun/policy.yaml, loudly: unsafe: {filesystem: {write: ["/ws/.github/copilot-instructions.md"]}}
`
	if w.String() != want {
		t.Errorf("got\n%s\nwant\n%s", w.String(), want)
	}
	if len(got) != 3 || got[0].Kind != audit.DenialPath || got[0].Access != "create" || got[0].Count != 2 || got[0].Hint == "" {
		t.Errorf("audit denials %+v", got)
	}
	w.Reset()
	if reportBlockedCreations(&w, plan, req, blocked, true); w.Len() != 0 {
		t.Errorf("--quiet printed:\n%s", w.String())
	}
}
