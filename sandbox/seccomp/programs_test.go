package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// shipped are the architectures whose generated programs are committed: on them a missing table
// is a failure, not a fallback.
var shipped = []string{"amd64"}

const regenerate = "regenerate with: go generate ./sandbox/seccomp (then review and commit programs_%s.go)"

// TestGeneratedPrograms fails when programs_GOARCH.go no longer holds what libseccomp compiles
// from the table now: a change to table.go, filter.go, libseccomp or x/sys without go generate.
func TestGeneratedPrograms(t *testing.T) {
	if generated == nil {
		if slices.Contains(shipped, runtime.GOARCH) {
			t.Fatalf("no generated seccomp programs for %s; "+regenerate, runtime.GOARCH, runtime.GOARCH)
		}
		t.Skipf("no generated seccomp programs for %s: runs compile the filter at run time", runtime.GOARCH)
	}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		t.Fatal(err)
	}
	major, minor, micro := libseccomp.GetLibraryVersion()
	linked := fmt.Sprintf("%d.%d.%d", major, minor, micro)
	if generated.goarch != runtime.GOARCH || generated.arch != native.String() {
		t.Fatalf("programs_%s.go was generated for %s (libseccomp %s), not %s (%s)", runtime.GOARCH,
			generated.goarch, generated.arch, runtime.GOARCH, native)
	}
	valid := Combinations()
	if len(valid) < 20 {
		t.Fatalf("only %d valid combinations of Options: %+v", len(valid), valid)
	}
	var stale []Options
	for _, opt := range valid {
		want, err := Compile(opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if generated.program(opt) != string(want) {
			stale = append(stale, opt)
		}
		got, err := Program(opt)
		if err != nil || string(got) != generated.program(opt) {
			t.Errorf("Program(%+v) = %d bytes, %v; want the generated program", opt, len(got), err)
		}
	}
	if len(stale) > 0 {
		t.Errorf("programs_%s.go (libseccomp %s) differs from what libseccomp %s compiles from the table now, for %d of %d Options, e.g. %+v; "+regenerate,
			runtime.GOARCH, generated.libseccomp, linked, len(stale), len(valid), stale[0], runtime.GOARCH)
	}
	// The invalid combinations have no program, and Program refuses them.
	for _, opt := range []Options{{Record: true}, {RecordWrites: true}, {Network: true, Record: true, RecordWrites: true}} {
		if p := generated.program(opt); p != "" {
			t.Errorf("%+v: a generated program for invalid options", opt)
		}
		if _, err := Program(opt); !errors.Is(err, ErrOptions) {
			t.Errorf("Program(%+v): %v, want ErrOptions", opt, err)
		}
	}
}

// TestProgramsIndependentOfKernel proves what programs.go relies on: libseccomp's output does
// not depend on what it finds in the kernel. libseccomp's API level forces every kernel feature
// it probes on or off (seccomp_api_set); each level makes libseccomp refuse some Options, and
// what it accepts compiles to the very program the real kernel gets. The refusals are the ones
// Program keeps (kernelKnowsActions) or that concern only loading (TSYNC with NOTIFY).
func TestProgramsIndependentOfKernel(t *testing.T) {
	real, err := libseccomp.GetAPI()
	if err != nil {
		t.Skipf("libseccomp has no API levels: %v", err)
	}
	if real < 6 {
		t.Skipf("this kernel's seccomp is at libseccomp API level %d; the test compares against level 6 (Linux 5.7)", real)
	}
	want := map[Options][]byte{}
	for _, opt := range Combinations() {
		if want[opt], err = Compile(opt); err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
	}
	t.Cleanup(func() {
		if err := libseccomp.SetAPI(real); err != nil {
			t.Fatalf("restoring API level %d: %v", real, err)
		}
	})
	for level := uint(1); level <= real; level++ {
		if err := libseccomp.SetAPI(level); err != nil {
			t.Fatalf("API level %d: %v", level, err)
		}
		compiled := 0
		for _, opt := range Combinations() {
			got, err := Compile(opt)
			if err == nil {
				compiled++
			}
			// Level 3 (Linux 4.14) brings KILL_PROCESS, the bad-architecture action; level 6
			// (Linux 5.7) lets NOTIFY rules into a filter libseccomp-golang marks TSYNC.
			mustCompile := level >= 3 && !opt.Notify || level >= 6
			switch {
			case err != nil && mustCompile:
				t.Errorf("API level %d, %+v: %v", level, opt, err)
			case err == nil && !bytes.Equal(got, want[opt]):
				t.Errorf("API level %d, %+v: the program differs from the one at level %d", level, opt, real)
			case err == nil && level < 3:
				t.Errorf("API level %d, %+v: compiled without KILL_PROCESS", level, opt)
			}
		}
		t.Logf("API level %d: %d of %d combinations compile, each to the program of level %d", level, compiled, len(want), real)
	}
}

// TestKernelKnowsActions: Program asks the kernel about each action, and refuses one it lacks.
func TestKernelKnowsActions(t *testing.T) {
	ret := func(k uint32) []byte {
		b := make([]byte, bpfInsnLen)
		in := (*unix.SockFilter)(unsafe.Pointer(&b[0]))
		in.Code, in.K = unix.BPF_RET|unix.BPF_K, k
		return b
	}
	for _, c := range []struct {
		name    string
		prog    []byte
		refused bool
	}{
		{"kill_process", ret(unix.SECCOMP_RET_KILL_PROCESS), false},
		{"errno", ret(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)), false},
		{"allow", ret(unix.SECCOMP_RET_ALLOW), false},
		{"no such action", ret(0x7f120000), true},
		{"known, then unknown", append(ret(unix.SECCOMP_RET_ALLOW), ret(0x7f120000)...), true},
	} {
		err := kernelKnowsActions(c.prog)
		if c.refused != errors.Is(err, ErrAction) || !c.refused && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Every program the filter can be gets through on this kernel.
	if generated != nil {
		for _, opt := range Combinations() {
			if err := kernelKnowsActions([]byte(generated.program(opt))); err != nil && (!opt.Notify || notifyAvailable()) {
				t.Errorf("%+v: %v", opt, err)
			}
		}
	}
}

func notifyAvailable() bool {
	action := uint32(unix.SECCOMP_RET_USER_NOTIF)
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	return errno == 0
}

// BenchmarkProgram: what a run pays for its filter, from the generated table and from libseccomp.
func BenchmarkProgram(b *testing.B) {
	opt := Options{Network: true, Notify: true, RecordWrites: true}
	for _, c := range []struct {
		name string
		get  func(Options) ([]byte, error)
	}{{"generated", Program}, {"libseccomp", Compile}} {
		b.Run(c.name, func(b *testing.B) {
			if c.name == "generated" && !Generated() {
				b.Skipf("no generated programs for %s", runtime.GOARCH)
			}
			for b.Loop() {
				if _, err := c.get(opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
