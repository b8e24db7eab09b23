package wstree

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The cache is a small binary file: a magic line naming the root, then one record per folder.
// Decoding JSON for 20,000 folders would cost more than the warm walk it saves.
const cacheMagic = "skillrun-wstree-1\n"

// maxCacheSize bounds what is read back: a damaged or foreign file is ignored, not parsed.
const maxCacheSize = 64 << 20

func loadCache(file, root string) map[string]*entry {
	out := map[string]*entry{}
	if file == "" {
		return out
	}
	f, err := os.OpenFile(file, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return out
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() > maxCacheSize {
		return out
	}
	r := bufio.NewReaderSize(f, 1<<16)
	head := make([]byte, len(cacheMagic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != cacheMagic {
		return out
	}
	if s, err := readString(r); err != nil || s != root {
		return out
	}
	for {
		dir, err := readString(r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			return map[string]*entry{}
		}
		e := &entry{}
		var fixed [3*8 + 2]byte
		if _, err := io.ReadFull(r, fixed[:]); err != nil {
			return map[string]*entry{}
		}
		e.ino = binary.LittleEndian.Uint64(fixed[0:])
		e.ctimeSec = int64(binary.LittleEndian.Uint64(fixed[8:]))
		e.ctimeNsec = int64(binary.LittleEndian.Uint64(fixed[16:]))
		e.dotGitDir, e.trusted = fixed[24] == 1, fixed[25] == 1
		if e.subdirs, err = readList(r); err != nil {
			return map[string]*entry{}
		}
		if e.hits, err = readList(r); err != nil {
			return map[string]*entry{}
		}
		if strings.HasPrefix(dir, root) {
			out[dir] = e
		}
	}
}

func readString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if n > 1<<16 {
		return "", errCache
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", errCache
	}
	return string(b), nil
}

func readList(r *bufio.Reader) ([]string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil || n > 1<<20 {
		return nil, errCache
	}
	var out []string
	for range n {
		s, err := readString(r)
		if err != nil {
			return nil, errCache
		}
		out = append(out, s)
	}
	return out, nil
}

// saveCache writes the cache next to its final name and renames it over: concurrent runs each
// write a whole file, and the last one wins.
func saveCache(file, root string, entries map[string]*entry) {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".wstree-*")
	if err != nil {
		return
	}
	w := bufio.NewWriterSize(tmp, 1<<16)
	w.WriteString(cacheMagic)
	writeString(w, root)
	var buf [binary.MaxVarintLen64]byte
	for dir, e := range entries {
		writeString(w, dir)
		var fixed [3*8 + 2]byte
		binary.LittleEndian.PutUint64(fixed[0:], e.ino)
		binary.LittleEndian.PutUint64(fixed[8:], uint64(e.ctimeSec))
		binary.LittleEndian.PutUint64(fixed[16:], uint64(e.ctimeNsec))
		if e.dotGitDir {
			fixed[24] = 1
		}
		if e.trusted {
			fixed[25] = 1
		}
		w.Write(fixed[:])
		for _, list := range [][]string{e.subdirs, e.hits} {
			w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(list)))])
			for _, s := range list {
				writeString(w, s)
			}
		}
	}
	if w.Flush() != nil || tmp.Close() != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}

func writeString(w *bufio.Writer, s string) {
	var buf [binary.MaxVarintLen64]byte
	w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
	w.WriteString(s)
}
