package learn

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestLearnIsPure enforces the import rule: learn only turns a record into a proposal,
// so it never touches the system: the recorder lives in sandbox, the file side in the CLI.
func TestLearnIsPure(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-json", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
			CgoFiles   []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(pkg.ImportPath, "golang.org/x/sys/unix") || strings.Contains(pkg.ImportPath, "opencontainers/runc") || strings.HasPrefix(pkg.ImportPath, "github.com/skillrun/skillrun/sandbox") {
			t.Errorf("policy/learn depends on %s", pkg.ImportPath)
		}
		if pkg.ImportPath != "github.com/skillrun/skillrun/policy/learn" {
			continue
		}
		if len(pkg.CgoFiles) > 0 {
			t.Errorf("policy/learn uses cgo: %v", pkg.CgoFiles)
		}
		for _, imp := range pkg.Imports {
			switch imp {
			case "syscall", "os", "os/exec", "C", "unsafe", "io/ioutil", "net":
				t.Errorf("policy/learn imports %s: it must not touch the system", imp)
			}
		}
	}
}
