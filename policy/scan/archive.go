package scan

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Archives: a skill that ships templates or components as a tar.gz or a zip extracts them when it
// runs, so what they hold is as much the skill as its loose files. Tar, gzip (a tar.gz included)
// and zip are opened in memory and every entry is scanned with the same rules, under the name
// "archive!inner/path". Other formats (7z, rar, xz, …) and archives that cannot be opened within
// the bounds below stay SR-OBF-010 findings: content a reviewer has not seen.
//
// Unpacking shares the scan's limits (MaxFileSize per entry, MaxTotal and MaxFiles in all), and
// adds three of its own, so that a hostile archive ends as a finding, never as a hang or an
// exhausted memory:
//
//   - maxArchiveNesting: an archive inside an archive inside an archive is opened; one more level
//     is a finding;
//   - maxArchiveRatio: an archive that unpacks to more than 100 times its packed size (past a
//     1 MiB floor, so small text archives are never caught) is a finding, and unpacking stops;
//   - an entry whose name leaves the extraction folder (absolute, "..") or a link that points out
//     of it is a finding (SR-OBF-013), since extracting it writes outside the skill's own files.
const (
	maxArchiveNesting = 3
	maxArchiveRatio   = 100
	ratioFloor        = 1 << 20
)

// archiveFormat says how data can be opened: "gzip", "zip", "tar" or "" (not an archive this
// scanner opens).
func archiveFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x1f\x8b")):
		return "gzip"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return "zip"
	case len(data) >= 262 && string(data[257:262]) == "ustar":
		return "tar"
	}
	return ""
}

// errBomb stops decompression that went past the ratio bound.
var errBomb = errors.New("archive bomb")

// unpacker opens one archive found by the walk, with its nested archives, within the scan's
// budgets, and turns its entries into jobs.
type unpacker struct {
	s *scanner
	// packed is the size of the outermost archive; unpacked counts every byte decompressed from
	// it, nested archives and tar headers included, for the ratio bound.
	packed, unpacked int64
	stopped          bool
}

// unpackArchive replaces the job of an archive read by the walk with jobs for its entries. It
// returns false when data is not an archive the scanner opens, and the file is scanned as itself.
func (s *scanner) unpackArchive(p string, data []byte) bool {
	if archiveFormat(data) == "" {
		return false
	}
	u := &unpacker{s: s, packed: int64(len(data))}
	u.open(p, data, 1)
	return true
}

// countReader counts what a decompressor produces and fails once it passes the ratio bound.
type countReader struct {
	r io.Reader
	u *unpacker
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.u.unpacked += int64(n)
	if c.u.unpacked > max(c.u.packed*maxArchiveRatio, ratioFloor) {
		return n, errBomb
	}
	return n, err
}

// read reads r into memory, at most limit bytes. over is true when there was more.
func read(r io.Reader, limit int64) (data []byte, over bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], true, err
	}
	return data, false, err
}

// fail reports an archive that could not be read to its end: a bomb stops all unpacking, any other
// error leaves the rest of this archive unscanned.
func (u *unpacker) fail(name, format string, err error) {
	if errors.Is(err, errBomb) {
		u.stopped = true
		u.s.walk.add(ruleArchive, name, 0, "", fmt.Sprintf("unpacks to more than %d times its size (an archive bomb?): unpacking stopped, the rest not scanned", maxArchiveRatio))
		return
	}
	u.s.walk.add(ruleArchive, name, 0, "", format+" data that cannot be read ("+err.Error()+"), the rest not scanned")
}

// open dispatches on the format of data, which is the archive called name, depth levels deep.
func (u *unpacker) open(name string, data []byte, depth int) {
	if u.stopped {
		return
	}
	if depth > maxArchiveNesting {
		u.s.walk.add(ruleArchive, name, 0, "", fmt.Sprintf("archive nested more than %d deep, not unpacked", maxArchiveNesting))
		return
	}
	switch archiveFormat(data) {
	case "gzip":
		u.gunzip(name, data, depth)
	case "zip":
		u.unzip(name, data, depth)
	case "tar":
		u.untar(name, bytes.NewReader(data), depth)
	}
}

