package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ovhVariant is one way of running /bin/true, timed side by side with the others.
type ovhVariant struct {
	name  string
	argv  []string
	env   []string // added to the identity's environment
	times []time.Duration
	rss   int64 // peak RSS of the launched process, KiB
}

// BenchmarkCommandOverhead measures the per-command overhead of `skillrun -- /bin/true` over a bare
// exec of /bin/true, and over bubblewrap with the same view when bwrap is installed, as medians of
// many runs interleaved round-robin so machine noise hits every variant alike. It runs as the
// current user and, when root, as the unprivileged test user too. It asserts nothing about speed.
func BenchmarkCommandOverhead(b *testing.B) {
	const warmup, rounds = 10, 150
	for _, id := range ovhIdentities(b) {
		e := newEnv(b, id)
		variants := []*ovhVariant{
			{name: "bare exec /bin/true", argv: []string{"/bin/true"}},
			{name: "skillrun plan (policy only)", argv: []string{skillrunBin, "plan", "--", "/bin/true"}},
			{name: "skillrun -- /bin/true", argv: []string{skillrunBin, "--", "/bin/true"}},
		}
		if skill := ovhSkill(b, e); skill != "" {
			variants = append(variants, &ovhVariant{name: "skillrun, approved skill", argv: []string{skillrunBin, "--", skill}})
		}
		// A plan with a host: the stage opens the proxy's socket and the proxy runs for the run.
		egressPolicy := filepath.Join(e.base, "egress-policy.yaml")
		e.write(egressPolicy, "version: 1\nagent:\n  network:\n    allow: [\"api.example.com:443\"]\n", 0o600)
		variants = append(variants, &ovhVariant{name: "skillrun, egress proxy", argv: []string{skillrunBin, "--", "/bin/true"},
			env: []string{"SKILLRUN_POLICY=" + egressPolicy}})
		if bw, err := exec.LookPath("bwrap"); err == nil {
			variants = append(variants, &ovhVariant{name: "bwrap, same view", argv: ovhBwrapArgv(bw, e)})
		} else {
			fmt.Println("bwrap is not installed: no bwrap comparison (make bench installs it)")
		}
		for i := 0; i < warmup+rounds; i++ {
			for _, v := range variants {
				cmd := exec.Command(v.argv[0], v.argv[1:]...)
				cmd.Dir, cmd.Env = e.workspace, append(e.environ(), v.env...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: id.cred}
				start := time.Now()
				out, err := cmd.CombinedOutput()
				d := time.Since(start)
				if err != nil {
					b.Fatalf("%s (%s): %v\n%s", v.name, id.name, err, out)
				}
				if i >= warmup {
					v.times = append(v.times, d)
				}
			}
		}
		for _, v := range variants {
			v.rss = ovhPeakRSS(b, e, v.argv)
		}
		bare := ovhMedian(variants[0].times)
		fmt.Printf("\nper-command cost as %s (%d rounds, medians; peak RSS covers the launcher and the children it waited for)\n", id.name, rounds)
		fmt.Printf("%-30s %9s %9s %11s %8s %9s\n", "variant", "median", "p90", "over bare", "ratio", "peak RSS")
		for _, v := range variants {
			m := ovhMedian(v.times)
			fmt.Printf("%-30s %7.2fms %7.2fms %+9.2fms %7.1fx %7.1fMB\n", v.name, ms(m), ms(ovhPercentile(v.times, 0.9)),
				ms(m-bare), float64(m)/float64(bare), float64(v.rss)/1024)
			b.ReportMetric(ms(m-bare), strings.ReplaceAll(id.name+"/"+v.name, " ", "_")+"-overhead-ms")
		}
		if last := variants[len(variants)-1]; strings.HasPrefix(last.name, "bwrap") {
			fmt.Printf("skillrun / bwrap: %.2fx\n", float64(ovhMedian(variants[2].times))/float64(ovhMedian(last.times)))
		}
	}
}

// ovhSkill plants and approves a skill of 100 files and 2 MB whose command is /bin/true, so the
// variant pays attribution, the manifest, the lock, the digest and the verified copy.
func ovhSkill(b *testing.B, e *env) string {
	dir := filepath.Join(e.home, ".agents", "skills", "bench")
	files := map[string]string{"run.sh": "#!/bin/true\n"}
	for i := 0; i < 98; i++ {
		files[fmt.Sprintf("lib/f%02d.txt", i)] = strings.Repeat(fmt.Sprintf("%02d", i), 10700)
	}
	e.skill(dir, "version: 1\nname: bench\nfilesystem:\n  read: [\"${WORKSPACE}\"]\n", files)
	cmd := e.command(context.Background(), "approve", "--yes", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("approve the bench skill: %v\n%s", err, out)
	}
	return filepath.Join(dir, "run.sh")
}

// ovhPeakRSS is the peak resident set of argv and the children it waited for, in KiB, as the
// probe reports it (see probe rss), the largest of five runs.
func ovhPeakRSS(b *testing.B, e *env, argv []string) int64 {
	var peak int64
	for i := 0; i < 5; i++ {
		cmd := exec.Command(probeBin, append([]string{"rss"}, argv...)...)
		cmd.Dir, cmd.Env = e.workspace, e.environ()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("%v: %v\n%s", argv, err, out)
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			b.Fatalf("probe rss: %q", out)
		}
		peak = max(peak, kib)
	}
	return peak
}

func ovhIdentities(b *testing.B) []identity {
	if os.Geteuid() != 0 {
		fmt.Println("not root: measuring as the current user only")
	}
	return identities(b)
}

// ovhBwrapArgv is bubblewrap with the view skillrun builds: system read-only, workspace
// read-write, empty home and /tmp, fresh /proc and /dev, all namespaces, a new session.
func ovhBwrapArgv(bwrap string, e *env) []string {
	argv := []string{bwrap, "--unshare-all", "--die-with-parent", "--new-session"}
	for _, d := range []string{"/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib64", "/lib32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(d)
			argv = append(argv, "--symlink", target, d)
		default:
			argv = append(argv, "--ro-bind", d, d)
		}
	}
	return append(argv, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", e.home,
		"--bind", e.workspace, e.workspace, "--chdir", e.workspace, "/bin/true")
}

func ovhMedian(d []time.Duration) time.Duration { return ovhPercentile(d, 0.5) }

func ovhPercentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
