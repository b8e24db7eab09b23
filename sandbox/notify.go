package sandbox

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/sandbox/seccomp"
)

// Denial is a refusal the sandbox observed: a reported syscall the seccomp filter stopped.
type Denial struct {
	Syscall string `json:"syscall"`
	Args    string `json:"args,omitempty"`
	Process string `json:"process,omitempty"`
	PID     int    `json:"pid,omitempty"`
	// Why is the filter's reason ("address family not allowed", "no mounts", ...).
	Why   string `json:"why"`
	Count int    `json:"count"`
}

// maxDenials bounds what one run keeps; repeats of the same refusal are counted, not kept.
const maxDenials = 64

// notifySupported says the kernel can hand refusals to a supervisor.
func notifySupported() bool {
	b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail")
	return err == nil && strings.Contains(string(b), "user_notif")
}

// supervisor receives the command's seccomp listener and answers every reported refusal with the
// filter's errno, keeping what was attempted. It never lets a call through.
type supervisor struct {
	opt     seccomp.Options
	rec     *Recorder // skillrun learn: the recorded syscalls go here
	conn    *os.File
	stop    [2]int // a pipe: closing the write end ends the loop
	done    chan struct{}
	mu      sync.Mutex
	denials []Denial
}

func newSupervisor(conn *os.File, opt seccomp.Options, rec *Recorder) (*supervisor, error) {
	s := &supervisor{opt: opt, rec: rec, conn: conn, done: make(chan struct{})}
	if err := unix.Pipe2(s.stop[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

func (s *supervisor) run() {
	defer close(s.done)
	defer unix.Close(s.stop[0])
	listener, ok := s.receive()
	if !ok {
		return
	}
	defer unix.Close(listener)
	if s.rec != nil {
		defer s.rec.close()
		// Every recorded call of the command waits for this loop: keep it on a thread of its
		// own instead of handing it between threads at each blocking poll.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for {
		fds := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}, {Fd: int32(s.stop[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[1].Revents != 0 || fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 && fds[0].Revents&unix.POLLIN == 0 {
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			continue
		}
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(listener))
		if err != nil {
			continue // the caller died meanwhile (ENOENT), or a signal
		}
		if s.rec != nil && s.rec.take(listener, req) {
			continue
		}
		errno, name, why := seccomp.Explain(int(req.Data.Syscall), req.Data.Args, s.opt)
		s.note(Denial{Syscall: name, Args: seccomp.DescribeArgs(name, req.Data.Args), PID: int(req.Pid),
			Process: processName(int(req.Pid)), Why: why, Count: 1})
		_ = libseccomp.NotifRespond(libseccomp.ScmpFd(listener), &libseccomp.ScmpNotifResp{ID: req.ID, Error: int32(errno)})
	}
}

// receive waits for the command's listener (the stage's child sends it); false when that process
// ended without one.
func (s *supervisor) receive() (int, bool) {
	for {
		fds := []unix.PollFd{{Fd: int32(s.conn.Fd()), Events: unix.POLLIN}, {Fd: int32(s.stop[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return -1, false
		}
		if fds[1].Revents != 0 {
			return -1, false
		}
		buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := unix.Recvmsg(int(s.conn.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil || n == 0 {
			return -1, false
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			return -1, false
		}
		fds2, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds2) != 1 {
			return -1, false
		}
		return fds2[0], true
	}
}

func (s *supervisor) note(d Denial) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.denials {
		if o := &s.denials[i]; o.Syscall == d.Syscall && o.Args == d.Args && o.Process == d.Process {
			o.Count++
			return
		}
	}
	if len(s.denials) < maxDenials {
		s.denials = append(s.denials, d)
	}
}

// finish ends the loop once the command is gone and returns what it saw.
func (s *supervisor) finish() []Denial {
	unix.Close(s.stop[1])
	select {
	case <-s.done:
	case <-time.After(2 * time.Second):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Denial(nil), s.denials...)
}

func processName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
