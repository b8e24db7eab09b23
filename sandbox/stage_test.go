package sandbox

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/stage"
)

// goStageArg makes the test binary call the Go stage entry, which the C stage otherwise never
// lets Go reach.
const goStageArg = "__gostage"

// TestStageRefusesBadSpecs runs the C stage (this test binary, as `__stage`) with specs it must
// refuse before it touches anything: exit 125 and the reason. Nothing here starts a sandbox.
func TestStageRefusesBadSpecs(t *testing.T) {
	spec := stage.Spec{Cwd: "/", Landlock: landlock.Ruleset{MinABI: 1, ABI: 1, HandledFS: 1}, Seccomp: make([]byte, 8)}
	good, err := spec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := hex.DecodeString(good)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no spec", nil, "stage: no spec"},
		{"odd hex", []string{good[1:]}, "stage: bad spec: odd length"},
		{"not hex", []string{strings.ToUpper(good)}, "stage: bad spec: not hex"},
		{"truncated", []string{good[:len(good)-2]}, "stage: bad spec: truncated seccomp program"},
		{"trailing byte", []string{good + "00"}, "stage: bad spec: bytes after the end"},
		{"another format", []string{hex.EncodeToString(append([]byte("SRSTAGE0"), raw[8:]...))}, "stage: bad spec: not a stage spec of this binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append([]string{StageArg}, tc.args...)...)
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != exitSetup || string(out) != "skillrun: error: "+tc.want+"\n" {
				t.Errorf("exit %d, %q; want exit %d, %q", code, out, exitSetup, "skillrun: error: "+tc.want+"\n")
			}
		})
	}
}

// TestGoStageFailsClosed: a binary whose C stage did not run refuses to start the command.
func TestGoStageFailsClosed(t *testing.T) {
	cmd := exec.Command(os.Args[0], goStageArg, "spec", "true")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitSetup || !strings.Contains(string(out), "built without its in-sandbox stage") {
		t.Errorf("exit %d, %q", code, out)
	}
}
