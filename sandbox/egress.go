package sandbox

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Egress serves the plan's egress proxy on a listener that lives in the sandbox's own network
// namespace; it returns a function that stops serving and waits for it, called when the command
// has ended.
type Egress func(l net.Listener) (stop func())

// receiveListener, on the host, waits for the stage's listening socket.
func receiveListener(conn *os.File, timeout time.Duration) (net.Listener, error) {
	_ = unix.SetsockoptTimeval(int(conn.Fd()), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: int64(timeout / time.Second)})
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(conn.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("%w: waiting for the proxy's socket from the sandbox: %v", ErrSetup, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: the sandbox ended before it opened the proxy's socket", ErrSetup)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("%w: no socket from the sandbox", ErrSetup)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("%w: no socket from the sandbox", ErrSetup)
	}
	f := os.NewFile(uintptr(fds[0]), "egress-listener")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%w: the proxy's socket: %v", ErrSetup, err)
	}
	return l, nil
}