// gunzip decompresses a gzip stream (every member of it) and reads the tar inside, or scans the
// one file it holds under its name without ".gz".
func (u *unpacker) gunzip(name string, data []byte, depth int) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		u.fail(name, "gzip", err)
		return
	}
	br := bufio.NewReaderSize(&countReader{r: zr, u: u}, 4096)
	head, err := br.Peek(262)
	if err == nil && archiveFormat(head) == "tar" {
		u.untar(name, br, depth)
		return
	}
	inner := gunzippedName(name)
	if !u.admit(name, inner, 0) {
		return
	}
	out, over, err := read(br, u.s.opts.MaxFileSize)
	switch {
	case err != nil:
		u.fail(name, "gzip", err)
	case over:
		u.tooLarge(name, inner, br)
	default:
		u.entry(name, inner, out, depth)
	}
}

// tooLarge notes an entry larger than MaxFileSize, and reads the rest of it through the ratio bound,
// so that a bomb is reported as one rather than as a large file.
func (u *unpacker) tooLarge(archive, inner string, rest io.Reader) {
	if _, err := io.Copy(io.Discard, rest); errors.Is(err, errBomb) {
		u.fail(archive, "", err)
		return
	}
	full := entryName(archive, inner)
	u.s.skip("%s: larger than %s, not scanned", full, humanBytes(u.s.opts.MaxFileSize))
	classifyByName(u.s.walk, full)
}

// gunzippedName is the name of the file a .gz holds: "x.tgz" holds "x.tar", "x.gz" holds "x".
func gunzippedName(name string) string {
	base := path.Base(name[strings.LastIndexByte(name, '!')+1:])
	lower := strings.ToLower(base)
	switch {
	case strings.HasSuffix(lower, ".tgz"):
		return base[:len(base)-4] + ".tar"
	case strings.HasSuffix(lower, ".gz"):
		return base[:len(base)-3]
	}
	return base
}

// untar scans the entries of a tar stream.
func (u *unpacker) untar(name string, r io.Reader, depth int) {
	tr := tar.NewReader(r)
	for !u.stopped {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			u.fail(name, "tar", err)
			return
		}
		if !u.admitEntry(name, h.Name) {
			return
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeSymlink:
			u.link(name, h.Name, h.Linkname, false)
			continue
		case tar.TypeLink:
			u.link(name, h.Name, h.Linkname, true)
			continue
		case tar.TypeReg:
		default:
			u.s.skip("%s: tar entry of type %q, not scanned", entryName(name, h.Name), h.Typeflag)
			continue
		}
		if !u.admit(name, h.Name, h.Size) {
			continue
		}
		data, _, err := read(tr, h.Size)
		if err != nil {
			u.fail(name, "tar", err)
			return
		}
		u.entry(name, h.Name, data, depth)
	}
}

// unzip scans the entries of a zip archive.
func (u *unpacker) unzip(name string, data []byte, depth int) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		u.fail(name, "zip", err)
		return
	}
	for _, f := range zr.File {
		if u.stopped || !u.admitEntry(name, f.Name) {
			return
		}
		full := entryName(name, f.Name)
		mode := f.Mode()
		switch {
		case mode.IsDir():
			continue
		case f.Flags&1 != 0:
			u.s.walk.add(ruleArchive, full, 0, "", "password-protected entry, not scanned")
			continue
		case mode&fs.ModeSymlink == 0 && !mode.IsRegular():
			u.s.skip("%s: special zip entry, not scanned", full)
			continue
		}
		// The sizes in a zip's directory are the packer's word; the bound is on what comes out.
		if !u.admit(name, f.Name, int64(min(f.UncompressedSize64, 1<<62))) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			u.s.walk.add(ruleArchive, full, 0, "", "zip entry that cannot be read: "+err.Error())
			continue
		}
		cr := &countReader{r: rc, u: u}
		out, over, err := read(cr, u.s.opts.MaxFileSize)
		if over && err == nil {
			u.tooLarge(name, f.Name, cr)
		}
		rc.Close()
		switch {
		case errors.Is(err, errBomb):
			u.fail(name, "zip", err)
			return
		case err != nil:
			u.s.walk.add(ruleArchive, full, 0, "", "zip entry that cannot be read: "+err.Error())
		case over:
		case mode&fs.ModeSymlink != 0:
			u.link(name, f.Name, string(out), false)
		default:
			u.entry(name, f.Name, out, depth)
		}
	}
}

