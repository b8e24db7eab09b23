package test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkLearn measures what recording costs: a skill's script that opens 1,000 files of the
// workspace (bash reading each one), run as an unapproved skill in the normal sandbox and under
// skillrun learn, against bare bash. Rounds are interleaved with the first launcher rotating and
// medians reported, of the wall time and of the script's own time as bash measured it inside
// (without skillrun's start-up, and without learn's proposal afterwards). Target: learn under 3x
// the normal run. It runs as the current user and, when root, as the unprivileged test user too,
// and asserts nothing about speed.
func BenchmarkLearn(b *testing.B) {
	const warmup, rounds = 2, 15
	script := `TIMEFORMAT=%3R; time { for f in many/*; do read -r x < "$f"; done; }`
	for _, id := range ovhIdentities(b) {
		e := newEnv(b, id)
		e.mkdir(filepath.Join(e.workspace, "many"), 0o755)
		for i := 0; i < 1000; i++ {
			e.write(filepath.Join(e.workspace, "many", fmt.Sprintf("f%04d", i)), strconv.Itoa(i)+"\n", 0o644)
		}
		dir := e.skill(filepath.Join(e.home, ".agents", "skills", "reader"), "", map[string]string{"run.sh": "#!/bin/sh\n"})
		launchers := []struct {
			name string
			argv []string
		}{
			{"bare bash", []string{"/bin/bash", "-c", script}},
			{"skillrun (unapproved skill)", []string{skillrunBin, "--skill-dir", dir, "-c", script}},
			{"skillrun learn", []string{skillrunBin, "learn", "--skill-dir", dir, "-c", script}},
		}
		wall := make([][]time.Duration, len(launchers))
		inside := make([][]time.Duration, len(launchers))
		for i := 0; i < warmup+rounds; i++ {
			for j := range launchers {
				l := (i + j) % len(launchers)
				d, in := learnRun(b, e, launchers[l].argv)
				if i >= warmup {
					wall[l] = append(wall[l], d)
					inside[l] = append(inside[l], in)
				}
			}
		}
		fmt.Printf("\nlearn's recording as %s: a script that opens 1,000 files (%d rounds interleaved, medians)\n", id.name, rounds)
		fmt.Printf("%-30s %9s %9s %10s %10s %10s\n", "launcher", "wall", "p90", "x normal", "inside", "x normal")
		for l, ln := range launchers {
			m, in := ovhMedian(wall[l]), ovhMedian(inside[l])
			nm, nin := ovhMedian(wall[1]), ovhMedian(inside[1])
			fmt.Printf("%-30s %7.1fms %7.1fms %9.2fx %8.1fms %9.2fx\n", ln.name, ms(m), ms(ovhPercentile(wall[l], 0.9)),
				float64(m)/float64(nm), ms(in), float64(in)/float64(max(nin, time.Millisecond)))
		}
		ratio := float64(ovhMedian(wall[2])) / float64(ovhMedian(wall[1]))
		b.ReportMetric(ratio, id.name+"/learn-x-normal")
		b.ReportMetric(float64(ovhMedian(inside[2]))/float64(max(ovhMedian(inside[1]), time.Millisecond)), id.name+"/learn-inside-x-normal")
		fmt.Printf("learn / normal run: %.2fx (target < 3x)\n", ratio)
	}
}

// learnRun runs argv in the workspace as the identity; it returns the wall time and the time bash
// printed inside (TIMEFORMAT=%3R), and fails b unless the command exits 0.
func learnRun(b *testing.B, e *env, argv []string) (time.Duration, time.Duration) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = e.workspace, e.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%q as %s: %v\n%s", argv, e.id.name, err, errb.String())
	}
	for _, l := range strings.Split(errb.String(), "\n") {
		if secs, err := strconv.ParseFloat(strings.TrimSpace(l), 64); err == nil {
			return d, time.Duration(secs * float64(time.Second))
		}
	}
	b.Fatalf("%q as %s: no time on stderr: %q", argv, e.id.name, errb.String())
	return 0, 0
}
