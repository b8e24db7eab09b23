package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox"
)

// TestRunParsesNoYAML: `skillrun -- CMD` with no policy file and no skill (so no manifest and no
// lock) parses no YAML before or after the sandbox: the request with its workspace walk, the plan,
// the check of the workspace after the command and the audit record. A policy file, once there,
// is parsed: the count is live.
func TestRunParsesNoYAML(t *testing.T) {
	home, ws := t.TempDir(), t.TempDir()
	for k, v := range map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_STATE_HOME": filepath.Join(home, ".local/state"), "XDG_CACHE_HOME": filepath.Join(home, ".cache")} {
		t.Setenv(k, v)
	}
	t.Chdir(ws)
	run := func() {
		t.Helper()
		c := runContext(t, nil, "/bin/true")
		c.App.Metadata["stdin"], c.App.Metadata["stdout"], c.App.Metadata["stderr"] = os.Stdin, os.Stdout, os.Stderr
		req, err := buildRequest(c, false)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := compile(req)
		if err != nil {
			t.Fatal(err)
		}
		checkAfter(io.Discard, req, plan, true)
		rec := &runRecord{c: c, req: &req, plan: plan, res: &sandbox.Result{}}
		rec.finish(nil)
	}
	start := policy.ParsedDocuments()
	run()
	run()
	if n := policy.ParsedDocuments() - start; n != 0 {
		t.Errorf("two runs without a policy, a manifest or a lock parsed %d YAML documents, want none", n)
	}
	pol := filepath.Join(home, ".config", "skillrun", policy.PolicyFile)
	if err := os.MkdirAll(filepath.Dir(pol), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pol, []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start = policy.ParsedDocuments()
	run()
	if n := policy.ParsedDocuments() - start; n == 0 {
		t.Error("a run with a policy file parsed no YAML: the count is not live")
	}
}
