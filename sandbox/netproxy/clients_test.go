package netproxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// Real clients through the proxy: curl, python's urllib and git, against local servers whose
// names only the test resolver knows. With a proxy, curl resolves nothing itself for http://
// and --socks5-hostname, nor does urllib, so a name reaching the server proves the proxy
// resolved it.

// clientEnv is the environment a client runs with: nothing of the caller's proxies.
func clientEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}
	return append(env, extra...)
}

func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func clientServers(t *testing.T) (e *env, plain, secure int) {
	srv := echoServer(t, "up")
	tlsSrv := httptest.NewTLSServer(srv.Config.Handler)
	t.Cleanup(tlsSrv.Close)
	plain, secure = portOf(t, srv.URL), portOf(t, tlsSrv.URL)
	p, s := strconv.Itoa(plain), strconv.Itoa(secure)
	res := newResolver("app.example.test", "127.0.0.1", "denied.example.test", "127.0.0.1", "meta.example.test", "169.254.169.254")
	e = newEnv(t, policy.Network{Allow: []string{"app.example.test:" + p, "app.example.test:" + s, "127.0.0.1:" + p, "127.0.0.1:" + s, "meta.example.test"}}, Options{}, res)
	return e, plain, secure
}

func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	e, plain, secure := clientServers(t)
	env := clientEnv(t)
	p, s := strconv.Itoa(plain), strconv.Itoa(secure)
	tests := []struct {
		name string
		args []string
		want string // in the output; alternatives separated by |
		fail bool   // curl exits non-zero
	}{
		{"http proxy", []string{"-sS", "-x", "http://" + e.addr, "http://app.example.test:" + p + "/curl"}, "uri=/curl host=app.example.test:" + p, false},
		{"https via CONNECT", []string{"-sS", "-k", "-x", "http://" + e.addr, "https://app.example.test:" + s + "/tls"}, "uri=/tls host=app.example.test:" + s, false},
		{"socks5-hostname", []string{"-sS", "--socks5-hostname", e.addr, "http://app.example.test:" + p + "/socks"}, "uri=/socks", false},
		{"socks5h URL", []string{"-sS", "-x", "socks5h://" + e.addr, "http://app.example.test:" + p + "/socks5h"}, "uri=/socks5h", false},
		{"keep-alive, second URL denied", []string{"-sS", "-x", "http://" + e.addr, "http://app.example.test:" + p + "/one", "http://denied.example.test:" + p + "/two"},
			`network: allow: ["denied.example.test:` + p + `"]`, false},
		{"denied over http", []string{"-sS", "-D", "-", "-o", "/dev/null", "-x", "http://" + e.addr, "http://denied.example.test:" + p + "/"}, "X-Skillrun-Denied: not-in-allowlist", false},
		{"denied over CONNECT", []string{"-sS", "-x", "http://" + e.addr, "https://denied.example.test:" + s + "/"}, "403", true},
		{"denied over socks5", []string{"-sS", "--socks5-hostname", e.addr, "http://denied.example.test:" + p + "/"}, "not allowed|(2)", true},
		{"metadata name", []string{"-sS", "-D", "-", "-x", "http://" + e.addr, "http://meta.example.test/latest/meta-data/"}, "X-Skillrun-Denied: refused-address", false},
		{"metadata literal", []string{"-sS", "-D", "-", "-x", "http://" + e.addr, "http://169.254.169.254/latest/meta-data/"}, "X-Skillrun-Denied: ip-literal-not-allowed", false},
		{"integer IP", []string{"-sS", "-D", "-", "-x", "http://" + e.addr, "http://2852039166/"}, "X-Skillrun-Denied: ip-literal-not-allowed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, env, "curl", append([]string{"--max-time", "20"}, tt.args...)...)
			if (err != nil) != tt.fail {
				t.Errorf("curl %v: %v\n%s", tt.args, err, out)
			}
			found := false
			for _, w := range strings.Split(tt.want, "|") {
				found = found || strings.Contains(out, w)
			}
			if !found {
				t.Errorf("curl %v: output lacks %q:\n%s", tt.args, tt.want, out)
			}
		})
	}
	for _, a := range e.dial.calls() {
		if a != "127.0.0.1:"+p && a != "127.0.0.1:"+s {
			t.Errorf("dialed %s", a)
		}
	}
}

func TestPythonURLLib(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	e, plain, secure := clientServers(t)
	proxy := "http://" + e.addr
	env := clientEnv(t, "HTTP_PROXY="+proxy, "http_proxy="+proxy, "HTTPS_PROXY="+proxy, "https_proxy="+proxy, "NO_PROXY=", "no_proxy=")
	script := `
import ssl, sys, urllib.request, urllib.error
for url in sys.argv[1:]:
    try:
        with urllib.request.urlopen(url, timeout=20, context=ssl._create_unverified_context()) as r:
            print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.headers.get("X-Skillrun-Denied"))
    except Exception as e:
        print("error", type(e).__name__, e)
`
	p, s := strconv.Itoa(plain), strconv.Itoa(secure)
	out, err := run(t, env, "python3", "-c", script,
		"http://app.example.test:"+p+"/py", "https://app.example.test:"+s+"/pys", "http://denied.example.test:"+p+"/", "https://denied.example.test:"+s+"/")
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "200 server=up method=GET uri=/py host=app.example.test:"+p) ||
		!strings.HasPrefix(lines[1], "200 server=up method=GET uri=/pys host=app.example.test:"+s) ||
		lines[2] != "403 not-in-allowlist" ||
		!strings.HasPrefix(lines[3], "error") || !strings.Contains(lines[3], "403") {
		t.Errorf("python3 output:\n%s", out)
	}
}

// TestGit clones over the dumb HTTP protocol through the proxy.
func TestGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	env := clientEnv(t)
	dir := t.TempDir()
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "srv", "repo.git")
	for _, args := range [][]string{
		{"init", "-q", work},
		{"-C", work, "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-q", "--allow-empty", "-m", "hello through the proxy"},
		{"clone", "-q", "--bare", work, bare},
		{"-C", bare, "update-server-info"},
	} {
		if out, err := run(t, env, "git", args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "srv"))))
	t.Cleanup(srv.Close)
	p := strconv.Itoa(portOf(t, srv.URL))
	e := newEnv(t, policy.Network{Allow: []string{"git.example.test:" + p, "127.0.0.1:" + p}}, Options{}, newResolver("git.example.test", "127.0.0.1", "other.example.test", "127.0.0.1"))
	genv := append(env, "http_proxy=http://"+e.addr, "HTTP_PROXY=http://"+e.addr)
	clone := filepath.Join(dir, "clone")
	if out, err := run(t, genv, "git", "clone", "-q", "http://git.example.test:"+p+"/repo.git", clone); err != nil {
		t.Fatalf("git clone through the proxy: %v\n%s", err, out)
	}
	if out, _ := run(t, env, "git", "-C", clone, "log", "--format=%s"); strings.TrimSpace(out) != "hello through the proxy" {
		t.Errorf("cloned log: %q", out)
	}
	out, err := run(t, genv, "git", "ls-remote", "http://other.example.test:"+p+"/repo.git")
	if err == nil || !strings.Contains(out, "403") {
		t.Errorf("git from a host not allowed: %v\n%s", err, out)
	}
}
