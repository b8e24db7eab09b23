package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestEgressProxy runs commands whose plan allows one host: they reach it through the proxy that
// listens in the sandbox's own network namespace, every other target is refused with a reason
// (and reported after the command), a connection that ignores the proxy goes nowhere, and a plan
// without hosts has no proxy at all. Targets are listeners this test starts on 127.0.0.1, named
// by their literal address (the proxy refuses loopback unless that literal is allowed).
func TestEgressProxy(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skipf("curl is not installed: %v", err)
	}
	var hits atomic.Int32
	// A bare repository served over git's dumb HTTP protocol, for a clone through the proxy.
	repos := t.TempDir()
	src := filepath.Join(repos, "src")
	for _, args := range [][]string{{"init", "-q", src}, {"-C", src, "commit", "-q", "--allow-empty", "-m", "cloned via the proxy"},
		{"clone", "-q", "--bare", src, filepath.Join(repos, "repo.git")}, {"-C", filepath.Join(repos, "repo.git"), "update-server-info"}} {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	files := http.FileServer(http.Dir(repos))
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/repo.git/") {
			files.ServeHTTP(w, r)
			return
		}
		hits.Add(1)
		io.WriteString(w, "hello through the proxy")
	}))
	defer allowed.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(100)
		io.WriteString(w, "must not be reached")
	}))
	defer other.Close()
	allowedAddr := strings.TrimPrefix(allowed.URL, "http://")
	otherAddr := strings.TrimPrefix(other.URL, "http://")

	forEachIdentity(t, func(t *testing.T, e *env) {
		hits.Store(0)
		pol := filepath.Join(e.base, "policy.yaml")
		e.write(pol, fmt.Sprintf("version: 1\nagent:\n  network:\n    allow: [%q]\n", allowedAddr), 0o600)
		e.extraEnv = []string{"SKILLRUN_POLICY=" + pol}
		// NO_PROXY lists 127.0.0.1 (the sandbox's own loopback): these literal targets are
		// sent to the proxy on purpose.
		r := e.run("-c", `env | grep -c '^HTTP_PROXY=http://127.0.0.1:3128$'
curl -s --noproxy '' -w ' %{http_code}\n' http://`+allowedAddr+`/
curl -s --noproxy '' -o /dev/null -w '%{http_code}\n' http://`+otherAddr+`/
curl -s --noproxy '' -o /dev/null -w '%{http_code}\n' -p http://`+otherAddr+`/
curl -s --noproxy '' -o /dev/null -w '%{http_code}\n' http://169.254.169.254/latest/meta-data/
NO_PROXY= no_proxy= python3 -c "import urllib.request; print(urllib.request.urlopen('http://`+allowedAddr+`/').read().decode())"
NO_PROXY= no_proxy= git clone -q http://`+allowedAddr+`/repo.git $TMPDIR/clone && git -C $TMPDIR/clone log --format=%s
getent hosts example.com || echo "no resolver $?"
curl -s --max-time 5 --noproxy '*' -o /dev/null http://`+allowedAddr+`/ || echo "direct refused $?"
true`)
		if r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r)
		}
		for _, want := range []string{"1\n", "hello through the proxy 200\n", "403\n", "hello through the proxy\n", "direct refused ",
			"cloned via the proxy\n", "no resolver "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r)
			}
		}
		if strings.Count(r.stdout, "403\n") < 2 {
			t.Errorf("the other listener and the metadata address must both be refused with 403:\n%s", r)
		}
		if n := hits.Load(); n != 2 {
			t.Errorf("the allowed server was hit %d times (100 per hit of the other one), want 2", n)
		}
		for _, want := range []string{"skillrun: blocked: ", "connections to " + otherAddr, "(IP literal not in the allowlist of agent commands)",
			"skillrun: hint: to allow it for agent commands, add to " + pol + `: agent: {network: {allow: ["` + otherAddr + `"]}}`,
			"169.254.169.254:80"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r)
			}
		}
		// Raw TCP and UDP that ignore the proxy reach nothing of the host.
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		r = e.run("-c", `python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b'leak', ('127.0.0.1', `+strings.Split(udp.LocalAddr().String(), ":")[1]+`))
except OSError as e:
    print('udp', e.errno)
t = socket.socket()
try:
    t.connect(('127.0.0.1', `+strings.Split(otherAddr, ":")[1]+`))
    print('tcp connected')
except OSError as e:
    print('tcp', e.errno)
"`)
		if strings.Contains(r.stdout, "tcp connected") || hits.Load() > 2 {
			t.Errorf("a direct TCP connection reached the host:\n%s", r)
		}
		udp.SetReadDeadline(deadlineSoon())
		if n, _, err := udp.ReadFrom(make([]byte, 16)); err == nil && n > 0 {
			t.Errorf("a UDP datagram from the sandbox reached the host listener")
		}
		// No hosts, no proxy: no variables, nothing listening.
		e.write(pol, "version: 1\n", 0o600)
		r = e.run("-c", `env | grep -ci proxy; curl -s --max-time 5 -x http://127.0.0.1:3128 http://`+allowedAddr+`/ || echo "no proxy $?"`)
		// curl's socket is allowed (the sandbox's own loopback) and finds nothing on the port.
		if !strings.HasPrefix(r.stdout, "0\n") || !strings.Contains(r.stdout, "no proxy 7") || strings.Contains(r.stderr, " to 127.0.0.1:") {
			t.Errorf("a plan without hosts must have no proxy:\n%s", r)
		}
		e.assertNoState()
	})
}

func deadlineSoon() time.Time { return time.Now().Add(500 * time.Millisecond) }
