package test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestToolchainProfileForAgentCommands: `skillrun --profile go -- go test ./...` builds and tests a
// module with the agent's view plus Go's, offline; toolchains combine (repeated or as a comma list) and come from the policy's
// agent.extends too; two whole views are refused with what to do.
func TestToolchainProfileForAgentCommands(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not installed: %v", err)
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.write(filepath.Join(e.workspace, "go.mod"), "module example.com/tiny\n\ngo 1.22\n", 0o644)
		e.write(filepath.Join(e.workspace, "tiny.go"), "package tiny\n\nfunc Greet(n string) string { return \"hello \" + n }\n", 0o644)
		e.extraEnv = []string{"PATH=" + filepath.Dir(goBin) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-mod=mod"}
		r := e.run("--profile", "go", "--", "sh", "-c", "go build ./... && go vet ./... && echo built")
		if r.code != 0 || r.stdout != "built\n" {
			t.Fatalf("--profile go: go build failed:\n%s", r)
		}
		// go test compiles the standard library into the run's private, empty build cache: on a
		// loaded 2-core machine that takes minutes, hence the longer bound (not a timing assertion).
		e.write(filepath.Join(e.workspace, "tiny_test.go"), "package tiny\n\nimport \"testing\"\n\nfunc TestGreet(t *testing.T) {\n\tif Greet(\"go\") != \"hello go\" {\n\t\tt.Fatal(Greet(\"go\"))\n\t}\n}\n", 0o644)
		r = e.runLong(15*time.Minute, "--profile", "go", "--", "go", "test", "-count=1", "./...")
		if r.code != 0 || !strings.Contains(r.stdout, "ok  \texample.com/tiny") {
			t.Fatalf("--profile go: go test failed:\n%s", r)
		}
		if strings.Contains(r.stderr, "blocked") {
			t.Errorf("--profile go: something was refused:\n%s", r)
		}
		// Go's private build cache shows the toolchain's capabilities are there.
		for _, flags := range [][]string{{"--profile", "go"}, {"--profile", "go,node"}, {"--profile", "node", "--profile", "go"}, {"-p", "agent,go"}} {
			r := e.run(append(flags, "--", "go", "env", "GOCACHE")...)
			if r.code != 0 || r.stdout != "/tmp/go-build\n" {
				t.Errorf("%v: GOCACHE is not the go profile's:\n%s", flags, r)
			}
		}
		r = e.run("plan", "--json", "--profile", "go,node", "--", "true")
		if !strings.Contains(r.stdout, `"profile": "agent"`) || !strings.Contains(r.stdout, "\"toolchains\": [\n    \"go\",\n    \"node\"\n  ]") {
			t.Errorf("plan: want the agent view with go and node:\n%s", r)
		}
		// Without the toolchain, Go's default cache (the control).
		if r := e.run("--", "go", "env", "GOCACHE"); r.code != 0 || r.stdout == "/tmp/go-build\n" {
			t.Errorf("without --profile go: %s", r)
		}
		// The policy's agent.extends gives every agent command the toolchain.
		pol := filepath.Join(e.base, "policy.yaml")
		e.write(pol, "version: 1\nagent:\n  extends: [go]\n", 0o600)
		e.extraEnv = append(e.extraEnv, "SKILLRUN_POLICY="+pol)
		if r := e.run("--", "go", "env", "GOCACHE"); r.code != 0 || r.stdout != "/tmp/go-build\n" {
			t.Errorf("agent.extends: [go]: %s", r)
		}
		// Two whole views, or a view in agent.extends: refused, saying what to do.
		r = e.run("--profile", "agent", "--profile", "untrusted", "--", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "profiles agent and untrusted are both whole views") ||
			!strings.Contains(r.stderr, "name one view (agent, claude-code, learn, untrusted) and any toolchains beside it") {
			t.Errorf("two views:\n%s", r)
		}
		e.write(pol, "version: 1\nagent:\n  extends: [untrusted]\n", 0o600)
		r = e.run("--", "true")
		if r.code != 125 || !strings.Contains(r.stderr, pol+":3:13: agent.extends: untrusted is a whole view, not a toolchain: make it default_profile") {
			t.Errorf("a view in agent.extends:\n%s", r)
		}
		e.assertNoState()
	})
}

// runLong is run with a longer bound, for commands that compile a toolchain's standard library.
func (e *env) runLong(d time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := e.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running skillrun: %v", err)
	}
	return r
}
