package main

import (
	"os"

	"github.com/skillrun/skillrun/policy"
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