// admitEntry counts an entry of any type against the walk's entry bound and reports one whose name
// leaves the folder it is extracted into. It returns false when unpacking must stop.
func (u *unpacker) admitEntry(archive, inner string) bool {
	u.s.entries++
	if u.s.entries > 4*u.s.opts.MaxFiles {
		u.s.skip("%s: stopped after %d entries: it and everything after it was not scanned", entryName(archive, inner), 4*u.s.opts.MaxFiles)
		u.stopped = true
		return false
	}
	if escapes(inner) {
		u.s.walk.add(ruleArchiveEscape, entryName(archive, inner), 0, inner, "entry name "+quoteShort(safeName(inner), 80))
	}
	return true
}

// escapes reports a path that leaves the folder it is relative to: absolute, a drive or UNC path,
// or climbing with "..".
func escapes(p string) bool {
	p = strings.ReplaceAll(p, "\\", "/")
	if strings.HasPrefix(p, "/") || len(p) >= 2 && p[1] == ':' {
		return true
	}
	c := path.Clean(p)
	return c == ".." || strings.HasPrefix(c, "../")
}

// link reports an archived link whose target leaves the archive's own files; links are never
// followed.
func (u *unpacker) link(archive, inner, target string, hard bool) {
	full := entryName(archive, inner)
	kind, resolved := "symlink", path.Join(path.Dir(strings.ReplaceAll(inner, "\\", "/")), strings.ReplaceAll(target, "\\", "/"))
	if hard {
		kind, resolved = "hard link", target
	}
	u.s.skip("%s: %s to %s, not followed", full, kind, makeExcerpt(target))
	if escapes(target) || escapes(resolved) {
		u.s.walk.add(ruleArchiveEscape, full, 0, target, kind+" to "+makeExcerpt(target))
	}
}

// admit applies the per-file limits of the walk to a file entry of size bytes.
func (u *unpacker) admit(archive, inner string, size int64) bool {
	full := entryName(archive, inner)
	if u.s.rep.Files >= u.s.opts.MaxFiles {
		u.s.skip("%s: stopped after %d files: it and the files after it were not scanned", full, u.s.opts.MaxFiles)
		u.stopped = true
		return false
	}
	if size > u.s.opts.MaxFileSize {
		u.s.skip("%s: larger than %s, not scanned", full, humanBytes(u.s.opts.MaxFileSize))
		classifyByName(u.s.walk, full)
		return false
	}
	return true
}

// entry scans one file found in an archive: a nested archive is opened, anything else becomes a
// job like a file of the walk.
func (u *unpacker) entry(archive, inner string, data []byte, depth int) {
	full := entryName(archive, inner)
	if archiveFormat(data) != "" {
		u.open(full, data, depth+1)
		return
	}
	s := u.s
	if s.total+int64(len(data)) > s.opts.MaxTotal {
		s.skip("%s: stopped at the %s total limit: it and the files after it were not scanned", full, humanBytes(s.opts.MaxTotal))
		u.stopped = true
		return
	}
	s.total += int64(len(data))
	s.rep.Files++
	s.rep.Unpacked++
	s.rep.Bytes += len(data)
	s.jobs = append(s.jobs, job{path: full, data: data})
}

// entryName is how findings name a file inside an archive: "archive!inner/path", with "./"
// dropped and characters that could hide text shown as \u{...}.
func entryName(archive, inner string) string {
	inner = strings.TrimPrefix(strings.ReplaceAll(inner, "\\", "/"), "./")
	return archive + "!" + safeName(inner)
}

// safeName shows control and invisible characters of a name as \u{...}.
func safeName(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isInvisible(r) || r == '\ufffd' {
			fmt.Fprintf(&sb, `\u{%x}`, r)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
