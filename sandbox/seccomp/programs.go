package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The filter is compiled at build time. libseccomp's output depends only on the table, the
// Options, the syscall numbers of the libseccomp and x/sys the binary is built with, and the
// native architecture libseccomp was compiled for (arch.c picks arch_def_native by #if). It does
// not depend on the running kernel: reading libseccomp 2.5.4, gen_bpf.c reads only the rules and
// the filter's attributes (default and bad-architecture actions, optimize level, api_tskip), none
// of which it sets from a probe. What libseccomp probes (system.c) decides only whether it
// accepts a filter: it refuses an action the kernel lacks (sys_chk_seccomp_action: KILL_PROCESS,
// USER_NOTIF), and NOTIFY together with TSYNC on kernels without TSYNC_ESRCH (a load flag, which
// LoadProgram never sets). Program keeps the first refusal (kernelKnowsActions);
// TestProgramsIndependentOfKernel forces each of libseccomp's API levels (every probed feature
// on or off) and finds the same program wherever libseccomp accepts the filter.
//
// So `go generate ./sandbox/seccomp` (internal/genprograms) stores the program of every valid
// Options in programs_GOARCH.go, and a run takes its program from there: no libseccomp call on
// the way to the command. TestGeneratedPrograms fails when that file no longer matches Compile.
// An architecture without the file compiles at run time, as before.

//go:generate go run ./internal/genprograms

// Combinations lists every valid Options: the programs go generate stores. Every field of
// Options is a switch, so a field added later is enumerated too.
func Combinations() []Options {
	fields := reflect.TypeFor[Options]().NumField()
	var out []Options
	for bits := range 1 << fields {
		var o Options
		v := reflect.ValueOf(&o).Elem()
		for f := range fields {
			v.Field(f).SetBool(bits&(1<<f) != 0)
		}
		if o.check() == nil {
			out = append(out, o)
		}
	}
	return out
}

// generatedTable holds the programs libseccomp compiled at build time for one architecture.
type generatedTable struct {
	goarch string
	// arch is libseccomp's name of the native architecture it compiled for.
	arch string
	// libseccomp is the version that compiled them.
	libseccomp string
	// program returns the program of a valid Options, "" for any other.
	program func(Options) string
}

// generated is set by programs_GOARCH.go, go generate's output, on the architectures that have
// one; elsewhere it stays nil and Program compiles at run time.
var generated *generatedTable

// Generated says Program takes its programs from a table compiled at build time: it costs no
// more than a look-up and a few syscalls, so a caller need not overlap it with other work.
func Generated() bool { return generated != nil }

var errNoProgram = errors.New("no generated seccomp program")

// Program returns the classic BPF program for opt, which LoadProgram installs. With a generated
// table for this architecture (Generated) it is the program libseccomp compiled at build time,
// once this kernel is known to support every action it returns; on an architecture without one,
// libseccomp compiles it now (Compile), which costs several milliseconds.
func Program(opt Options) ([]byte, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if generated == nil {
		return Compile(opt)
	}
	s := generated.program(opt)
	if s == "" {
		return nil, fmt.Errorf("%w for %+v on %s: run go generate ./sandbox/seccomp", errNoProgram, opt, runtime.GOARCH)
	}
	prog := []byte(s)
	if err := kernelKnowsActions(prog); err != nil {
		return nil, err
	}
	return prog, nil
}

// ErrAction says the kernel lacks an action the filter returns.
var ErrAction = errors.New("this kernel's seccomp lacks an action the filter needs")

func actionName(action uint32) string {
	switch action {
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "kill_process"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "kill_thread"
	case unix.SECCOMP_RET_TRAP:
		return "trap"
	case unix.SECCOMP_RET_ERRNO:
		return "errno"
	case unix.SECCOMP_RET_USER_NOTIF:
		return "user_notif"
	case unix.SECCOMP_RET_TRACE:
		return "trace"
	case unix.SECCOMP_RET_LOG:
		return "log"
	case unix.SECCOMP_RET_ALLOW:
		return "allow"
	}
	return fmt.Sprintf("%#x", action)
}

// kernelKnowsActions asks the kernel about every action prog returns, as libseccomp does before
// it accepts a rule: a kernel older than 4.14 would read SECCOMP_RET_KILL_PROCESS, the action for
// a foreign architecture, as killing the calling thread only.
func kernelKnowsActions(prog []byte) error {
	if n := len(prog) / bpfInsnLen; n == 0 || n > maxProgram || len(prog)%bpfInsnLen != 0 {
		return fmt.Errorf("%w: %d bytes", errProgram, len(prog))
	}
	ne := binary.NativeEndian
	var asked []uint32
	for i := 0; i < len(prog); i += bpfInsnLen {
		if ne.Uint16(prog[i:]) != unix.BPF_RET|unix.BPF_K {
			continue
		}
		action := ne.Uint32(prog[i+4:]) & unix.SECCOMP_RET_ACTION_FULL
		if slices.Contains(asked, action) {
			continue
		}
		asked = append(asked, action)
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
		if errno != 0 {
			return fmt.Errorf("%w: %s: %v", ErrAction, actionName(action), errno)
		}
	}
	return nil
}
