package netproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Relay buffers. A direction starts with a small buffer and moves to a large one when a read
// fills the small one (a bulk transfer), because on loopback the copy loop's throughput is
// set by the number of system calls: 1 MiB reads reach twice the rate of 64 KiB ones (see
// BenchmarkDownload). Large buffers are limited to maxLargeBufs at once per proxy, so memory
// stays bounded whatever the clients do: MaxConns*2*64 KiB + maxLargeBufs*1 MiB.
const (
	smallBuf     = 64 << 10
	largeBuf     = 1 << 20
	maxLargeBufs = 32
)

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallBuf); return &b }}
	largePool = sync.Pool{New: func() any { b := make([]byte, largeBuf); return &b }}
)

// countWriter writes to a connection with a write deadline renewed at every write (a peer
// that stops reading for the idle timeout is dropped) and counts the bytes.
type countWriter struct {
	conn net.Conn
	idle time.Duration
	n    int64
}

func (w *countWriter) Write(b []byte) (int, error) {
	w.conn.SetWriteDeadline(time.Now().Add(w.idle))
	n, err := w.conn.Write(b)
	w.n += int64(n)
	return n, err
}

// copyBuffered copies with a pooled buffer.
func copyBuffered(dst io.Writer, src io.Reader) (int64, error) {
	bp := smallPool.Get().(*[]byte)
	defer smallPool.Put(bp)
	return io.CopyBuffer(dst, onlyReader{src}, *bp)
}

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the buffer given.
type onlyReader struct{ io.Reader }

// copyFrom copies exactly n bytes (a Content-Length body) from the upstream to the client:
// first what the upstream's bufio.Reader already holds, then straight from the connection.
func (p *Proxy) copyFrom(dst net.Conn, br *bufio.Reader, src net.Conn, n int64, idle time.Duration) (int64, error) {
	var done int64
	if b := min(int64(br.Buffered()), n); b > 0 {
		buf, _ := br.Peek(int(b))
		dst.SetWriteDeadline(time.Now().Add(idle))
		m, err := dst.Write(buf)
		br.Discard(m)
		done += int64(m)
		if err != nil {
			return done, err
		}
	}
	if done == n {
		return done, nil
	}
	m, err := p.pump(dst, src, n-done, newActivity(), idle)
	return done + m, err
}

// activity is when a relay last moved a byte in either direction, in Unix nanoseconds.
type activity struct{ last atomic.Int64 }

func newActivity() *activity {
	a := &activity{}
	a.touch()
	return a
}

func (a *activity) touch() { a.last.Store(time.Now().UnixNano()) }

func (a *activity) idleFor() time.Duration {
	return time.Since(time.Unix(0, a.last.Load()))
}

var errIdle = errors.New("idle timeout")

// pump copies src to dst until EOF, or limit bytes when limit >= 0. It keeps going as long as
// bytes move in either direction of the connection (act is shared by both directions), and
// gives up after idle without a byte. A write the peer does not take for idle fails.
//
// The copy is a plain read/write loop rather than splice(2) (net.TCPConn.ReadFrom): a
// splice call does not return until its whole chunk has moved, so the relay could not tell
// an idle connection from a slow one, and measured here on loopback splice was slower than
// this loop with 1 MiB reads (BenchmarkDownload, 2 cores shared by client, proxy and server).
func (p *Proxy) pump(dst, src net.Conn, limit int64, act *activity, idle time.Duration) (int64, error) {
	bp := smallPool.Get().(*[]byte)
	defer func() {
		if len(*bp) == largeBuf {
			largePool.Put(bp)
			<-p.largeBufs
		} else {
			smallPool.Put(bp)
		}
	}()
	buf := *bp
	var total int64
	for limit < 0 || total < limit {
		b := buf
		if limit >= 0 && int64(len(b)) > limit-total {
			b = b[:limit-total]
		}
		src.SetReadDeadline(time.Now().Add(idle))
		n, err := src.Read(b)
		if n == smallBuf && len(buf) == smallBuf {
			select {
			case p.largeBufs <- struct{}{}:
				large := largePool.Get().(*[]byte)
				copy(*large, b[:n])
				smallPool.Put(bp)
				bp = large
				buf, b = *bp, (*bp)[:n]
			default: // every large buffer is taken: stay small
			}
		}
		if n > 0 {
			act.touch()
			dst.SetWriteDeadline(time.Now().Add(idle))
			m, werr := dst.Write(b[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if act.idleFor() < idle {
					continue // the other direction is busy: this one may wait
				}
				return total, errIdle
			}
			if err == io.EOF {
				if limit >= 0 {
					return total, io.ErrUnexpectedEOF
				}
				return total, nil
			}
			return total, err
		}
	}
	return total, nil
}

// tunnel relays bytes both ways between the client and up until both directions end, one
// fails, the connection idles out, or the proxy closes. A direction that reaches EOF
// half-closes its destination, so request/response protocols over the tunnel finish
// normally. It returns the bytes sent upstream and back to the client.
func (cc *clientConn) tunnel(up net.Conn) (upBytes, downBytes int64) {
	idle := cc.p.opts.IdleTimeout
	// Bytes the client sent right behind its request (a TLS ClientHello pipelined after
	// CONNECT) are in the bufio.Reader, not the socket.
	if n := cc.br.Buffered(); n > 0 {
		b, _ := cc.br.Peek(n)
		up.SetWriteDeadline(time.Now().Add(idle))
		m, err := up.Write(b)
		cc.br.Discard(m)
		upBytes += int64(m)
		if err != nil {
			return upBytes, 0
		}
	}
	if cc.upBr != nil && cc.up == up {
		if n := cc.upBr.Buffered(); n > 0 {
			b, _ := cc.upBr.Peek(n)
			cc.conn.SetWriteDeadline(time.Now().Add(idle))
			m, err := cc.conn.Write(b)
			cc.upBr.Discard(m)
			downBytes += int64(m)
			if err != nil {
				return upBytes, downBytes
			}
		}
	}
	act := newActivity()
	var wg sync.WaitGroup
	var upN int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		n, err := cc.p.pump(up, cc.conn, -1, act, idle)
		upN = n
		if err == nil {
			closeWrite(up)
		} else {
			up.Close()
			cc.conn.Close()
		}
	}()
	n, err := cc.p.pump(cc.conn, up, -1, act, idle)
	downBytes += n
	if err == nil {
		closeWrite(cc.conn)
	} else {
		up.Close()
		cc.conn.Close()
	}
	wg.Wait()
	return upBytes + upN, downBytes
}

// closeWrite half-closes c when it can; otherwise the peer learns of the end when the whole
// relay ends.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// connAlive reports, without blocking, whether a kept-alive upstream connection is still
// open and silent: a peek that would block means alive; EOF, an error or unsolicited bytes
// mean it must not carry another request.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
