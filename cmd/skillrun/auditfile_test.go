package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skillrun/skillrun/policy/audit"
)

func record(i int, pad int) []byte {
	sh := fmt.Sprintf("echo %d %s", i, strings.Repeat("x", pad))
	r := audit.Record{Time: time.Now().UTC(), Skill: audit.Agent, Shell: &sh, Decision: audit.Ran, ExitCode: i % 7}
	return r.Marshal()
}

// collect reads every record of every generation.
func collect(t *testing.T, l auditLog) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	_, skipped, err := l.read(func(line []byte) {
		r, err := audit.Parse(line)
		if err != nil {
			t.Errorf("a malformed line: %v: %q", err, line)
			return
		}
		out = append(out, r)
	})
	if err != nil || skipped != 0 {
		t.Fatalf("read: %v, %d skipped", err, skipped)
	}
	return out
}

func TestAppendConcurrentWithRotation(t *testing.T) {
	for _, c := range []struct {
		name    string
		maxSize int64
		pad     int
	}{{"no rotation", 0, 100}, {"rotating", 64 << 10, 3000}, {"large records", 256 << 10, 15000}} {
		t.Run(c.name, func(t *testing.T) {
			l := auditLog{path: filepath.Join(t.TempDir(), "state", "skillrun", auditFile), maxSize: c.maxSize, keep: 1000}
			const writers, each = 32, 40
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := l.appendLine(record(w*each+i, c.pad)); err != nil {
							t.Error(err)
						}
					}
				}(w)
			}
			wg.Wait()
			recs := collect(t, l)
			if len(recs) != writers*each {
				t.Fatalf("%d records, want %d", len(recs), writers*each)
			}
			seen := map[string]bool{}
			for _, r := range recs {
				seen[strings.Fields(*r.Shell)[1]] = true
			}
			if len(seen) != writers*each {
				t.Errorf("%d distinct records, want %d", len(seen), writers*each)
			}
			gens, _ := filepath.Glob(l.path + ".*")
			if c.maxSize == 0 && len(gens) != 0 || c.maxSize > 0 && len(gens) == 0 {
				t.Errorf("generations: %v", gens)
			}
			for _, g := range append(gens, l.path) {
				fi, err := os.Stat(g)
				if g == l.path && os.IsNotExist(err) {
					continue // the last write rotated it away
				}
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v", g, fi.Mode().Perm())
				}
				if c.maxSize > 0 && fi.Size() > c.maxSize+int64(writers*audit.MaxRecord) {
					t.Errorf("%s: %d bytes, rotation at %d", g, fi.Size(), c.maxSize)
				}
			}
			if fi, _ := os.Stat(filepath.Dir(l.path)); fi.Mode().Perm() != 0o700 {
				t.Errorf("folder mode %v", fi.Mode().Perm())
			}
		})
	}
}

func TestRotationKeepsGenerations(t *testing.T) {
	l := auditLog{path: filepath.Join(t.TempDir(), auditFile), maxSize: 64 << 10, keep: 3}
	for i := 0; i < 200; i++ {
		if err := l.appendLine(record(i, 2000)); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []string{l.path, l.path + ".1", l.path + ".2", l.path + ".3"} {
		if _, err := os.Stat(g); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	if _, err := os.Stat(l.path + ".4"); err == nil {
		t.Error("more generations than kept")
	}
	recs := collect(t, l)
	for i := 1; i < len(recs); i++ {
		a, b := strings.Fields(*recs[i-1].Shell)[1], strings.Fields(*recs[i].Shell)[1]
		var x, y int
		fmt.Sscan(a, &x)
		fmt.Sscan(b, &y)
		if y != x+1 {
			t.Fatalf("records out of order across generations: %d then %d", x, y)
		}
	}
}

func TestAppendRefusesPlantedFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "bashrc")
	os.WriteFile(target, []byte("# rc\n"), 0o644)
	link := filepath.Join(dir, "link", auditFile)
	os.MkdirAll(filepath.Dir(link), 0o700)
	os.Symlink(target, link)
	if err := (auditLog{path: link}).appendLine(record(1, 1)); err == nil {
		t.Error("appended through a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "# rc\n" {
		t.Errorf("the symlink's target changed: %q", b)
	}
	fifo := filepath.Join(dir, "fifo", auditFile)
	os.MkdirAll(filepath.Dir(fifo), 0o700)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- (auditLog{path: fifo}).appendLine(record(1, 1)) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("appended to a FIFO")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a FIFO at the log's path hangs the run")
	}
}

