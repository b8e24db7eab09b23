package netproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy"
)

// Benchmarks compare each path through the proxy with the same client talking to the same
// loopback server directly. Targets (issue 5): under 1 ms added per connection, and at least
// 80% of direct throughput for one large download. Run with
//
//	go test -run '^$' -bench . ./sandbox/netproxy/
//
// The custom metrics are the result: direct-us, proxied-us and added-us per connection;
// direct-MB/s, proxied-MB/s and ratio-% per download.

// pingServer answers one byte with one byte, then closes: the smallest useful exchange.
func pingServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				first, err := br.Peek(1)
				if err != nil {
					return
				}
				if first[0] == 'G' { // an HTTP request: a small response
					for {
						l, err := br.ReadString('\n')
						if err != nil || l == "\r\n" {
							break
						}
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
					return
				}
				br.ReadByte()
				c.Write([]byte{'y'})
			}()
		}
	}()
	return ln.Addr().String()
}

// bulkServer sends size bytes to every client (after an HTTP response header when the client
// starts with an HTTP request), then closes.
func bulkServer(b *testing.B, size int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	chunk := make([]byte, 1<<20)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				first, err := br.Peek(1)
				if err != nil {
					return
				}
				if first[0] == 'G' {
					for {
						l, err := br.ReadString('\n')
						if err != nil || l == "\r\n" {
							break
						}
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", size)
				} else {
					br.ReadByte()
				}
				for left := size; left > 0; {
					n := min(left, int64(len(chunk)))
					if _, err := c.Write(chunk[:n]); err != nil {
						return
					}
					left -= n
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func benchProxy(b *testing.B, upstream string) (proxyAddr string, name string) {
	b.Helper()
	port := strings.TrimPrefix(upstream, "127.0.0.1:")
	res := newResolver("bench.example.test", "127.0.0.1")
	p, err := New(policy.Network{Allow: []string{"bench.example.test:" + port, "127.0.0.1:" + port}}, Options{Resolver: res, Dialer: &net.Dialer{}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go p.Serve(ln)
	b.Cleanup(func() { p.Close() })
	return ln.Addr().String(), "bench.example.test:" + port
}

// openVia opens a connection to target through the proxy with proto (direct when proto is
// empty) and returns it ready for application bytes, with a reader holding any bytes read
// past the handshake.
func openVia(proto, proxyAddr, upstream, target string) (net.Conn, *bufio.Reader, error) {
	if proto == "" {
		c, err := net.Dial("tcp", upstream)
		if err != nil {
			return nil, nil, err
		}
		return c, bufio.NewReaderSize(c, 64<<10), nil
	}
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	switch proto {
	case "connect":
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		status, err := br.ReadString('\n')
		if err != nil || !strings.Contains(status, " 200 ") {
			c.Close()
			return nil, nil, fmt.Errorf("CONNECT: %q %v", status, err)
		}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				c.Close()
				return nil, nil, err
			}
			if l == "\r\n" {
				break
			}
		}
	case "socks5":
		c.Write([]byte{5, 1, 0})
		var sel [2]byte
		if _, err := io.ReadFull(br, sel[:]); err != nil {
			c.Close()
			return nil, nil, err
		}
		host, port, _ := net.SplitHostPort(target)
		pn, _ := strconv.Atoi(port)
		req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
		c.Write(append(req, byte(pn>>8), byte(pn)))
		var rep [10]byte
		if _, err := io.ReadFull(br, rep[:]); err != nil || rep[1] != 0 {
			c.Close()
			return nil, nil, fmt.Errorf("SOCKS5 reply %v %v", rep, err)
		}
	}
	return c, br, nil
}

// exchange does the smallest exchange on a fresh connection: a byte each way, or one small
// HTTP request and response.
func exchange(proto, proxyAddr, upstream, target string) error {
	if proto == "http" || proto == "http-direct" {
		addr := proxyAddr
		uri := "http://" + target + "/"
		if proto == "http-direct" {
			addr, uri = upstream, "/"
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", uri, target)
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasSuffix(string(b), "\r\n\r\nx") {
			return fmt.Errorf("HTTP exchange: %q %v", b, err)
		}
		return nil
	}
	c, br, err := openVia(proto, proxyAddr, upstream, target)
	if err != nil {
		return err
	}
	defer c.Close()
	c.Write([]byte{'x'})
	if b, err := br.ReadByte(); err != nil || b != 'y' {
		return fmt.Errorf("exchange: %q %v", b, err)
	}
	return nil
}

// BenchmarkSetup measures the time to open a connection and exchange one message, directly
// and through the proxy, and reports the difference.
func BenchmarkSetup(b *testing.B) {
	upstream := pingServer(b)
	proxyAddr, target := benchProxy(b, upstream)
	for _, proto := range []string{"connect", "socks5", "http"} {
		b.Run(proto, func(b *testing.B) {
			direct := ""
			if proto == "http" {
				direct = "http-direct"
			}
			var dsum, psum time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := exchange(direct, proxyAddr, upstream, target); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := exchange(proto, proxyAddr, upstream, target); err != nil {
					b.Fatal(err)
				}
				dsum += t1.Sub(t0)
				psum += time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(float64(dsum.Microseconds())/n, "direct-us")
			b.ReportMetric(float64(psum.Microseconds())/n, "proxied-us")
			b.ReportMetric(float64((psum-dsum).Microseconds())/n, "added-us")
		})
	}
}

// BenchmarkDownload measures one 256 MiB download from a loopback server, directly and
// through the proxy, and reports the throughput of each and their ratio.
func BenchmarkDownload(b *testing.B) {
	const size = 256 << 20
	upstream := bulkServer(b, size)
	proxyAddr, target := benchProxy(b, upstream)
	buf := make([]byte, 256<<10)
	download := func(proto string) (time.Duration, error) {
		start := time.Now()
		var r io.Reader
		var c net.Conn
		if proto == "http" || proto == "http-direct" {
			addr, uri := proxyAddr, "http://"+target+"/"
			if proto == "http-direct" {
				addr, uri = upstream, "/"
			}
			var err error
			c, err = net.Dial("tcp", addr)
			if err != nil {
				return 0, err
			}
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", uri, target)
			br := bufio.NewReaderSize(c, 64<<10)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					c.Close()
					return 0, err
				}
				if l == "\r\n" {
					break
				}
			}
			r = br
		} else {
			var br *bufio.Reader
			var err error
			c, br, err = openVia(proto, proxyAddr, upstream, target)
			if err != nil {
				return 0, err
			}
			c.Write([]byte{'x'})
			r = br
		}
		defer c.Close()
		n, err := io.CopyBuffer(io.Discard, onlyReader{r}, buf)
		if err == nil && n != size {
			err = fmt.Errorf("got %d bytes, want %d", n, size)
		}
		return time.Since(start), err
	}
	for _, proto := range []string{"connect", "socks5", "http"} {
		b.Run(proto, func(b *testing.B) {
			direct := ""
			if proto == "http" {
				direct = "http-direct"
			}
			// Loopback throughput swings by 2x between single downloads on a small VM: each
			// iteration takes rounds interleaved pairs (direct, then proxied) and reports medians.
			const rounds = 7
			b.SetBytes(size * rounds)
			var ds, ps []time.Duration
			for i := 0; i < b.N; i++ {
				for r := 0; r < rounds; r++ {
					d, err := download(direct)
					if err != nil {
						b.Fatal(err)
					}
					p, err := download(proto)
					if err != nil {
						b.Fatal(err)
					}
					ds, ps = append(ds, d), append(ps, p)
				}
			}
			dm, pm := median(ds), median(ps)
			mb := float64(size) / (1 << 20)
			b.ReportMetric(mb/dm.Seconds(), "direct-MB/s")
			b.ReportMetric(mb/pm.Seconds(), "proxied-MB/s")
			b.ReportMetric(100*dm.Seconds()/pm.Seconds(), "ratio-%")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return s[len(s)/2]
}
