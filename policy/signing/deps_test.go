package signing

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestSigningIsPure enforces the import rule: callers do the file I/O and pass bytes, so the
// package's own files import nothing that reaches the system. (Its dependencies do, e.g.
// x/crypto/ssh for its network client; only this package's own imports are checked.)
func TestSigningIsPure(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-json", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkg struct {
		Imports  []string
		CgoFiles []string
	}
	if err := json.Unmarshal(out, &pkg); err != nil {
		t.Fatal(err)
	}
	if len(pkg.CgoFiles) > 0 {
		t.Errorf("policy/signing uses cgo: %v", pkg.CgoFiles)
	}
	for _, imp := range pkg.Imports {
		switch {
		case imp == "os", imp == "os/exec", imp == "syscall", imp == "net", imp == "unsafe", imp == "io/ioutil", imp == "C",
			strings.HasPrefix(imp, "net/"), strings.HasPrefix(imp, "golang.org/x/sys"),
			strings.HasPrefix(imp, "github.com/skillrun/skillrun/"):
			t.Errorf("policy/signing imports %s: it must stay pure (and must not import the rest of skillrun, which will import it)", imp)
		}
	}
}
