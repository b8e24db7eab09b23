// Package stage is the sandbox's PID 1 and the command's last step before execve, written in C
// and run by a constructor before the Go runtime starts, as runc's nsenter runs before its init.
//
// libcontainer's init pivots into the sandbox and executes this binary as `skillrun __stage SPEC
// WORDS...`, the command's words after the spec. The constructor (stage.c) sees argv[1] and never returns to Go: it marks every inherited
// descriptor close-on-exec, watches the host through a lifeline pipe, checks the pinned mounts,
// hands the egress proxy's listening socket to the host, then forks the command's process, which
// starts a new session, (rootless) enters a nested user namespace that maps the caller back,
// applies the Landlock ruleset and the seccomp program and executes the command. The stage
// forwards signals to the command's group, reaps orphans and exits with the command's status.
// Doing this in C saves one start of the Go runtime as root and two rootless, and keeps the
// sandbox's resident memory small.
//
// The host computes everything the stage needs: the Landlock rights for this kernel's ABI
// ([landlock.Compile]), the seccomp program, the descriptors and the pins. [Spec.Args] writes
// them in a format made for C to read simply and safely (spec.h): fixed fields in a fixed order,
// integers of 8 bytes, strings with their length in front and a NUL behind, nothing optional.
// The C parser refuses anything else; specfuzz fuzzes it against a Go reading of the same bytes.
//
//	args, err := spec.Args()
//	proc.Args = append([]string{sandbox.StagePath, stage.Arg}, args...)
package stage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/skillrun/skillrun/sandbox/landlock"
)

// Arg is the argument that makes the skillrun binary run as the in-sandbox stage.
const Arg = "__stage"

// Magic starts every encoded spec: a binary reads only the specs of its own format.
const Magic = "SRSTAGE1"

// Flags of the spec's first field.
const (
	FlagNested = 1 << iota // rootless: the command runs in a nested user namespace
	FlagShell              // -c STRING: the first word is the string, Argv its $0, $1, ...
)

// Limits the C parser enforces too.
const (
	MaxFD    = 65535
	MaxInsns = 4096 // the kernel's BPF_MAXINSNS
	// MaxArg is the largest argument execve takes (MAX_ARG_STRLEN, with its NUL): the encoded
	// spec is one.
	MaxArg = 32*4096 - 1
)

// ErrSpec marks a spec the stage would refuse.
var ErrSpec = errors.New("the stage cannot take this spec")

// Spec is what the host tells the stage. It carries no secrets: the command's environment is
// the stage's own.
type Spec struct {
	Argv  []string
	Shell *string
	Cwd   string
	// Nested: the command starts in a nested user namespace that maps MapUID and MapGID (the
	// caller's own ids) onto the stage's uid and gid 0, themselves the caller's.
	Nested         bool
	MapUID, MapGID uint32
	// ProxyFD, when set, is the stage's end of the socket pair over which it hands the host a
	// socket listening on ProxyAddr inside the sandbox's network namespace.
	ProxyFD   int
	ProxyAddr netip.AddrPort
	// NotifyFD, when set, is the socket to the host's seccomp supervisor: the command's process
	// loads its filter with a listener and sends it there.
	NotifyFD int
	// GuardFD, when set, is the run's lock file listing the missing protected paths: when
	// skillrun dies, the stage kills the command and has them swept (sandbox.SweepMain).
	GuardFD int
	// DataLimit, when set, is the RLIMIT_DATA set just before execve.
	DataLimit uint64
	// Pins are the binds whose sources the host checked for links.
	Pins     []Pin
	Landlock landlock.Ruleset
	// Seccomp is the filter's program (seccomp.Program), in the kernel's layout.
	Seccomp []byte
}

// Pin is the identity a bind's source had when the host checked it: the stage refuses to start
// unless the path is the root of a mount showing that file.
type Pin struct {
	Path     string
	Dev, Ino uint64
}

type encoder struct {
	b   bytes.Buffer
	err error
}

func (e *encoder) u64(v uint64) {
	e.b.Write(binary.LittleEndian.AppendUint64(nil, v))
}

func (e *encoder) str(s string) {
	if strings.IndexByte(s, 0) >= 0 && e.err == nil {
		e.err = fmt.Errorf("%w: %q holds a NUL byte", ErrSpec, s)
	}
	e.u64(uint64(len(s)))
	e.b.WriteString(s)
	e.b.WriteByte(0)
}

func (e *encoder) abs(s string) {
	if !strings.HasPrefix(s, "/") && e.err == nil {
		e.err = fmt.Errorf("%w: %q is not an absolute path", ErrSpec, s)
	}
	e.str(s)
}

