package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// TestThousandClients: 1000 clients at once, each with its own request, all answered, while
// the proxy serves at most MaxConns at a time.
func TestThousandClients(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	e := newEnv(t, policy.Network{Allow: []string{"many.example.test:" + ps, "127.0.0.1:" + ps}},
		Options{MaxConns: 64}, newResolver("many.example.test", "127.0.0.1"))
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var peak int
	var peakMu sync.Mutex
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				g := runtime.NumGoroutine()
				peakMu.Lock()
				peak = max(peak, g)
				peakMu.Unlock()
			}
		}
	}()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			fmt.Fprintf(c, "GET http://many.example.test:%s/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", ps, i)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf("uri=/%d ", i)) {
				errs <- fmt.Errorf("client %d: %d %q", i, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.p.Close() // a record is added once its connection is done: after the client's last read
	if s := e.p.Summary(); s.Allowed != n || s.Failed != 0 {
		t.Errorf("summary %+v", s)
	}
	peakMu.Lock()
	t.Logf("peak goroutines with %d clients: %d", n, peak)
	peakMu.Unlock()
}

// TestConnectionBound: clients beyond MaxConns cost no goroutine; they wait in the backlog
// and are served when a slot frees.
func TestConnectionBound(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	base := runtime.NumGoroutine()
	e := newEnv(t, policy.Network{Allow: []string{"b.example.test:" + ps, "127.0.0.1:" + ps}},
		Options{MaxConns: 4, ReadHeaderTimeout: 2 * time.Second}, newResolver("b.example.test", "127.0.0.1"))
	var idle []net.Conn
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	time.Sleep(200 * time.Millisecond)
	// The accept loop, 4 connection handlers, and the test's Serve goroutine.
	if g := runtime.NumGoroutine(); g > base+4+4 {
		t.Errorf("%d goroutines with 100 idle clients and MaxConns 4 (base %d)", g, base)
	}
	// Idle clients time out of their slots; then a real request is served.
	for _, c := range idle {
		c.Close()
	}
	resp, body := e.get("http://b.example.test:" + ps + "/")
	if resp.StatusCode != 200 {
		t.Errorf("after the flood: %d %q", resp.StatusCode, body)
	}
}

// TestCloseEndsEverything: Close with connections in every state (idle, mid-header, a live
// tunnel, a kept-alive HTTP connection, a dial in progress, a lookup in progress, clients in
// the backlog) returns, ends every goroutine, and keeps the records.
func TestCloseEndsEverything(t *testing.T) {
	srv := echoServer(t, "up")
	ps := strconv.Itoa(portOf(t, srv.URL))
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	tps := strconv.Itoa(portOf(t, tcp.Addr().String()))
	base := runtime.NumGoroutine()

	res := newResolver("up.example.test", "127.0.0.1", "tcp.example.test", "127.0.0.1", "slow.example.test", "127.0.0.2",
		"dns.example.test", "127.0.0.1")
	res.hang = map[string]bool{"dns.example.test": true}
	p, err := New(policy.Network{Allow: []string{"up.example.test:" + ps, "tcp.example.test:" + tps, "slow.example.test:" + tps,
		"dns.example.test:" + tps, "127.0.0.1:" + ps, "127.0.0.1:" + tps, "127.0.0.2:" + tps}},
		Options{Resolver: res, Dialer: &hangDialer{d: &testDialer{}, hang: "127.0.0.2:" + tps}, MaxConns: 8, DialTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	addr := ln.Addr().String()
	var clients []net.Conn
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		return c
	}
	dial()                                                    // idle
	io.WriteString(dial(), "GET http://up.example.test/ HTT") // mid-header
	tun := dial()                                             // a live tunnel
	fmt.Fprintf(tun, "CONNECT tcp.example.test:%s HTTP/1.1\r\n\r\nping", tps)
	br := bufio.NewReader(tun)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("tunnel: %v %v", resp, err)
	}
	if b := make([]byte, 4); func() bool { _, err := io.ReadFull(br, b); return err != nil || string(b) != "ping" }() {
		t.Fatal("tunnel echo")
	}
	ka := dial() // kept-alive after one request
	fmt.Fprintf(ka, "GET http://up.example.test:%s/ HTTP/1.1\r\nHost: x\r\n\r\n", ps)
	kbr := bufio.NewReader(ka)
	if resp, err := http.ReadResponse(kbr, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("keep-alive: %v %v", resp, err)
	} else {
		io.ReadAll(resp.Body)
	}
	fmt.Fprintf(dial(), "CONNECT slow.example.test:%s HTTP/1.1\r\n\r\n", tps) // a dial that hangs
	fmt.Fprintf(dial(), "CONNECT dns.example.test:%s HTTP/1.1\r\n\r\n", tps)  // a lookup that hangs
	for i := 0; i < 20; i++ {                                                 // backlog
		dial()
	}
	time.Sleep(200 * time.Millisecond)

	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Close did not return:\n%s", buf[:runtime.Stack(buf, true)])
	}
	if err := <-served; !errors.Is(err, ErrClosed) {
		t.Errorf("Serve: %v", err)
	}
	// Every client sees its connection end.
	for i, c := range clients[:6] {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	for _, c := range clients {
		c.Close()
	}
	waitGoroutines(t, base)
	recs := p.Records()
	if len(recs) < 2 {
		t.Errorf("records after Close: %+v", recs)
	}
	var tunnel Record
	for _, r := range recs {
		if r.Protocol == ProtoConnect && r.Host == "tcp.example.test" {
			tunnel = r
		}
	}
	if tunnel.BytesUp != 4 || tunnel.BytesDown != 4 {
		t.Errorf("tunnel record %+v", tunnel)
	}
}

// hangDialer blocks dials to one address until the context ends.
type hangDialer struct {
	d    *testDialer
	hang string
}

func (h *hangDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if address == h.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.d.DialContext(ctx, network, address)
}
