package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sabotageMarker is a string only the sabotage builds of the stage carry (sandbox/stage/stage.c).
const sabotageMarker = "skillrun-stage-sabotage"

// TestStageSabotage proves the escape battery would notice a stage that confines less: skillrun
// is built with a tag that leaves the Landlock ruleset, or the seccomp filter, out of the C
// stage, and the tests that must catch it are run against that build, which they must fail, as
// root and as the unprivileged user. The binary under test must be no such build.
func TestStageSabotage(t *testing.T) {
	release, err := os.ReadFile(skillrunBin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(release, []byte(sabotageMarker)) {
		t.Fatalf("%s is a sabotage build: its stage leaves out the ruleset or the filter", skillrunBin)
	}
	for _, tc := range []struct {
		tag   string
		tests []string // each must fail, for each identity
	}{
		{"stagesabotage_noruleset", []string{"TestLandlockBelowTheMounts"}},
		{"stagesabotage_nofilter", []string{"TestEscapeSyscalls", "TestEscapePtrace", "TestEscapeNonNativeABI"}},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "skillrun")
			if err := goBuild(bin, "./cmd/skillrun", "1", buildTags+" "+tc.tag); err != nil {
				t.Fatalf("building the sabotage build: %v", err)
			}
			if b, _ := os.ReadFile(bin); !bytes.Contains(b, []byte(sabotageMarker)) {
				t.Fatalf("the %s build does not carry the sabotage marker: the tag did not reach the stage", tc.tag)
			}
			cmd := exec.Command("go", "test", "-tags", buildTags, "-count=1", "-v",
				"-run", "^("+strings.Join(tc.tests, "|")+")$", "./test/")
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), "SKILLRUN_BIN="+bin)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the battery passed against a stage built with %s:\n%s", tc.tag, out)
			}
			for _, name := range tc.tests {
				for _, id := range identities(t) {
					if want := "--- FAIL: " + name + "/" + id.name + " "; !strings.Contains(string(out), want) {
						t.Errorf("%s did not fail as %s against the %s build:\n%s", name, id.name, tc.tag, out)
					}
				}
			}
		})
	}
}
