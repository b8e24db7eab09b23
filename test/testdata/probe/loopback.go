package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ownLoopback does what test suites do on the sandbox's own loopback: an httptest server (on
// 127.0.0.1, then one on ::1) answered through the default HTTP client, which reads the proxy
// variables, and a UDP echo on each address.
func ownLoopback() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.URL.Path) })
	srv := httptest.NewServer(handler)
	get("http 127.0.0.1", srv.URL+"/four")
	srv.Close()
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		fmt.Println("http ::1: failed:", err)
	} else {
		srv6 := httptest.NewUnstartedServer(handler)
		srv6.Listener.Close()
		srv6.Listener = l
		srv6.Start()
		get("http ::1", srv6.URL+"/six")
		srv6.Close()
	}
	for _, a := range []struct{ name, network, addr string }{{"udp 127.0.0.1", "udp4", "127.0.0.1:0"}, {"udp ::1", "udp6", "[::1]:0"}} {
		fmt.Printf("%s: %s\n", a.name, udpEcho(a.network, a.addr))
	}
}

func get(name, url string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Printf("%s: failed: %v\n", name, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s: OK %d %s\n", name, resp.StatusCode, b)
}

func udpEcho(network, addr string) string {
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		return "failed: " + err.Error()
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 64)
		n, from, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
	c, err := net.Dial(network, pc.LocalAddr().String())
	if err != nil {
		return "failed: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return "failed: " + err.Error()
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return "failed: " + err.Error()
	}
	return "OK " + string(buf[:n])
}

// reach tries each target (tcp:ADDR, udp:ADDR, unix:PATH, abstract:NAME) and says what happened;
// tcp-shadow:ADDR first listens on ADDR itself, so a connection that succeeds shows whose
// listener answered.
func reach(targets []string) {
	for _, t := range targets {
		kind, addr, _ := strings.Cut(t, ":")
		fmt.Printf("%s: %s\n", t, reachOne(kind, addr))
	}
}

func reachOne(kind, addr string) string {
	const payload = "CANARY-NET\n"
	switch kind {
	case "tcp", "tcp-shadow":
		if kind == "tcp-shadow" {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return "no own listener: " + err.Error()
			}
			defer l.Close()
			go func() {
				if c, err := l.Accept(); err == nil {
					c.Write([]byte("own listener\n"))
					c.Close()
				}
			}()
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return "refused: " + errName(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte(payload))
		b := make([]byte, 64)
		n, _ := c.Read(b)
		return "CONNECTED " + strings.TrimSpace(string(b[:n]))
	case "udp":
		c, err := net.Dial("udp", addr)
		if err != nil {
			return "refused: " + errName(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(payload)); err != nil {
			return "refused: " + errName(err)
		}
		return "sent"
	case "unix", "abstract":
		if kind == "abstract" {
			addr = "@" + addr
		}
		c, err := net.DialTimeout("unix", addr, 2*time.Second)
		if err != nil {
			return "refused: " + errName(err)
		}
		defer c.Close()
		c.Write([]byte(payload))
		return "CONNECTED"
	}
	return "unknown target kind " + kind
}

// errName names the errno under err, or err itself.
func errName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// bind listens on each address in turn and holds every listener until it ends: the second of
// two equal addresses, or one the sandbox already uses, fails.
func bind(addrs []string) {
	var held []net.Listener
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			fmt.Printf("bind %s: failed: %s\n", a, errName(err))
			continue
		}
		held = append(held, l)
		fmt.Printf("bind %s: OK\n", a)
	}
	for _, l := range held {
		l.Close()
	}
}

// flood hammers the sandbox's own loopback for the given seconds: UDP datagrams to its own
// socket as fast as it can, and TCP connections to its own listener until the descriptors run
// out. It reports how far it got; what it must not do is reach or slow down anything outside.
func flood(arg string) {
	secs, err := strconv.Atoi(arg)
	if err != nil {
		fail(err)
	}
	end := time.Now().Add(time.Duration(secs) * time.Second)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		fail(err)
	}
	buf := make([]byte, 1400)
	datagrams := 0
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			if _, err := c.Write(buf); err == nil {
				datagrams++
			}
		}
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			if _, err := l.Accept(); err != nil {
				return
			}
		}
	}()
	var conns []net.Conn
	var last error
	for len(conns) < 100000 {
		c, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			last = err
			break
		}
		conns = append(conns, c)
	}
	end2 := "no error"
	if last != nil {
		end2 = errName(last)
	}
	fmt.Printf("flood: %d datagrams, %d connections, then %s\n", datagrams, len(conns), end2)
	os.Stdout.Sync()
}
