package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkMissingProtected measures what holding N missing protected names costs a whole run of
// /bin/true, with the creation watch (createguard.go) and with the placeholders it replaced: an
// empty folder made on the host for each name before the run, bound read-only over itself, and
// removed after it (made and removed in parallel by depth, as the old code did). Both go through
// the same Run, interleaved round-robin, medians. It asserts nothing about speed.
func BenchmarkMissingProtected(b *testing.B) {
	if os.Geteuid() != 0 && userNamespaceSysctlProblem() != "" {
		b.Skip("no user namespaces here: no sandbox to measure")
	}
	if why := createWatchSupport(); why != "" {
		b.Skipf("no creation watch here: %s", why)
	}
	const warmup, rounds = 5, 40
	type variant struct {
		name  string
		n     int
		place bool
		times []time.Duration
	}
	var variants []*variant
	for _, n := range []int{0, 10, 60, 200} {
		variants = append(variants, &variant{name: "watch", n: n})
		if n > 0 {
			variants = append(variants, &variant{name: "placeholders", n: n, place: true})
		}
	}
	base := b.TempDir()
	state := filepath.Join(base, "state")
	for i := 0; i < warmup+rounds; i++ {
		for vi, v := range variants {
			ws := filepath.Join(base, "ws-"+strconv.Itoa(vi))
			os.MkdirAll(ws, 0o755)
			var names []string
			for k := 0; k < v.n; k++ {
				// Like the floor's: most at the top, some a folder deeper.
				if k%5 == 4 {
					names = append(names, filepath.Join(ws, ".tool"+strconv.Itoa(k), "settings.json"))
				} else {
					names = append(names, filepath.Join(ws, ".name"+strconv.Itoa(k)))
				}
			}
			plan := testPlan(ws, nil, "/bin/true")
			plan.Protect = names
			start := time.Now()
			var made []string
			if v.place {
				made = makePlaceholders(b, names)
			}
			o := runTestPlan(b, plan, state)
			if v.place {
				removePlaceholders(made)
			}
			d := time.Since(start)
			if o.err != nil || o.res.ExitCode != 0 {
				b.Fatalf("%s/%d: %v %+v\n%s", v.name, v.n, o.err, o.res, o.stderr)
			}
			if i >= warmup {
				v.times = append(v.times, d)
			}
		}
	}
	median := func(ts []time.Duration) time.Duration {
		s := append([]time.Duration(nil), ts...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	zero := median(variants[0].times)
	fmt.Printf("\nrun of /bin/true holding N missing protected names (uid %d, %d rounds, medians)\n", os.Geteuid(), rounds)
	fmt.Printf("%-14s %5s %10s %12s\n", "mechanism", "N", "median", "over N=0")
	for _, v := range variants {
		m := median(v.times)
		fmt.Printf("%-14s %5d %8.2fms %+10.2fms\n", v.name, v.n, float64(m)/1e6, float64(m-zero)/1e6)
		b.ReportMetric(float64(m-zero)/1e6, fmt.Sprintf("%s-%d-ms", v.name, v.n))
	}
}

// makePlaceholders is the old way: every missing name and missing parent made, parents first, one
// depth at a time in parallel.
func makePlaceholders(b *testing.B, names []string) []string {
	var levels [2][]string
	seen := map[string]bool{}
	for _, n := range names {
		if d := filepath.Dir(n); !seen[d] {
			if _, err := os.Lstat(d); err != nil {
				seen[d] = true
				levels[0] = append(levels[0], d)
			}
		}
		levels[1] = append(levels[1], n)
	}
	for _, l := range levels {
		var wg sync.WaitGroup
		for _, d := range l {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := os.Mkdir(d, 0o755); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	return append(levels[0], levels[1]...)
}

// removePlaceholders removes them again, deepest first, one depth at a time in parallel.
func removePlaceholders(made []string) {
	var deep, top []string
	for _, p := range made {
		if filepath.Base(p) == "settings.json" {
			deep = append(deep, p)
		} else {
			top = append(top, p)
		}
	}
	for _, l := range [][]string{deep, top} {
		var wg sync.WaitGroup
		for _, p := range l {
			wg.Add(1)
			go func() {
				defer wg.Done()
				os.Remove(p)
			}()
		}
		wg.Wait()
	}
}

// BenchmarkGuardHostSide measures only the host-side work per run for N missing names: the watch
// (fanotify group, marks, the first and the final sweep, the stage's copy of the list) against the
// placeholders' folders made and removed. The placeholders' bind mounts are not in it: they cost
// inside the sandbox's setup, which BenchmarkMissingProtected includes.
func BenchmarkGuardHostSide(b *testing.B) {
	if why := createWatchSupport(); why != "" {
		b.Skipf("no creation watch here: %s", why)
	}
	for _, n := range []int{10, 60, 200} {
		ws := b.TempDir()
		var names []string
		for k := 0; k < n; k++ {
			if k%5 == 4 {
				names = append(names, filepath.Join(ws, ".tool"+strconv.Itoa(k), "settings.json"))
			} else {
				names = append(names, filepath.Join(ws, ".name"+strconv.Itoa(k)))
			}
		}
		plan := testPlan(ws, nil, "/bin/true")
		plan.Protect = names
		lock, err := os.CreateTemp(b.TempDir(), "lock")
		if err != nil {
			b.Fatal(err)
		}
		b.Run("watch/"+strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				_, _, targets := protectMounts(plan)
				if err := writeGuard(lock, targets); err != nil {
					b.Fatal(err)
				}
				g, err := watchCreations(targets, filepath.Join(ws, "q"))
				if err != nil {
					b.Fatal(err)
				}
				f, err := guardForStage(lock)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
				g.finish()
			}
		})
		b.Run("placeholders/"+strconv.Itoa(n), func(b *testing.B) {
			for range b.N {
				removePlaceholders(makePlaceholders(b, names))
			}
		})
	}
}
