package policy

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestPolicyIsPure enforces the architecture's import rule: policy compiles plans and never touches
// the kernel, so it imports no syscall package, no cgo and nothing of the sandbox or its libraries.
func TestPolicyIsPure(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-json", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	forbiddenDeps := []string{"opencontainers/runc", "seccomp", "landlock", "github.com/skillrun/skillrun/sandbox", "golang.org/x/sys/unix"}
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
			CgoFiles   []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		for _, bad := range forbiddenDeps {
			if strings.Contains(pkg.ImportPath, bad) {
				t.Errorf("policy depends on %s", pkg.ImportPath)
			}
		}
		if pkg.ImportPath != "github.com/skillrun/skillrun/policy" {
			continue
		}
		if len(pkg.CgoFiles) > 0 {
			t.Errorf("policy uses cgo: %v", pkg.CgoFiles)
		}
		for _, imp := range pkg.Imports {
			switch imp {
			case "syscall", "os", "os/exec", "C", "unsafe", "io/ioutil", "net":
				t.Errorf("policy imports %s: it must not touch the system", imp)
			}
		}
	}
}