func TestReadSkipsWhatIsNotARecord(t *testing.T) {
	l := auditLog{path: filepath.Join(t.TempDir(), auditFile), keep: 3}
	var b bytes.Buffer
	b.Write(record(1, 10))
	b.WriteString(strings.Repeat("z", maxLine+10) + "\n")
	b.Write(record(2, 10))
	b.WriteString(`{"partial": `) // a record being written
	os.WriteFile(l.path, b.Bytes(), 0o600)
	var lines int
	offset, skipped, err := l.read(func([]byte) { lines++ })
	if err != nil || lines != 2 || skipped != 1 || offset != int64(b.Len()-len(`{"partial": `)) {
		t.Errorf("read: %d lines, %d skipped, offset %d of %d, %v", lines, skipped, offset, b.Len(), err)
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	l := auditLog{path: filepath.Join(t.TempDir(), auditFile), maxSize: 64 << 10, keep: 3}
	l.appendLine(record(0, 10))
	offset, _, _ := l.read(func([]byte) {})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []string
	done := make(chan error)
	go func() {
		done <- l.follow(ctx, offset, 5*time.Millisecond, func(line []byte) {
			r, err := audit.Parse(line)
			if err != nil {
				t.Errorf("follow gave a malformed line %q", line)
				return
			}
			mu.Lock()
			got = append(got, strings.Fields(*r.Shell)[1])
			mu.Unlock()
		})
	}()
	const n = 120 // records of 2 KiB: a few rotations
	for i := 1; i <= n; i++ {
		if err := l.appendLine(record(i, 2000)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	ok := waitUntil(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= n })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !ok || len(got) != n || got[0] != "1" || got[n-1] != fmt.Sprint(n) {
		t.Errorf("followed %d records (%v…), want %d from 1", len(got), got[:min(len(got), 5)], n)
	}
}

func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestSyslog(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	oldSock, oldDial := syslogSocket, syslogDial
	defer func() { syslogSocket, syslogDial = oldSock, oldDial }()
	syslogSocket = sock
	syslogDial = func() (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "skillrun")
	}
	line := record(7, 10)
	var warn bytes.Buffer
	toSyslog(&warn, "/state/audit.jsonl", line)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	i := strings.Index(msg, "{")
	if warn.Len() != 0 || !strings.HasPrefix(msg, fmt.Sprintf("<%d>", syslog.LOG_AUTHPRIV|syslog.LOG_INFO)) || i < 0 ||
		!json.Valid([]byte(strings.TrimSpace(msg[i:]))) || !strings.Contains(msg, "skillrun[") {
		t.Errorf("syslog got %q, warned %q", msg, warn.String())
	}

	syslogSocket = filepath.Join(dir, "missing")
	warn.Reset()
	toSyslog(&warn, "/state/audit.jsonl", line)
	if got := warn.String(); got != "skillrun: warning: audit: syslog: "+syslogSocket+" is missing; the record is only in /state/audit.jsonl\n" {
		t.Errorf("missing socket: %q", got)
	}
}

func TestMultiCall(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"/usr/local/bin/skillrun-sh", "echo hi"}, []string{"/usr/local/bin/skillrun-sh", "-c=echo hi"}},
		{[]string{"skillrun-sh", "-c", "echo $0 $1", "name", "one"}, []string{"skillrun-sh", "-c=echo $0 $1", "--", "name", "one"}},
		{[]string{"skillrun-sh", "--"}, []string{"skillrun-sh", "-c=--"}},
		{[]string{"skillrun-sh", "--help"}, []string{"skillrun-sh", "-c=--help"}},
		{[]string{"skillrun-sh"}, []string{"skillrun-sh"}},
		{[]string{"skillrun", "-c", "x"}, []string{"skillrun", "-c", "x"}},
		{[]string{"/bin/skillrun-sh-other", "x"}, []string{"/bin/skillrun-sh-other", "x"}},
	}
	for _, c := range cases {
		if got := multiCall(c.in); strings.Join(got, "\x00") != strings.Join(c.want, "\x00") {
			t.Errorf("multiCall(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
