package test

import (
	"context"
	"encoding/json"
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
	spans [][2]time.Time
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
		bwrapAt := -1
		if bw, err := exec.LookPath("bwrap"); err == nil {
			bwrapAt = len(variants)
			variants = append(variants, &ovhVariant{name: "bwrap, same view", argv: ovhBwrapArgv(bw, e)})
		} else {
			fmt.Println("bwrap is not installed: no bwrap comparison (make bench installs it)")
		}
		codexAt := -1
		if codex := ovhCodex(b, e); codex != nil {
			codexAt = len(variants)
			variants = append(variants, codex)
		}
		// The same command traced (sandbox/trace): not timed with the others, its phases make the
		// table of where the time goes.
		traceFile := filepath.Join(e.workspace, ".trace-"+id.name+".jsonl") // the workspace is the identity's own
		traced := &ovhVariant{name: "traced", argv: []string{skillrunBin, "--", "/bin/true"}, env: []string{"SKILLRUN_TRACE=" + traceFile}}
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
			if i >= warmup && i < warmup+ovhTracedRounds {
				ovhRun(b, e, traced)
			}
		}
		for _, v := range variants {
			v.rss = ovhPeakRSS(b, e, v)
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
		over := func(v *ovhVariant) time.Duration { return ovhMedian(v.times) - bare }
		if bwrapAt >= 0 {
			fmt.Printf("skillrun / bwrap: %.2fx whole command, %.1fx overhead (issue 16's target: at most 5x overhead)\n",
				float64(ovhMedian(variants[2].times))/float64(ovhMedian(variants[bwrapAt].times)),
				float64(over(variants[2]))/float64(over(variants[bwrapAt])))
		}
		if codexAt >= 0 {
			fmt.Printf("codex sandbox / skillrun: %.2fx overhead (target: at least 2x)\n", float64(over(variants[codexAt]))/float64(over(variants[2])))
		}
		ovhPhases(b, traceFile, traced, bare)
	}
}

// ovhTracedRounds is how many of the rounds also run the traced variant.
const ovhTracedRounds = 60

// ovhRun runs v once more and keeps its time, and its start and end on the wall clock in
// v.spans (the traced runs' "@init" and "@flush" are read against them).
func ovhRun(b *testing.B, e *env, v *ovhVariant) {
	cmd := exec.Command(v.argv[0], v.argv[1:]...)
	cmd.Dir, cmd.Env = e.workspace, append(e.environ(), v.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	end := time.Now()
	v.times = append(v.times, end.Sub(start))
	v.spans = append(v.spans, [2]time.Time{start, end})
	if err != nil {
		b.Fatalf("%s (%s): %v\n%s", v.name, e.id.name, err, out)
	}
}

// ovhPhases prints the median of each phase the traced runs wrote (sandbox/trace), and what
// the process's own clock cannot see, from the wall clock around each run: the exec and the Go
// runtime's start until the trace package was initialised, and the exit after its last line.
func ovhPhases(b *testing.B, file string, traced *ovhVariant, bare time.Duration) {
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatalf("the traced runs wrote no phases: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != len(traced.spans) {
		b.Fatalf("%d traced runs wrote %d lines", len(traced.spans), len(lines))
	}
	var order []string
	phases := map[string][]float64{}
	for i, line := range lines {
		var row map[string]float64
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			b.Fatalf("trace line %q: %v", line, err)
		}
		wall := func(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }
		row["exec and runtime start"] = row["@init"] - wall(traced.spans[i][0])
		row["exit"] = wall(traced.spans[i][1]) - row["@flush"]
		names := append([]string{"exec and runtime start"}, ovhTraceOrder(line)...)
		for _, name := range append(names, "exit") {
			if strings.HasPrefix(name, "@") {
				continue
			}
			if _, seen := phases[name]; !seen {
				order = append(order, name)
			}
			phases[name] = append(phases[name], row[name])
		}
	}
	fmt.Printf("where skillrun -- /bin/true spends its time (%d traced runs, medians, ms; the bare exec's time is part of the first line)\n", len(lines))
	sum := 0.0
	for _, name := range order {
		v := phases[name]
		sort.Float64s(v)
		m := v[len(v)/2]
		sum += m
		fmt.Printf("  %-34s %7.2f\n", name, m)
	}
	fmt.Printf("  %-34s %7.2f (sum of the medians %.2f; median overhead of the traced runs over bare exec %.2f)\n",
		"total", ms(ovhMedian(traced.times)), sum, ms(ovhMedian(traced.times)-bare))
}

// ovhTraceOrder is the phases' names in the order the line has them (JSON objects have none).
func ovhTraceOrder(line string) []string {
	var names []string
	dec := json.NewDecoder(strings.NewReader(line))
	_, _ = dec.Token() // {
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			break
		}
		names = append(names, k.(string))
		_, _ = dec.Token() // the value
	}
	return names
}

// ovhCodex is OpenAI Codex's own Linux sandbox running /bin/true, when SKILLRUN_CODEX names
// the Codex CLI's native binary (make bench finds it in bin/agents). Codex keeps helper links
// in CODEX_HOME and refuses to make them under the temporary folder, so TMPDIR points elsewhere.
func ovhCodex(b *testing.B, e *env) *ovhVariant {
	src := os.Getenv("SKILLRUN_CODEX")
	if src == "" {
		fmt.Println("SKILLRUN_CODEX is not set: no codex sandbox comparison (make bench sets it when the Codex CLI can be installed)")
		return nil
	}
	// The unprivileged user may not reach the clone: link (or copy) the binary beside the others.
	bin := filepath.Join(filepath.Dir(skillrunBin), "codex")
	if _, err := os.Stat(bin); err != nil {
		if err := os.Link(src, bin); err != nil {
			if err := copyFile(src, bin, 0o755); err != nil {
				b.Fatalf("codex: %v", err)
			}
		}
	}
	home := filepath.Join(e.base, "codex-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		b.Fatal(err)
	}
	if e.id.cred != nil {
		if err := os.Chown(home, e.id.uid, e.id.gid); err != nil {
			b.Fatal(err)
		}
	}
	return &ovhVariant{name: "codex sandbox", argv: []string{bin, "sandbox", "--", "/bin/true"},
		env: []string{"CODEX_HOME=" + home, "TMPDIR=" + e.workspace}}
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
func ovhPeakRSS(b *testing.B, e *env, v *ovhVariant) int64 {
	argv := v.argv
	var peak int64
	for i := 0; i < 5; i++ {
		cmd := exec.Command(probeBin, append([]string{"rss"}, argv...)...)
		cmd.Dir, cmd.Env = e.workspace, append(e.environ(), v.env...)
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
