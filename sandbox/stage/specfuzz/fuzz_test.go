package specfuzz

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/sandbox/landlock"
	"github.com/skillrun/skillrun/sandbox/stage"
)

// The C parser is checked against decode, an independent reading of the same format in Go: for
// every input both accept or both refuse, and what they accept they read alike. Whatever they
// accept must also be what stage.Spec.Encode writes for it, byte for byte, so the format has one
// spelling per spec and nothing in it goes unchecked. The seeds are specs of real runs (testdata,
// taken from /proc/1/cmdline inside sandboxes: root and rootless, with and without a proxy,
// limits and toolchains) and specs encoded here.

// reader reads the format's integers and strings, remembering the first problem.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = errors.New(what)
	}
}

func (r *reader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) max(limit uint64, what string) uint64 {
	v := r.u64()
	if v > limit {
		r.fail(what)
	}
	return v
}

func (r *reader) str() string {
	n := r.u64()
	if r.err != nil {
		return ""
	}
	if n >= uint64(len(r.b)) || bytes.IndexByte(r.b[:n], 0) >= 0 || r.b[n] != 0 {
		r.fail("bad string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n+1:]
	return s
}

func (r *reader) abs() string {
	s := r.str()
	if r.err == nil && !strings.HasPrefix(s, "/") {
		r.fail("not absolute")
	}
	return s
}

func (r *reader) count(min int) int {
	v := r.u64()
	if r.err == nil && v > uint64(len(r.b)/min) {
		r.fail("list too long")
	}
	return int(v)
}

func (r *reader) fd() int {
	v := r.u64()
	if v != 0 && (v < 4 || v > stage.MaxFD) {
		r.fail("bad descriptor")
	}
	return int(v)
}

func (r *reader) mask(within uint64) uint64 {
	v := r.u64()
	if v&^within != 0 {
		r.fail("rights not handled")
	}
	return v
}

// decode reads a spec as the format's description (spec.h) says.
func decode(b []byte) (*Parsed, error) {
	if len(b) < 8 || string(b[:8]) != stage.Magic {
		return nil, errors.New("bad magic")
	}
	r := &reader{b: b[8:]}
	p := &Parsed{}
	p.Flags = r.max(stage.FlagNested|stage.FlagShell, "flags")
	p.Cwd = r.abs()
	p.MapUID = uint32(r.max(1<<32-2, "uid"))
	p.MapGID = uint32(r.max(1<<32-2, "gid"))
	p.ProxyFD = r.fd()
	p.ProxyIP = uint32(r.max(1<<32-1, "ip"))
	p.ProxyPort = uint16(r.max(1<<16-1, "port"))
	if p.ProxyFD != 0 && p.ProxyPort == 0 || p.ProxyFD == 0 && (p.ProxyIP != 0 || p.ProxyPort != 0) {
		r.fail("proxy")
	}
	p.NotifyFD = r.fd()
	p.GuardFD = r.fd()
	if p.ProxyFD != 0 && (p.ProxyFD == p.NotifyFD || p.ProxyFD == p.GuardFD) || p.NotifyFD != 0 && p.NotifyFD == p.GuardFD {
		r.fail("shared descriptor")
	}
	p.DataLimit = r.u64()
	for range r.count(25) {
		if r.err != nil {
			break
		}
		p.Pins = append(p.Pins, stage.Pin{Path: r.abs(), Dev: r.u64(), Ino: r.u64()})
	}
	p.ABI = r.max(64, "abi")
	p.MinABI = r.max(p.ABI, "min abi")
	if p.ABI == 0 {
		r.fail("abi 0")
	}
	p.HandledFS = r.u64()
	if p.HandledFS == 0 {
		r.fail("nothing handled")
	}
	p.HandledNet, p.Scoped = r.u64(), r.u64()
	p.FileOnly, p.StdioRead = r.mask(p.HandledFS), r.mask(p.HandledFS)
	p.StdioWrite, p.StdioDevice = r.mask(p.HandledFS), r.mask(p.HandledFS)
	for range r.count(25) {
		if r.err != nil {
			break
		}
		p.Rules = append(p.Rules, landlock.Rule{Path: r.abs(), Access: r.mask(p.HandledFS), Optional: r.max(1, "optional") == 1})
	}
	n := r.max(stage.MaxInsns*8, "program too long")
	if r.err == nil {
		if n == 0 || n%8 != 0 || n > uint64(len(r.b)) {
			r.fail("bad program")
		} else {
			p.Seccomp, r.b = r.b[:n], r.b[n:]
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// specOf turns what was read back into a Spec, to encode it again.
func specOf(p *Parsed) *stage.Spec {
	s := &stage.Spec{
		Cwd: p.Cwd, Nested: p.Flags&stage.FlagNested != 0, MapUID: p.MapUID, MapGID: p.MapGID,
		ProxyFD: p.ProxyFD, NotifyFD: p.NotifyFD, GuardFD: p.GuardFD, DataLimit: p.DataLimit, Pins: p.Pins,
		Landlock: landlock.Ruleset{
			MinABI: int(p.MinABI), ABI: int(p.ABI), HandledFS: p.HandledFS, HandledNet: p.HandledNet, Scoped: p.Scoped,
			FileOnly: p.FileOnly, StdioRead: p.StdioRead, StdioWrite: p.StdioWrite, StdioDevice: p.StdioDevice, Rules: p.Rules,
		},
		Seccomp: p.Seccomp,
	}
	if p.Flags&stage.FlagShell != 0 {
		s.Shell = new(string)
	}
	if p.ProxyFD != 0 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], p.ProxyIP)
		s.ProxyAddr = netip.AddrPortFrom(netip.AddrFrom4(a), p.ProxyPort)
	}
	return s
}

// realSpecs are the specs of real runs, decoded from hex.
func realSpecs(t testing.TB) map[string][]byte {
	files, _ := filepath.Glob("testdata/*.hex")
	if len(files) == 0 {
		t.Fatal("no specs of real runs in testdata")
	}
	out := map[string][]byte{}
	for _, f := range files {
		h, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(h)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// sample is a spec with something in every field.
func sample() *stage.Spec {
	shell := "echo hi"
	return &stage.Spec{
		Argv: []string{"a", "b"}, Shell: &shell, Cwd: "/work", Nested: true, MapUID: 1000, MapGID: 1000,
		ProxyFD: 4, ProxyAddr: netip.MustParseAddrPort("127.0.0.1:3128"), NotifyFD: 5, GuardFD: 6, DataLimit: 1 << 30,
		Pins: []stage.Pin{{Path: "/work/.git", Dev: 2049, Ino: 77}},
		Landlock: landlock.Ruleset{MinABI: 1, ABI: 6, HandledFS: 0xffff, Scoped: 3, FileOnly: 0x7, StdioRead: 4, StdioWrite: 2,
			Rules: []landlock.Rule{{Path: "/usr", Access: 0xd}, {Path: "/opt", Access: 0xd, Optional: true}}},
		Seccomp: make([]byte, 16),
	}
}

func check(t *testing.T, data []byte) {
	cp, cerr := Parse(data)
	gp, gerr := decode(data)
	if (cerr == nil) != (gerr == nil) {
		t.Fatalf("the C parser says %v, the Go reading %v", cerr, gerr)
	}
	if cerr != nil {
		return
	}
	if !reflect.DeepEqual(cp, gp) {
		t.Fatalf("read differently:\nC:  %+v\nGo: %+v", cp, gp)
	}
	enc, err := specOf(cp).Encode()
	if err != nil {
		t.Fatalf("accepted, but Encode refuses it: %v", err)
	}
	if enc != hex.EncodeToString(data) {
		t.Fatalf("accepted a spec Encode writes otherwise")
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range realSpecs(f) {
		f.Add(b)
	}
	enc, err := sample().Encode()
	if err != nil {
		f.Fatal(err)
	}
	b, _ := hex.DecodeString(enc)
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add([]byte(stage.Magic))
	f.Fuzz(check)
}

func TestRealSpecs(t *testing.T) {
	for name, b := range realSpecs(t) {
		t.Run(name, func(t *testing.T) {
			check(t, b)
			p, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rules) == 0 || len(p.Seccomp) == 0 || p.HandledFS == 0 || p.NotifyFD == 0 {
				t.Errorf("a real run's spec without rules, program or supervisor: %+v", p)
			}
			if rootless := strings.HasPrefix(name, "rootless"); rootless != (p.Flags&stage.FlagNested != 0) {
				t.Errorf("nested flag %v for %s", p.Flags&stage.FlagNested != 0, name)
			}
			if network := strings.Contains(name, "network"); network != (p.ProxyFD != 0) {
				t.Errorf("proxy descriptor %d for %s", p.ProxyFD, name)
			}
		})
	}
}

// TestRefused: each field's rule, broken once in an otherwise good spec.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		breaks func(s *stage.Spec)
	}{
		{"relative cwd", func(s *stage.Spec) { s.Cwd = "work" }},
		{"NUL in a path", func(s *stage.Spec) { s.Pins[0].Path = "/a\x00b" }},
		{"lifeline as the proxy's descriptor", func(s *stage.Spec) { s.ProxyFD = 3 }},
		{"one descriptor twice", func(s *stage.Spec) { s.GuardFD = s.NotifyFD }},
		{"IPv6 proxy", func(s *stage.Spec) { s.ProxyAddr = netip.MustParseAddrPort("[::1]:3128") }},
		{"no program", func(s *stage.Spec) { s.Seccomp = nil }},
		{"partial instruction", func(s *stage.Spec) { s.Seccomp = make([]byte, 12) }},
		{"program too long", func(s *stage.Spec) { s.Seccomp = make([]byte, 8*(stage.MaxInsns+1)) }},
		{"nothing handled", func(s *stage.Spec) {
			s.Landlock.HandledFS, s.Landlock.FileOnly, s.Landlock.StdioRead, s.Landlock.StdioWrite = 0, 0, 0, 0
		}},
		{"rights not handled", func(s *stage.Spec) { s.Landlock.Rules[0].Access = 1 << 20 }},
		{"plan above the kernel", func(s *stage.Spec) { s.Landlock.MinABI = 7 }},
		{"relative rule", func(s *stage.Spec) { s.Landlock.Rules[0].Path = "usr" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sample()
			tc.breaks(s)
			if _, err := s.Encode(); !errors.Is(err, stage.ErrSpec) {
				t.Errorf("Encode: %v, want ErrSpec", err)
			}
		})
	}
	good, _ := sample().Encode()
	b, _ := hex.DecodeString(good)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a stage spec"},
		{"other magic", append([]byte("SRSTAGE0"), b[8:]...), "not a stage spec"},
		{"cut short", b[:len(b)-3], "truncated"},
		{"a byte too many", append(append([]byte{}, b...), 0), "bytes after the end"},
		{"unknown flag", append(append([]byte(stage.Magic), 4, 0, 0, 0, 0, 0, 0, 0), b[16:]...), "unknown flags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzUnhex(f *testing.F) {
	good, _ := sample().Encode()
	for _, s := range []string{good, "", "0", "zz", "AB", "ab", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			return // no argument holds a NUL
		}
		got, err := Unhex(s)
		want, werr := hex.DecodeString(s)
		if strings.ToLower(s) != s {
			werr = errors.New("uppercase") // the host writes lowercase; the stage takes nothing else
		}
		if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(got, want) {
			t.Fatalf("unhex(%q) = %x, %v; want %x, %v", s, got, err, want, werr)
		}
	})
}