func (e *encoder) fd(fd int) {
	if fd != 0 && (fd < 4 || fd > MaxFD) && e.err == nil {
		e.err = fmt.Errorf("%w: descriptor %d", ErrSpec, fd)
	}
	e.u64(uint64(fd))
}

func (e *encoder) mask(v, within uint64) {
	if v&^within != 0 && e.err == nil {
		e.err = fmt.Errorf("%w: Landlock rights %#x outside the handled %#x", ErrSpec, v, within)
	}
	e.u64(v)
}

// Args returns the stage's arguments: the encoded spec, then the command's words (the string
// first for -c). It refuses what the stage would, so the host fails with the reason before
// anything starts.
func (s *Spec) Args() ([]string, error) {
	spec, err := s.Encode()
	if err != nil {
		return nil, err
	}
	args := []string{spec}
	if s.Shell != nil {
		args = append(args, *s.Shell)
	}
	return append(args, s.Argv...), nil
}

// Encode writes the spec (without the command's words) as hex: the format holds NUL bytes, an
// argument cannot.
func (s *Spec) Encode() (string, error) {
	var e encoder
	e.b.WriteString(Magic)
	var flags uint64
	if s.Nested {
		flags |= FlagNested
	}
	if s.Shell != nil {
		flags |= FlagShell
	}
	e.u64(flags)
	e.abs(s.Cwd)
	if s.MapUID == math.MaxUint32 || s.MapGID == math.MaxUint32 {
		e.err = firstErr(e.err, fmt.Errorf("%w: uid or gid -1", ErrSpec))
	}
	e.u64(uint64(s.MapUID))
	e.u64(uint64(s.MapGID))
	e.fd(s.ProxyFD)
	var ip, port uint64
	if s.ProxyFD != 0 {
		if !s.ProxyAddr.Addr().Is4() || s.ProxyAddr.Port() == 0 {
			e.err = firstErr(e.err, fmt.Errorf("%w: the proxy's address %v is not IPv4 with a port", ErrSpec, s.ProxyAddr))
		} else {
			a := s.ProxyAddr.Addr().As4()
			ip, port = uint64(binary.BigEndian.Uint32(a[:])), uint64(s.ProxyAddr.Port())
		}
	}
	e.u64(ip)
	e.u64(port)
	e.fd(s.NotifyFD)
	e.fd(s.GuardFD)
	if (s.ProxyFD != 0 && (s.ProxyFD == s.NotifyFD || s.ProxyFD == s.GuardFD)) || (s.NotifyFD != 0 && s.NotifyFD == s.GuardFD) {
		e.err = firstErr(e.err, fmt.Errorf("%w: one descriptor for two purposes", ErrSpec))
	}
	e.u64(s.DataLimit)
	e.u64(uint64(len(s.Pins)))
	for _, p := range s.Pins {
		e.abs(p.Path)
		e.u64(p.Dev)
		e.u64(p.Ino)
	}
	ll := s.Landlock
	if ll.ABI < 1 || ll.ABI > 64 || ll.MinABI < 0 || ll.MinABI > ll.ABI || ll.HandledFS == 0 {
		e.err = firstErr(e.err, fmt.Errorf("%w: a Landlock ruleset for ABI %d (plan: %d) that handles %#x", ErrSpec, ll.ABI, ll.MinABI, ll.HandledFS))
	}
	e.u64(uint64(ll.ABI))
	e.u64(uint64(ll.MinABI))
	e.u64(ll.HandledFS)
	e.u64(ll.HandledNet)
	e.u64(ll.Scoped)
	for _, m := range []uint64{ll.FileOnly, ll.StdioRead, ll.StdioWrite, ll.StdioDevice} {
		e.mask(m, ll.HandledFS)
	}
	e.u64(uint64(len(ll.Rules)))
	for _, r := range ll.Rules {
		e.abs(r.Path)
		e.mask(r.Access, ll.HandledFS)
		optional := uint64(0)
		if r.Optional {
			optional = 1
		}
		e.u64(optional)
	}
	if n := len(s.Seccomp); n == 0 || n%8 != 0 || n > MaxInsns*8 {
		e.err = firstErr(e.err, fmt.Errorf("%w: a seccomp program of %d bytes", ErrSpec, n))
	}
	e.u64(uint64(len(s.Seccomp)))
	e.b.Write(s.Seccomp)
	if e.err != nil {
		return "", e.err
	}
	if 2*e.b.Len() > MaxArg {
		return "", fmt.Errorf("%w: the plan is too large to hand to the sandbox (%d bytes; at most %d)", ErrSpec, e.b.Len(), MaxArg/2)
	}
	return hex.EncodeToString(e.b.Bytes()), nil
}

// firstErr keeps the first error.
func firstErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}
