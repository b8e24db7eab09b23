package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors; every error of this package that is about the folder or a listing wraps one.
var (
	// ErrUnsafeEntry marks a folder holding something that cannot be pinned or run safely: a
	// device, FIFO, socket or other irregular file, a symlink resolving outside the folder (or
	// looping), or a name with control, bidi or invisible characters or invalid UTF-8.
	ErrUnsafeEntry = errors.New("unsafe entry in skill folder")
	// ErrTooLarge marks a folder above Options.MaxFileSize, MaxTotalSize or MaxEntries.
	ErrTooLarge = errors.New("skill folder too large")
	// ErrInvalidListing marks listing text that Listing.Text could not have produced.
	ErrInvalidListing = errors.New("invalid listing")
)

// EntryType is the kind of a listed entry, as written in the listing.
type EntryType string

// The entry types. A regular file is Exec when any of its x bits is set: the bit decides whether
// the skill can run it, so flipping it changes the digest.
const (
	File    EntryType = "file"
	Exec    EntryType = "exec"
	Symlink EntryType = "symlink"
)

// Entry is one line of a folder's listing.
type Entry struct {
	// Path is slash-separated, relative to the folder root, with no leading "./".
	Path string
	Type EntryType
	// Size is the content's length in bytes, or len(target) for a symlink.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the content, or of the link target string.
	SHA256 string
}

// Listing is a folder's content as Hash saw it; Entries are sorted by Path in byte order.
type Listing struct {
	Entries []Entry
}

// emptySHA256 is the digest of no bytes: the only possible hash of a zero-length file.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Text returns the canonical listing: one line per entry, "<type> <size> <sha256hex> <path>\n".
// The path comes last so that it may contain spaces; names never contain a newline (Hash rejects
// control characters), so lines cannot be forged.
func (l *Listing) Text() []byte {
	if l == nil {
		return nil
	}
	n := 0
	for _, e := range l.Entries {
		n += len(e.Type) + 20 + len(e.SHA256) + len(e.Path) + 4
	}
	buf := make([]byte, 0, n)
	for _, e := range l.Entries {
		buf = append(buf, e.Type...)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, e.Size, 10)
		buf = append(buf, ' ')
		buf = append(buf, e.SHA256...)
		buf = append(buf, ' ')
		buf = append(buf, e.Path...)
		buf = append(buf, '\n')
	}
	return buf
}

// Digest returns "sha256:" followed by the hex SHA-256 of Text(): the value pinned in the lock.
func (l *Listing) Digest() string {
	sum := sha256.Sum256(l.Text())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Files returns the number of listed entries (files, executables and symlinks).
func (l *Listing) Files() int {
	if l == nil {
		return 0
	}
	return len(l.Entries)
}

// ParseListing reads text produced by Listing.Text. It is strict: anything Text could not have
// produced from a Hash result — unsorted or duplicate paths, an entry below a non-directory, bad
// hex, an unknown type, a non-canonical size, an invalid name, a missing final newline — is
// ErrInvalidListing, so a stored listing cannot mean something other than what its digest pins.
func ParseListing(data []byte) (*Listing, error) {
	l := &Listing{}
	if len(data) == 0 {
		return l, nil
	}
	if data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%w: no newline at the end", ErrInvalidListing)
	}
	l.Entries = make([]Entry, 0, bytes.Count(data, []byte{'\n'}))
	paths := make(map[string]bool, cap(l.Entries))
	for lineNo := 1; len(data) > 0; lineNo++ {
		i := bytes.IndexByte(data, '\n')
		line := string(data[:i])
		data = data[i+1:]
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalidListing, lineNo, err)
		}
		if n := len(l.Entries); n > 0 && l.Entries[n-1].Path >= e.Path {
			if l.Entries[n-1].Path == e.Path {
				return nil, fmt.Errorf("%w: line %d: duplicate path %q", ErrInvalidListing, lineNo, e.Path)
			}
			return nil, fmt.Errorf("%w: line %d: %q is out of order", ErrInvalidListing, lineNo, e.Path)
		}
		l.Entries = append(l.Entries, e)
		paths[e.Path] = true
	}
	// Listed entries are never directories, so no path may lie below another. Sorting alone does
	// not make them adjacent ("a", "a-b", "a/c"), hence the set.
	for _, e := range l.Entries {
		for p := e.Path; ; {
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				break
			}
			p = p[:i]
			if paths[p] {
				return nil, fmt.Errorf("%w: %q lies below the non-directory %q", ErrInvalidListing, e.Path, p)
			}
		}
	}
	return l, nil
}

