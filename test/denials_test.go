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
call('socket-raw', 41, 2, 3, 1)
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
		for _, want := range []string{"socket-packet 97\n", "socket-raw 1\n", "mount 1\n", "unshare 1\n", "ptrace 1\n", "keyctl 1\n", "bpf 1\n"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q (the filter's errno):\n%s", want, r)
			}
		}
		for _, want := range []string{"skillrun: blocked: socket(AF_PACKET, SOCK_RAW) by python3 (address family not allowed)",
			"skillrun: blocked: socket(AF_INET, SOCK_RAW, protocol 1) by python3 (no raw, packet or other socket types)",
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

// TestMaskedReadsExplained: a command that opens a masked secret reads nothing of it, and skillrun
// names each masked path it opened, with the line that masked it and what would lift it, on
// stderr and in the audit record. Names below a masked folder are not observed (the lookup fails
// in the kernel without an event), only the folder's own listing; the test pins that limit too.
func TestMaskedReadsExplained(t *testing.T) {
	forEachIdentity(t, func(t *testing.T, e *env) {
		e.write(filepath.Join(e.workspace, ".env"), "TOKEN="+e.canary+"\n", 0o644)
		e.write(filepath.Join(e.workspace, ".env.local"), "TOKEN="+e.canary+"\n", 0o644)
		e.write(filepath.Join(e.home, ".netrc"), "machine example.com password "+e.canary+"\n", 0o600)
		envHash := treeHash(t, e.workspace)
		r := e.runIn(e.workspace, "", "-c", `cat .env; cat .env; cat .env.local; echo end-of-secrets; echo ok > out.txt`)
		e.noCanary(r)
		if r.code != 0 || !strings.Contains(r.stdout, "end-of-secrets") {
			t.Fatalf("exit %d:\n%s", r.code, r)
		}
		for _, want := range []string{
			"skillrun: blocked: read of " + e.workspace + "/.env 2 times (floor: never readable; the command saw it empty)",
			"skillrun: blocked: read of " + e.workspace + "/.env.local (floor: never readable; the command saw it empty)",
			`skillrun: hint: the floor keeps it from every command; only if agent commands must read it, add to your policy, loudly: unsafe: {filesystem: {read: ["` + e.workspace + `/.env.*"]}}`,
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
		os.Remove(filepath.Join(e.workspace, "out.txt"))
		if treeHash(t, e.workspace) != envHash {
			t.Errorf("the workspace's secrets changed")
		}
		rec := lastAudit(t, e)
		var paths []string
		for _, d := range rec["denials"].([]any) {
			m := d.(map[string]any)
			if m["kind"] == "path" && m["access"] == "read" && m["rule"] == "floor: never readable" {
				paths = append(paths, m["path"].(string))
			}
		}
		if got := strings.Join(paths, " "); got != e.workspace+"/.env "+e.workspace+"/.env.local" {
			t.Errorf("audit path denials: %q\n%v", got, rec["denials"])
		}

		// The home as the workspace: masked files and folders of the floor.
		r = e.runIn(e.home, "", "--workspace", e.home, "-c", `cat ~/.netrc; ls -a ~/.aws; cat ~/.aws/credentials; echo done`)
		e.noCanary(r)
		for _, want := range []string{
			"skillrun: blocked: read of ~/.netrc (floor: never readable; the command saw it empty)",
			"skillrun: blocked: read of ~/.aws (floor: never readable; the command saw it empty)",
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
		if strings.Contains(r.stderr, "read of ~/.aws/credentials") || !strings.Contains(r.stderr, "cat: "+e.home+"/.aws/credentials: No such file or directory") {
			t.Errorf("a name below a masked folder: want ENOENT and no report:\n%s", r)
		}

		// --quiet keeps stderr clean; a command that opens no mask reports nothing.
		if r = e.runIn(e.workspace, "", "--quiet", "-c", "cat .env >/dev/null"); r.code != 0 || r.stderr != "" {
			t.Errorf("--quiet:\n%s", r)
		}
		if r = e.runIn(e.workspace, "", "-c", "ls -a >/dev/null; test -e .env"); r.code != 0 || r.stderr != "" {
			t.Errorf("a run that opened no mask reported:\n%s", r)
		}
		e.assertNoState()
	})
}

// lastAudit returns the newest record of the audit log.
func lastAudit(t *testing.T, e *env) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, ".local", "state", "skillrun", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}
