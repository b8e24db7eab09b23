package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wlWorkload is one shell command timed under every launcher.
type wlWorkload struct {
	short, script string
}

// wlLauncher is one way of running a shell command: bare, skillrun -c, bwrap.
type wlLauncher struct {
	short, name string
	argv        func(script string) []string
}

// BenchmarkWorkload measures syscall-heavy work inside the sandbox against a bare exec of the same
// command, and against bubblewrap with the same view when bwrap is installed: `find /usr -type f |
// wc -l` (a walk of the whole system tree: openat, getdents64, newfstatat) and `git status` in a
// committed repository of 20,000 files (an lstat of every file, a readdir of every folder). Each
// command runs through bash -c under every launcher; the runs are interleaved round-robin (the
// first launcher of a round rotates) so machine noise and cache state hit every launcher alike,
// and medians are reported, both of the wall time (start to exit) and of the command's own time
// as bash measures it inside, which leaves the launcher's start-up out; `true` runs in the same
// rounds and shows the start-up alone. It runs as the current user and, when root, as the
// unprivileged test user too. It asserts nothing about speed.
func BenchmarkWorkload(b *testing.B) {
	const warmup, rounds = 3, 21
	workloads := []wlWorkload{
		{"true", "true"},
		{"find", "find /usr -type f 2>/dev/null | wc -l"},
		{"git-status", "git status"},
	}
	for _, id := range ovhIdentities(b) {
		e := newEnv(b, id)
		repo := wlRepo(b, e, 200, 100)
		launchers := []wlLauncher{
			{"bare", "bare exec", func(s string) []string { return []string{"/bin/bash", "-c", s} }},
			{"skillrun", "skillrun -c", func(s string) []string { return []string{skillrunBin, "-c", s} }},
		}
		if bw, err := exec.LookPath("bwrap"); err == nil {
			view := ovhBwrapArgv(bw, e)
			if view[len(view)-1] != "/bin/true" {
				b.Fatalf("ovhBwrapArgv no longer ends with the command: %q", view)
			}
			view = slices.Clip(append(view[:len(view)-1:len(view)-1], "--chdir", repo))
			launchers = append(launchers, wlLauncher{"bwrap", "bwrap, same view",
				func(s string) []string { return append(view, "/bin/bash", "-c", s) }})
		} else {
			fmt.Println("bwrap is not installed: no bwrap comparison (make bench installs it)")
		}
		times := map[[2]int][]time.Duration{}  // wall time of the launcher, start to exit
		inside := map[[2]int][]time.Duration{} // the command's own time, as bash measured it inside
		outputs := map[[2]int]string{}
		for i := 0; i < warmup+rounds; i++ {
			for w := range workloads {
				for j := range launchers {
					l := (j + i + w) % len(launchers) // who goes first rotates
					d, in, out := wlRun(b, e, repo, launchers[l].argv("TIMEFORMAT=%3R; time { "+workloads[w].script+"; }"))
					if i >= warmup {
						key := [2]int{w, l}
						times[key] = append(times[key], d)
						inside[key] = append(inside[key], in)
						if _, ok := outputs[key]; !ok {
							outputs[key] = out
						}
					}
				}
			}
		}
		fmt.Printf("\nsyscall-heavy work as %s (%d rounds interleaved, medians; git status in a committed repository of 20,000 files)\n", id.name, rounds)
		fmt.Printf("%-38s %-17s %9s %9s %10s %7s %10s %8s  %s\n", "workload", "launcher", "median", "p90", "over bare", "ratio",
			"inside", "ratio", "output")
		for w, wl := range workloads {
			bare, bareIn := ovhMedian(times[[2]int{w, 0}]), ovhMedian(inside[[2]int{w, 0}])
			for l, ln := range launchers {
				key := [2]int{w, l}
				m, in := ovhMedian(times[key]), ovhMedian(inside[key])
				ratio, inRatio := float64(m)/float64(bare), float64(in)/float64(max(bareIn, time.Millisecond))
				inCol := "-"
				if w > 0 {
					inCol = fmt.Sprintf("%.2fx", inRatio)
				}
				fmt.Printf("%-38s %-17s %7.1fms %7.1fms %+8.1fms %6.2fx %8.1fms %8s  %s\n", wl.script, ln.name, ms(m),
					ms(ovhPercentile(times[key], 0.9)), ms(m-bare), ratio, ms(in), inCol, wlSummary(outputs[key]))
				name := id.name + "/" + wl.short + "/" + ln.short
				b.ReportMetric(ms(m), name+"-ms")
				if l > 0 {
					b.ReportMetric(ratio, name+"-x-bare")
					if w > 0 {
						b.ReportMetric(inRatio, name+"-inside-x-bare")
					}
				}
			}
			if len(launchers) > 2 && w > 0 {
				fmt.Printf("%-38s skillrun / bwrap: %.2fx (inside: %.2fx)\n", "",
					float64(ovhMedian(times[[2]int{w, 1}]))/float64(ovhMedian(times[[2]int{w, 2}])),
					float64(ovhMedian(inside[[2]int{w, 1}]))/float64(ovhMedian(inside[[2]int{w, 2}])))
			}
		}
		fmt.Println("ratio: the launcher's median wall time (start to exit) over bare exec's; target <= 1.15x. inside: the command's")
		fmt.Println("own time as bash measured it inside the launcher (no start-up), and its ratio over bare exec's.")
		if f0, f1 := outputs[[2]int{1, 0}], outputs[[2]int{1, 1}]; f0 != f1 {
			fmt.Printf("note: find counts differ (bare %s, skillrun %s): as root the sandbox drops every capability, so\n"+
				"mode-0700 folders of other users (e.g. /usr/share/polkit-1/rules.d) are unreadable inside, as for any user\n",
				strings.TrimSpace(f0), strings.TrimSpace(f1))
		}
	}
}

// wlRun runs argv in dir as the identity and returns its wall time, the time bash printed last on
// stderr (TIMEFORMAT=%3R) and stdout; it fails b unless the command exits 0.
func wlRun(b *testing.B, e *env, dir string, argv []string) (time.Duration, time.Duration, string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, e.environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%q as %s: %v\n%s%s", argv, e.id.name, err, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	secs, err := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err != nil {
		b.Fatalf("%q as %s: no time on stderr: %q", argv, e.id.name, errb.String())
	}
	return d, time.Duration(secs * float64(time.Second)), out.String()
}

// wlSummary is the first line of a command's output, for the table.
func wlSummary(out string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return line
}

// wlRepo creates a git repository of dirs×files small files in a new folder of the workspace,
// owned by the identity, with everything committed and the index fresh.
func wlRepo(b *testing.B, e *env, dirs, files int) string {
	repo, err := os.MkdirTemp(e.workspace, "repo-")
	if err != nil {
		b.Fatal(err)
	}
	e.mkdir(repo, 0o755)
	for d := 0; d < dirs; d++ {
		dir := filepath.Join(repo, fmt.Sprintf("pkg%03d", d))
		e.mkdir(dir, 0o755)
		for f := 0; f < files; f++ {
			e.write(filepath.Join(dir, fmt.Sprintf("file%03d.txt", f)), fmt.Sprintf("package %d file %d\n", d, f), 0o644)
		}
	}
	e.hostGit(repo, "init", "-q")
	e.hostGit(repo, "add", "-A")
	e.hostGit(repo, "commit", "-q", "-m", "20k files")
	if out := e.hostGit(repo, "status", "--porcelain"); out != "" {
		b.Fatalf("the bench repository is not clean:\n%s", out)
	}
	return repo
}
