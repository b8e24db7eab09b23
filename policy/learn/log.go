package learn

import (
	"path"
	"sort"
)

// Access is what a command did with a path; one path collects several.
type Access uint8

// Accesses as the recorder sees them: the open flags, the syscall that named the path.
const (
	Read Access = 1 << iota
	Write
	Create
	Exec
	// Dir marks a directory: opened with O_DIRECTORY, made, or entered.
	Dir
	Remove
	// Cwd marks a directory the command changed into.
	Cwd
)

// Entry is one path and everything done with it.
type Entry struct {
	Path   string
	Access Access
	Count  int
}

// DefaultLogBytes bounds the path bytes a Log keeps: a command that opens 100,000 files costs a
// few megabytes, never more.
const DefaultLogBytes = 4 << 20

// maxEntries bounds the entries whatever their length.
const maxEntries = 50000

// Log collects a run's accesses with bounded memory. Repeats of a path are counted; once the
// bound is reached, a new path is folded into the nearest folder already kept (the proposal
// names folders anyway), or only counted when there is none. Not safe for concurrent use.
type Log struct {
	max     int
	bytes   int
	entries map[string]*Entry
	// Total counts every access added; Folded those kept as a folder above them; Dropped those
	// only counted.
	Total, Folded, Dropped int64
}

// NewLog returns a log that keeps at most maxBytes of paths (DefaultLogBytes when 0).
func NewLog(maxBytes int) *Log {
	if maxBytes <= 0 {
		maxBytes = DefaultLogBytes
	}
	return &Log{max: maxBytes, entries: map[string]*Entry{}}
}

// Add records one access to an absolute, cleaned path.
func (l *Log) Add(p string, a Access) {
	l.Total++
	if e := l.entries[p]; e != nil {
		e.Access |= a
		e.Count++
		return
	}
	if l.bytes+len(p) <= l.max && len(l.entries) < maxEntries {
		l.bytes += len(p)
		l.entries[p] = &Entry{Path: p, Access: a, Count: 1}
		return
	}
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		if e := l.entries[d]; e != nil {
			e.Access |= a &^ (Cwd | Create) // what was done below the folder, not to it
			e.Count++
			l.Folded++
			return
		}
	}
	l.Dropped++
}

// Truncated says the bound was reached: some paths are only known by their folder, or not at all.
func (l *Log) Truncated() bool { return l.Folded > 0 || l.Dropped > 0 }

// Entries returns the kept paths, sorted.
func (l *Log) Entries() []Entry {
	out := make([]Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
