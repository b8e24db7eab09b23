package main

// The audit log's file side: append one record per write(2) to an O_APPEND file (so concurrent
// runs never interleave), rotate by size under an exclusive flock (writers hold a shared one),
// read the generations back, and follow the live file across rotations.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// auditFile names the log under $XDG_STATE_HOME/skillrun.
const auditFile = "audit.jsonl"

// auditLog is the audit log and its rotated generations path.1 (newest) … path.keep.
type auditLog struct {
	path    string
	maxSize int64
	keep    int
}

// appendLine writes line (one whole record, newline included) with a single write(2). The file
// is created 0600 in a 0700 folder; symlinks and anything but a regular file are refused.
func (l auditLog) appendLine(line []byte) error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		fd, err := openAppend(l.path)
		if err != nil {
			return err
		}
		// A shared lock: writers append side by side; a rotation waits for them and they for it.
		if err := flock(fd, unix.LOCK_SH); err != nil {
			unix.Close(fd)
			return err
		}
		if !isCurrent(fd, l.path) && attempt < 8 {
			unix.Close(fd) // rotated away while we waited: append to the new file
			continue
		}
		n, err := unix.Write(fd, line)
		if err == nil && n != len(line) {
			err = fmt.Errorf("short write (%d of %d bytes)", n, len(line))
		}
		var st unix.Stat_t
		if err == nil && unix.Fstat(fd, &st) == nil && l.maxSize > 0 && st.Size > l.maxSize {
			_ = flock(fd, unix.LOCK_UN)
			l.rotate(fd)
		}
		unix.Close(fd)
		return err
	}
}

func openAppend(path string) (int, error) {
	// O_NONBLOCK: a FIFO planted at the path must not hang the open; it is refused below.
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not a regular file", path)
	}
	return fd, nil
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// isCurrent reports whether fd is still the file at path (no rotation renamed it away).
func isCurrent(fd int, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Lstat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// rotate renames path to path.1 (and path.1 to path.2, …) once the file at fd is over the
// size, under an exclusive lock: concurrent rotations happen once, and no writer appends to a
// file while it is renamed.
func (l auditLog) rotate(fd int) {
	if flock(fd, unix.LOCK_EX) != nil {
		return
	}
	defer flock(fd, unix.LOCK_UN)
	var st unix.Stat_t
	if !isCurrent(fd, l.path) || unix.Fstat(fd, &st) != nil || st.Size <= l.maxSize {
		return // another run rotated it first
	}
	for i := l.keep; i > 1; i-- {
		_ = os.Rename(l.generation(i-1), l.generation(i))
	}
	_ = os.Rename(l.path, l.generation(1))
}

func (l auditLog) generation(i int) string { return l.path + "." + strconv.Itoa(i) }

// maxLine bounds a line the reader accepts; longer ones are not records and are skipped.
const maxLine = 1 << 20

// read calls fn with every line of the rotated generations (oldest first), then of the live file,
// and returns the live file's size when read (where following continues) and how many lines
// were too long to be records.
func (l auditLog) read(fn func(line []byte)) (offset int64, skipped int, err error) {
	for i := l.keep; i >= 0; i-- {
		p := l.path
		if i > 0 {
			p = l.generation(i)
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, skipped, err
		}
		r := &lineReader{r: bufio.NewReaderSize(f, 64<<10)}
		for {
			line, ok := r.next()
			if !ok {
				break
			}
			fn(line)
		}
		skipped += r.skipped
		if i == 0 {
			offset = r.offset()
		}
		f.Close()
		if r.err != nil {
			return 0, skipped, r.err
		}
	}
	return offset, skipped, nil
}

// lineReader yields whole lines (without the newline), skipping overlong ones; a partial last
// line stays pending until its newline arrives (the writer's record is not complete yet).
type lineReader struct {
	r        *bufio.Reader
	consumed int64 // bytes read from r
	pending  int64 // of them, the bytes of the line not complete yet
	line     []byte
	overlong bool
	skipped  int
	err      error
}

// offset is where the first incomplete line starts.
func (lr *lineReader) offset() int64 { return lr.consumed - lr.pending }

func (lr *lineReader) next() ([]byte, bool) {
	for {
		chunk, err := lr.r.ReadSlice('\n')
		lr.consumed += int64(len(chunk))
		lr.pending += int64(len(chunk))
		if !lr.overlong {
			if len(lr.line)+len(chunk) > maxLine+1 {
				lr.overlong, lr.line = true, nil
			} else {
				lr.line = append(lr.line, chunk...)
			}
		}
		switch {
		case err == nil:
			line, over := lr.line, lr.overlong
			lr.line, lr.overlong, lr.pending = nil, false, 0
			if over {
				lr.skipped++
				continue
			}
			return line[:len(line)-1], true
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			if !errors.Is(err, io.EOF) {
				lr.err = err
			}
			return nil, false
		}
	}
}

// follow calls fn with every line appended to the live file from offset on, until ctx ends. A
// rotation is noticed by the path naming a new file: the old one is read to its end first.
func (l auditLog) follow(ctx context.Context, offset int64, poll time.Duration, fn func(line []byte)) error {
	var f *os.File
	var lr *lineReader
	open := func(at int64) {
		if f != nil {
			f.Close()
		}
		f, lr = nil, nil
		nf, err := os.Open(l.path)
		if err != nil {
			return
		}
		if fi, err := nf.Stat(); err != nil || fi.Size() < at {
			at = 0 // truncated or replaced: from its start
		}
		if _, err := nf.Seek(at, io.SeekStart); err != nil {
			nf.Close()
			return
		}
		f, lr = nf, &lineReader{r: bufio.NewReaderSize(nf, 64<<10), consumed: at}
	}
	open(offset)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if f != nil {
			drain(lr, fn)
			if moved(f, l.path) {
				drain(lr, fn) // the rest of the rotated file
				open(0)
				continue
			}
		} else {
			open(0)
			if f != nil {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// drain reads every complete line available now. A partial line is kept for the next call:
// the reader's buffered bytes stay, and EOF on a regular file is not sticky.
func drain(lr *lineReader, fn func(line []byte)) {
	for {
		line, ok := lr.next()
		if !ok {
			return
		}
		fn(line)
	}
}

// moved reports whether path no longer names the open file f.
func moved(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return true
	}
	b, err := os.Stat(path)
	if err != nil {
		return false // not recreated yet: keep reading the old one
	}
	return !os.SameFile(a, b)
}
