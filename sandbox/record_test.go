package sandbox

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy/learn"
)

func TestOpenAccess(t *testing.T) {
	for _, c := range []struct {
		flags uint64
		want  learn.Access
	}{
		{unix.O_RDONLY, learn.Read},
		{unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, learn.Read | learn.Dir},
		{unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, learn.Write | learn.Create},
		{unix.O_RDWR, learn.Read | learn.Write},
		{unix.O_RDONLY | unix.O_TRUNC, learn.Read | learn.Write},
		{unix.O_WRONLY | unix.O_APPEND, learn.Write},
	} {
		if got := openAccess(c.flags); got != c.want {
			t.Errorf("openAccess(%#x) = %b, want %b", c.flags, got, c.want)
		}
	}
}

// TestCallerStrings reads paths from a process's memory the way the recorder does (here its own):
// a string that ends just before an unmapped page is read whole, one that runs into it is not a
// path, and relative paths resolve against the working directory.
func TestCallerStrings(t *testing.T) {
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if _, _, errno := unix.Syscall(unix.SYS_MUNMAP, uintptr(unsafe.Pointer(&mem[page])), uintptr(page), 0); errno != 0 {
		t.Fatal(errno)
	}
	r := NewRecorder(0)
	defer r.close()
	c := &caller{pid: os.Getpid(), r: r}
	end := copy(mem[page-12:], "/etc/hosts\x00")
	if got, ok := c.str(uint64(uintptr(unsafe.Pointer(&mem[page-12])))); !ok || got != "/etc/hosts" || end != 11 {
		t.Errorf("a string before an unmapped page: %q %v", got, ok)
	}
	copy(mem[page-4:], "abcd") // no NUL before the unmapped page
	if got, ok := c.str(uint64(uintptr(unsafe.Pointer(&mem[page-4])))); ok {
		t.Errorf("a string running into an unmapped page was read as %q", got)
	}
	if _, ok := c.str(0); ok {
		t.Error("a NULL pointer was read")
	}
	rel := []byte("docs/a.pdf\x00")
	wd, _ := os.Getwd()
	cwd := uint64(uint32(0xffffff9c))
	if got, ok := c.path(cwd, uint64(uintptr(unsafe.Pointer(&rel[0])))); !ok || got != wd+"/docs/a.pdf" {
		t.Errorf("relative path: %q %v, want it below %s", got, ok, wd)
	}
	dir, err := os.Open("/usr")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if got, ok := c.path(uint64(dir.Fd()), uint64(uintptr(unsafe.Pointer(&rel[0])))); !ok || got != "/usr/docs/a.pdf" {
		t.Errorf("path against a dirfd: %q %v", got, ok)
	}
}
