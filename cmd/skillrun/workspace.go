package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/wstree"
)

// inspectWorkspace finds what host tools run or obey in the workspace (every repository in it,
// nested agent files) so that the plan protects it. The walk is bounded and cached per workspace
// in skillrun's state folder; what it did not check, the plan says.
func inspectWorkspace(r *policy.Request) error {
	names, err := policy.AnyDepthNames()
	if err != nil {
		return withHints(exitFailed, err)
	}
	env := wstree.Env{Home: r.Home, XDGConfigHome: os.Getenv("XDG_CONFIG_HOME")}
	in := wstree.Inspect(r.Workspace, env, names, wstree.CacheFile(sandbox.StateRoot(), r.Workspace))
	r.Repos, r.NestedFiles, r.Unchecked = in.Repos, in.NestedFiles, in.Unchecked
	return nil
}

// checkAfter looks at the workspace again once the command has ended: a repository it created,
// or a file agents obey that it left where the run could not guard it, is disarmed, reported on
// w and returned for the audit record.
func checkAfter(w io.Writer, req policy.Request, plan *policy.Plan, quiet bool) []audit.Denial {
	writable := false
	for _, m := range plan.Mounts {
		writable = writable || (m.Access == policy.ReadWrite && (m.Path == req.Workspace || strings.HasPrefix(m.Path, req.Workspace+"/")))
	}
	if !writable {
		return nil
	}
	names, err := policy.AnyDepthNames()
	if err != nil {
		return nil
	}
	before := &wstree.Inspection{Repos: req.Repos, NestedFiles: req.NestedFiles}
	env := wstree.Env{Home: req.Home, XDGConfigHome: os.Getenv("XDG_CONFIG_HOME")}
	done, _ := wstree.After(before, req.Workspace, env, names, wstree.CacheFile(sandbox.StateRoot(), req.Workspace))
	var out []audit.Denial
	for i, n := range done {
		out = append(out, audit.Denial{Kind: audit.DenialPath, Path: n.Path, Access: "write",
			Rule: "floor: " + n.What + "; " + n.Done, Hint: n.Undo})
		if quiet || i >= maxBlockedLines {
			continue
		}
		fmt.Fprintf(w, "skillrun: blocked: %s: %s; %s\n", tildePath(n.Path, req.Home), n.What, n.Done)
		if n.Undo != "" {
			fmt.Fprintf(w, "skillrun: hint: if you trust it, undo with: %s\n", n.Undo)
		}
	}
	if n := len(done) - maxBlockedLines; n > 0 && !quiet {
		fmt.Fprintf(w, "skillrun: blocked: %d more; see them with: skillrun log --denied\n", n)
	}
	return out
}
