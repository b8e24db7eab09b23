package netproxy_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/sandbox/netproxy"
)

// A run's proxy: hand it a listener, let the command use it, close it, report the denials.
func Example() {
	p, err := netproxy.New(policy.Network{Allow: []string{"api.example.com:443"}}, netproxy.Options{})
	if err != nil {
		panic(err)
	}
	// In a sandbox run the listener lives in the sandbox's network namespace.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go p.Serve(ln)

	// The command tries a host its skill did not declare, three times.
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		fmt.Fprint(c, "CONNECT webhook.example.com:443 HTTP/1.1\r\nHost: webhook.example.com:443\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			panic(err)
		}
		if i == 0 {
			fmt.Println(resp.Status, resp.Header.Get("X-Skillrun-Denied"))
		}
		c.Close()
	}
	p.Close()

	for _, b := range p.Summary().Blocked {
		fmt.Printf("skillrun: blocked: %d connections to %s (%s of skill pdf-tools)\n", b.Count, b.Target(), b.Reason.Text())
		fmt.Printf("skillrun: hint: %s\n", b.Hint)
	}
	// Output:
	// 403 Forbidden not-in-allowlist
	// skillrun: blocked: 3 connections to webhook.example.com:443 (not in the allowlist of skill pdf-tools)
	// skillrun: hint: network: allow: ["webhook.example.com:443"]
}
