// Package specfuzz runs the stage's C parser (../spec.h) from Go, for its fuzz tests: nothing
// else imports it, so it never reaches the release binary. spec.h here is a symlink to the
// stage's own, so both compile the very same parser and Go's build cache sees every change to it
// (a header included from outside a package's folder is not part of its build ID).
//
// The parser is also built with the undefined-behaviour sanitizer here; `go test -asan` adds
// the address sanitizer.
package specfuzz

// #cgo CFLAGS: -Wall -Wextra -Werror -fsanitize=undefined
// #cgo LDFLAGS: -fsanitize=undefined
// #include "spec.h"
//
// // Undefined behaviour stops the test instead of printing a line it would pass with.
// const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }
//
// static int parse(const unsigned char *buf, size_t len, struct spec *s, const char **err)
// {
// 	return spec_parse(buf, len, s, err);
// }
//
// static unsigned char *unhex(const char *hex, size_t *len, const char **err)
// {
// 	return spec_unhex(hex, len, err);
// }
//
// static void release(struct spec *s) { spec_free(s); }
import "C"

import (
	"errors"
	"unsafe"

	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/stage"
)

// Parsed is what the C parser read, in Go values.
type Parsed struct {
	Flags                                                uint64
	Cwd                                                  string
	MapUID, MapGID                                       uint32
	ProxyFD, NotifyFD, GuardFD                           int
	ProxyIP                                              uint32
	ProxyPort                                            uint16
	DataLimit                                            uint64
	Pins                                                 []stage.Pin
	ABI, MinABI, HandledFS, HandledNet, Scoped, FileOnly uint64
	StdioRead, StdioWrite, StdioDevice                   uint64
	Rules                                                []landlock.Rule
	Seccomp                                              []byte
}

// Parse runs spec_parse on b.
func Parse(b []byte) (*Parsed, error) {
	buf := C.CBytes(b) // C memory: the parser keeps pointers into it
	defer C.free(buf)
	var s C.struct_spec
	var cerr *C.char
	if C.parse((*C.uchar)(buf), C.size_t(len(b)), &s, &cerr) != 0 {
		return nil, errors.New(C.GoString(cerr))
	}
	defer C.release(&s)
	p := &Parsed{
		Flags: uint64(s.flags), Cwd: C.GoString(s.cwd),
		MapUID: uint32(s.map_uid), MapGID: uint32(s.map_gid),
		ProxyFD: int(s.proxy_fd), NotifyFD: int(s.notify_fd), GuardFD: int(s.guard_fd),
		ProxyIP: uint32(s.proxy_ip), ProxyPort: uint16(s.proxy_port), DataLimit: uint64(s.data_limit),
		ABI: uint64(s.abi), MinABI: uint64(s.min_abi), HandledFS: uint64(s.handled_fs),
		HandledNet: uint64(s.handled_net), Scoped: uint64(s.scoped), FileOnly: uint64(s.file_only),
		StdioRead: uint64(s.stdio_read), StdioWrite: uint64(s.stdio_write), StdioDevice: uint64(s.stdio_device),
		Seccomp: C.GoBytes(unsafe.Pointer(s.seccomp), C.int(s.seccomp_len)),
	}
	for _, pin := range unsafe.Slice(s.pins, s.npins) {
		p.Pins = append(p.Pins, stage.Pin{Path: C.GoString(pin.path), Dev: uint64(pin.dev), Ino: uint64(pin.ino)})
	}
	for _, r := range unsafe.Slice(s.rules, s.nrules) {
		p.Rules = append(p.Rules, landlock.Rule{Path: C.GoString(r.path), Access: uint64(r.access), Optional: r.optional != 0})
	}
	return p, nil
}

// Unhex runs spec_unhex on s.
func Unhex(s string) ([]byte, error) {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	var n C.size_t
	var cerr *C.char
	out := C.unhex(cs, &n, &cerr)
	if out == nil {
		return nil, errors.New(C.GoString(cerr))
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}
