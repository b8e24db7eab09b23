package degraded

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox/seccomp"
)

// The test binary plays the exec step, so the code under test is exactly what runs.
func init() {
	if len(os.Args) > 1 && os.Args[1] == ExecArg {
		ExecMain(os.Args[2:])
	}
}

// TestExecRefusesWithoutFilter runs this test binary as the exec step (which sets no_new_privs
// itself, so no namespaces are needed): a spec without its seccomp program must not run the
// command, and the same spec with the program must.
func TestExecRefusesWithoutFilter(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	prog, err := seccomp.Program(seccomp.Options{HostNamespaces: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		filter []byte
		runs   bool
	}{
		{"without the program", nil, false},
		{"with the program", prog, true},
	} {
		os.Remove(marker)
		spec, _ := json.Marshal(execSpec{
			Argv: []string{"/bin/sh", "-c", `echo ran > "$0"`, marker}, Cwd: dir, Seccomp: c.filter,
			Confine: policy.Confine{Seccomp: policy.SeccompDefault, Landlock: policy.Landlock{MinABI: 1, Paths: []policy.LandlockPath{
				{Path: "/", Rights: []string{policy.RightRead, policy.RightExec}},
				{Path: dir, Rights: []string{policy.RightRead, policy.RightWrite}},
			}}},
		})
		cmd := exec.Command(self, ExecArg, string(spec))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		_, statErr := os.Stat(marker)
		ran := statErr == nil
		var exit *exec.ExitError
		switch {
		case c.runs && (err != nil || !ran):
			t.Errorf("%s: %v, ran %v:\n%s", c.name, err, ran, out)
		case !c.runs && ran:
			t.Errorf("%s: the command ran:\n%s", c.name, out)
		case !c.runs && (!errors.As(err, &exit) || exit.ExitCode() != exitSetup || !strings.Contains(string(out), "refusing to run the command unfiltered")):
			t.Errorf("%s: %v, want exit %d and the refusal:\n%s", c.name, err, exitSetup, out)
		}
	}
}