func parseLine(line string) (Entry, error) {
	var e Entry
	typ, rest, ok := strings.Cut(line, " ")
	if !ok {
		return e, fmt.Errorf("want \"<type> <size> <sha256> <path>\"")
	}
	e.Type = EntryType(typ)
	if e.Type != File && e.Type != Exec && e.Type != Symlink {
		return e, fmt.Errorf("unknown type %q", typ)
	}
	size, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return e, fmt.Errorf("want \"<type> <size> <sha256> <path>\"")
	}
	n, err := parseSize(size)
	if err != nil {
		return e, err
	}
	e.Size = n
	if len(rest) < 64+1+1 || rest[64] != ' ' {
		return e, fmt.Errorf("want a 64-digit SHA-256 and a path after the size")
	}
	e.SHA256, e.Path = rest[:64], rest[65:]
	if !isLowerHex(e.SHA256) {
		return e, fmt.Errorf("SHA-256 %q is not lowercase hex", e.SHA256)
	}
	if err := checkPath(e.Path); err != nil {
		return e, fmt.Errorf("path %q: %v", e.Path, err)
	}
	// Hash never produces these: an empty file has one possible hash, and no symlink has an
	// empty target.
	if e.Size == 0 && e.Type != Symlink && e.SHA256 != emptySHA256 {
		return e, fmt.Errorf("%q: empty file with the SHA-256 of non-empty content", e.Path)
	}
	if e.Size == 0 && e.Type == Symlink {
		return e, fmt.Errorf("%q: symlink with an empty target", e.Path)
	}
	return e, nil
}

// parseSize accepts only what strconv.FormatInt writes for a non-negative int64: no sign, no
// leading zeros, no underscores.
func parseSize(s string) (int64, error) {
	if s == "" || len(s) > 19 || (s[0] == '0' && len(s) > 1) {
		return 0, fmt.Errorf("size %q is not a canonical decimal", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("size %q is not a canonical decimal", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q out of range", s)
	}
	return n, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Change names the paths that differ between two listings, each list sorted.
type Change struct {
	// Changed holds paths present in both whose type, size or hash differ.
	Changed []string
	// Added holds paths only in the newer listing, Removed those only in the approved one.
	Added, Removed []string
}

// Empty reports whether the listings were identical.
func (c Change) Empty() bool {
	return len(c.Changed) == 0 && len(c.Added) == 0 && len(c.Removed) == 0
}

// Diff compares an approved listing with a current one, so a refusal can name the files that
// changed. A nil listing is empty.
func Diff(approved, now *Listing) Change {
	old := map[string]Entry{}
	if approved != nil {
		for _, e := range approved.Entries {
			old[e.Path] = e
		}
	}
	var c Change
	if now != nil {
		seen := make(map[string]bool, len(now.Entries))
		for _, e := range now.Entries {
			if seen[e.Path] {
				continue
			}
			seen[e.Path] = true
			prev, ok := old[e.Path]
			switch {
			case !ok:
				c.Added = append(c.Added, e.Path)
			case prev != e:
				c.Changed = append(c.Changed, e.Path)
			}
			delete(old, e.Path)
		}
	}
	for p := range old {
		c.Removed = append(c.Removed, p)
	}
	sort.Strings(c.Changed)
	sort.Strings(c.Added)
	sort.Strings(c.Removed)
	return c
}
