package test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostListeners are what the test starts on the host for the sandbox to try: TCP and UDP on
// 127.0.0.1 and ::1, an abstract unix socket and a pathname unix socket, all open to the
// identity. targets are the probe's names for them (probe reach).
type hostListeners struct {
	h       hits
	targets []string
	tcp4    string
}

func startHostListeners(t *testing.T, e *env) *hostListeners {
	l := &hostListeners{}
	for _, fam := range []struct{ tcp, udp, host string }{{"tcp4", "udp4", "127.0.0.1"}, {"tcp6", "udp6", "::1"}} {
		ln, err := net.Listen(fam.tcp, net.JoinHostPort(fam.host, "0"))
		if err != nil {
			if fam.host == "::1" {
				t.Logf("no ::1 on this machine, IPv6 listeners are not probed: %v", err)
				continue
			}
			t.Fatal(err)
		}
		acceptOn(t, ln, ln.Addr().String(), &l.h)
		pc, err := net.ListenPacket(fam.udp, net.JoinHostPort(fam.host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		readOn(t, pc, pc.LocalAddr().String(), &l.h)
		l.targets = append(l.targets, "tcp:"+ln.Addr().String(), "udp:"+pc.LocalAddr().String())
		if fam.host == "127.0.0.1" {
			l.tcp4 = ln.Addr().String()
		}
	}
	abstract := "skillrun-test-" + strings.ToLower(e.canary)
	aln, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	acceptOn(t, aln, "@"+abstract, &l.h)
	dir, err := os.MkdirTemp("", "skillrun-host-socket-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "host.sock")
	pln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	acceptOn(t, pln, path, &l.h)
	l.targets = append(l.targets, "abstract:"+abstract, "unix:"+path)
	return l
}

func (h *hits) reset() { h.mu.Lock(); h.got = nil; h.mu.Unlock() }

// control proves the listeners are reachable by the identity outside the sandbox: without it,
// "unreachable inside" could mean a listener nobody could reach.
func (l *hostListeners) control(t *testing.T, e *env) {
	cmd := exec.Command(filepath.Join(e.workspace, "probe"), append([]string{"reach"}, l.targets...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.id.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the probe on the host: %v\n%s", err, out)
	}
	for _, target := range l.targets {
		want := target + ": CONNECTED"
		if strings.HasPrefix(target, "udp:") {
			want = target + ": sent"
		}
		if !strings.Contains(string(out), want) {
			t.Fatalf("control: on the host, %q lacks %q", out, want)
		}
	}
	if !waitFor(2*time.Second, func() bool { return len(l.h.list()) == len(l.targets) }) {
		t.Fatalf("control: the host's listeners saw %v, want one of each of %v", l.h.list(), l.targets)
	}
	l.h.reset()
}

// TestLoopbackInside: commands use their own loopback as test suites do (a Go httptest server and
// client, python's http.server and urllib, UDP, on 127.0.0.1 and ::1, a fixed port), with and
// without hosts in the plan, while every listener the test starts on the host (TCP and UDP on
// 127.0.0.1 and ::1, an abstract and a pathname unix socket) stays out of reach, even from a
// command that listens on the very same port inside; with hosts, the proxy is still the only way
// out and refuses the host's loopback.
func TestLoopbackInside(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("python3 is not installed: %v", err)
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		l := startHostListeners(t, e)
		l.control(t, e)
		pol := filepath.Join(e.base, "policy.yaml")
		e.extraEnv = []string{"SKILLRUN_POLICY=" + pol}
		script := `./probe loopback
./probe reach ` + strings.Join(l.targets, " ") + ` tcp-shadow:` + l.tcp4 + `
python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 &
python3 -m http.server 8006 --bind ::1 >/dev/null 2>&1 &
python3 - <<'PY'
import time, urllib.request
for url in ('http://127.0.0.1:8000/README', 'http://[::1]:8006/README', 'http://localhost:8000/README'):
    for i in range(200):
        try:
            print('python', url, urllib.request.urlopen(url, timeout=5).read().decode().strip())
            break
        except OSError as e:
            err = e
            time.sleep(0.05)
    else:
        print('python', url, 'failed', err)
PY
kill %1 %2
echo done`
		for _, hosts := range []bool{false, true} {
			label := "no hosts"
			policy := "version: 1\n"
			if hosts {
				label = "hosts"
				policy = "version: 1\nagent:\n  network:\n    allow: [\"example.invalid:443\"]\n"
				// Through the proxy on purpose: the host's loopback is refused there too.
				script = strings.Replace(script, "echo done", `NO_PROXY= no_proxy= python3 -c "
import urllib.request, urllib.error
try:
    urllib.request.urlopen('http://`+l.tcp4+`/', timeout=5)
    print('proxied: reached')
except urllib.error.HTTPError as e:
    print('proxied:', e.code)
"
echo done`, 1)
			}
			e.write(pol, policy, 0o600)
			r := e.run("-c", script)
			e.noCanary(r)
			if r.code != 0 || !strings.HasSuffix(r.stdout, "done\n") {
				t.Fatalf("%s: exit %d:\n%s", label, r.code, r)
			}
			wants := []string{"http 127.0.0.1: OK 200 hello /four\n", "udp 127.0.0.1: OK echo ping\n",
				"tcp-shadow:" + l.tcp4 + ": CONNECTED own listener\n",
				"python http://127.0.0.1:8000/README hello from the workspace\n",
				"python http://localhost:8000/README hello from the workspace\n"}
			for _, target := range l.targets {
				if strings.HasPrefix(target, "tcp:[") {
					wants = append(wants, "http ::1: OK 200 hello /six\n", "udp ::1: OK echo ping\n",
						"python http://[::1]:8006/README hello from the workspace\n")
				}
				switch {
				case strings.HasPrefix(target, "tcp:"), strings.HasPrefix(target, "abstract:"):
					// Nothing listens there in the sandbox's own network namespace.
					wants = append(wants, target+": refused: ECONNREFUSED\n")
				case strings.HasPrefix(target, "unix:"):
					// The host's /tmp is not the sandbox's.
					wants = append(wants, target+": refused: ENOENT\n")
				}
			}
			if hosts {
				wants = append(wants, "proxied: 403\n")
			}
			for _, want := range wants {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("%s: stdout lacks %q:\n%s", label, want, r)
				}
			}
			if strings.Contains(r.stderr, "skillrun: blocked: socket") {
				t.Errorf("%s: a socket was refused:\n%s", label, r)
			}
			time.Sleep(300 * time.Millisecond)
			if got := l.h.list(); len(got) > 0 {
				t.Errorf("%s: the host's listeners saw: %v", label, got)
			}
		}
		e.assertNoState()
	})
}

// TestLoopbackBadInput: a port the sandbox already uses (the proxy's, with hosts; a second
// listener on one port) fails the command's bind with EADDRINUSE and leaves the proxy working;
// a command that floods its own loopback (UDP as fast as it can, TCP connections until its
// descriptors run out) ends normally, reaches nothing of the host, and leaves nothing behind.
func TestLoopbackBadInput(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skipf("curl is not installed: %v", err)
	}
	forEachIdentity(t, func(t *testing.T, e *env) {
		l := startHostListeners(t, e)
		pol := filepath.Join(e.base, "policy.yaml")
		e.extraEnv = []string{"SKILLRUN_POLICY=" + pol}
		e.write(pol, "version: 1\nagent:\n  network:\n    allow: [\"example.invalid:443\"]\n  limits: {open_files: 512}\n", 0o600)
		r := e.run("-c", `./probe bind 127.0.0.1:3128 0.0.0.0:3128 127.0.0.1:8080 127.0.0.1:8080 '[::1]:8080'
curl -s --noproxy '' -o /dev/null -w 'proxy %{http_code}\n' http://`+l.tcp4+`/`)
		for _, want := range []string{"bind 127.0.0.1:3128: failed: EADDRINUSE\n", "bind 0.0.0.0:3128: failed: EADDRINUSE\n",
			"bind 127.0.0.1:8080: OK\n", "bind 127.0.0.1:8080: failed: EADDRINUSE\n", "proxy 403\n"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("ports taken inside: stdout lacks %q:\n%s", want, r)
			}
		}
		// Without hosts there is no proxy: its port is the command's like any other.
		e.write(pol, "version: 1\nagent:\n  limits: {open_files: 512}\n", 0o600)
		if r := e.run("--", "./probe", "bind", "127.0.0.1:3128"); !strings.Contains(r.stdout, "bind 127.0.0.1:3128: OK\n") {
			t.Errorf("no hosts: port 3128 is not free:\n%s", r)
		}
		for _, policy := range []string{"version: 1\nagent:\n  limits: {open_files: 512}\n",
			"version: 1\nagent:\n  network:\n    allow: [\"example.invalid:443\"]\n  limits: {open_files: 512}\n"} {
			e.write(pol, policy, 0o600)
			r := e.run("-c", `./probe flood 2; ./probe reach `+strings.Join(l.targets, " "))
			m := regexp.MustCompile(`flood: (\d+) datagrams, (\d+) connections, then (\S+)`).FindStringSubmatch(r.stdout)
			if r.code != 0 || m == nil {
				t.Fatalf("flood: exit %d:\n%s", r.code, r)
			}
			if n, _ := strconv.Atoi(m[1]); n == 0 || m[3] != "EMFILE" {
				t.Errorf("flood: want datagrams sent and connections up to the descriptor limit (EMFILE): %s", m[0])
			}
			if strings.Contains(r.stdout, "CONNECTED") {
				t.Errorf("flood: a host listener was reached after the flood:\n%s", r)
			}
			time.Sleep(300 * time.Millisecond)
			if got := l.h.list(); len(got) > 0 {
				t.Errorf("flood: the host's listeners saw: %v", got)
			}
			if r := e.run("--", "true"); r.code != 0 {
				t.Errorf("the run after the flood failed:\n%s", r)
			}
		}
		e.assertNoState()
	})
}
