package test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDenialsExplained: refused syscalls that say what a command tried (a socket family the
// plan does not allow, mount, unshare, ptrace, keyctl, bpf) still fail with the filter's errno,
// and after the command skillrun names each one on stderr and in the run's audit record; --quiet
// keeps stderr clean. Every call is made with arguments that do nothing even if it went through
// (an invalid flag or pointer, pid 0).
func TestDenialsExplained(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		probe := `python3 -c "
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    r = libc.syscall(*args)
    print(name, ctypes.get_errno() if r == -1 else 'ok')
call('socket-packet', 41, 17, 3, 0)
call('socket-inet', 41, 2, 1, 0)
call('mount', 165, None, None, None, 0, None)
call('unshare', 272, 0x10000080)
call('ptrace', 101, 2, 0, 0, 0)
call('keyctl', 250, 0, 0)
call('bpf', 321, 0, None, 0)
"`
		r := e.run("-c", probe)
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r)
		}
		for _, want := range []string{"socket-packet 97\n", "socket-inet 97\n", "mount 1\n", "unshare 1\n", "ptrace 1\n", "keyctl 1\n", "bpf 1\n"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q (the filter's errno):\n%s", want, r)
			}
		}
		for _, want := range []string{"skillrun: blocked: socket(AF_PACKET, SOCK_RAW) by python3 (address family not allowed)",
			"skillrun: blocked: socket(AF_INET, SOCK_STREAM) by python3 (no network in the plan)",
			"skillrun: hint: hosts are reached through skillrun's proxy once allowed",
			"skillrun: blocked: mount() by python3 (no mounts)",
			"skillrun: blocked: unshare(flags 0x10000080) by python3 (no new or foreign namespaces)",
			"skillrun: blocked: 2 more; see them with: skillrun log --denied"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
		// The audit record has every one, with the syscall and its arguments.
		f, err := os.Open(filepath.Join(e.home, ".local", "state", "skillrun", "audit.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var last map[string]any
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			last = nil
			if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
				t.Fatalf("audit line %q: %v", sc.Text(), err)
			}
		}
		f.Close()
		denials, _ := last["denials"].([]any)
		var calls []string
		for _, d := range denials {
			m, _ := d.(map[string]any)
			calls = append(calls, m["syscall"].(string))
		}
		if got := strings.Join(calls, " "); got != "socket socket mount unshare ptrace keyctl bpf" {
			t.Errorf("audit denials: %q, want every refused call in order", got)
		}
		// --quiet: the same refusals, no lines.
		r = e.run("--quiet", "-c", probe)
		if r.code != 0 || strings.Contains(r.stderr, "blocked") || !strings.Contains(r.stdout, "bpf 1\n") {
			t.Errorf("--quiet:\n%s", r)
		}
		// A command that is refused nothing prints nothing.
		if r = e.run("-c", "true"); r.stderr != "" {
			t.Errorf("a clean run printed:\n%s", r)
		}
		e.assertNoState()
	})
}
