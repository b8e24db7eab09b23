package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/sandbox"
)

// TestDoctorText pins doctor's text against golden files, among them a kernel that leaves
// nothing unenforced: an empty list says so on its title line instead of printing an empty item.
func TestDoctorText(t *testing.T) {
	base := sandbox.Facts{Kernel: "6.8.0", Root: true, LandlockABI: 6, Landlock: "available", Seccomp: true, SeccompNotif: true,
		UserNS: true, MaskWatch: true, Cgroup: "v2", CgroupNote: "usable (root)", StateRoot: "/run/skillrun",
		Enforced: []string{"pid namespace", "", "no_new_privs"}, Ready: true}
	old := base
	old.Kernel, old.Root, old.UID, old.LandlockABI, old.UserNSNote, old.UserNS = "5.15.0", false, 1000, 3, "refused (EPERM)", false
	old.NotEnforced = []string{"landlock scopes for signals and abstract unix sockets (ABI 6; the pid and network namespaces cover them)", " "}
	for name, f := range map[string]sandbox.Facts{"complete": base, "old-kernel": old} {
		var b strings.Builder
		doctorText(&b, f)
		got := b.String()
		for _, line := range strings.Split(got, "\n") {
			if strings.TrimSpace(line) == "-" {
				t.Errorf("%s: empty list item in:\n%s", name, got)
			}
		}
		golden := filepath.Join("testdata", "doctor", name+".txt")
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil || string(want) != got {
			t.Errorf("%s: doctor text differs from %s (%v); got:\n%s", name, golden, err, got)
		}
	}
	if got := nonEmpty(nil); got == nil || len(nonEmpty([]string{"", " \t"})) != 0 {
		t.Errorf("nonEmpty must drop blanks and never be nil (JSON [] rather than null)")
	}
}
