// Package gitcfg reads git's configuration files the way git does, for one purpose: to know what
// host git will execute or obey in a repository, so that skillrun can keep it out of a sandboxed
// command's reach. It parses config files (sections, subsections, quoting, continuations),
// follows include.path and includeIf.*.path (conservatively: a condition it cannot decide counts
// as true, so it protects more, never less), resolves the effective core.hooksPath across the
// system, global, XDG, repository and worktree levels, and lists the keys that make git run a
// program.
//
// It is pure: every file is read through the ReadFile function the caller gives, so the package
// has no file system access of its own and is tested without one.
package gitcfg

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrSyntax marks a config file git itself would refuse to read.
var ErrSyntax = errors.New("bad git config")

// Entry is one key = value of a config file, with where it was set.
type Entry struct {
	// Key is section[.subsection].name with the section and name lowercased, as git compares
	// them; a subsection keeps its case.
	Key   string
	Value string
	// NoValue is a bare key (`[core] bare`): git reads it as boolean true.
	NoValue bool
	// File and Line say where it was set.
	File string
	Line int
}

// maxConfigSize bounds what one config file may hold: git's own configs are a few KiB, and a
// sandboxed command may have planted a large one to slow every later run down.
const maxConfigSize = 1 << 20

// Parse reads one config file's text. It stops at the first line git would refuse.
func Parse(file string, text []byte) ([]Entry, error) {
	if len(text) > maxConfigSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrSyntax, file, maxConfigSize)
	}
	p := parser{file: file, s: string(text), line: 1}
	return p.parse()
}

type parser struct {
	file    string
	s       string
	i, line int
	section string // "core", "remote.origin", …
}

func (p *parser) errf(format string, a ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrSyntax, p.file, p.line, fmt.Sprintf(format, a...))
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) peek() byte { return p.s[p.i] }

func (p *parser) next() byte {
	c := p.s[p.i]
	p.i++
	if c == '\n' {
		p.line++
	}
	return c
}

func (p *parser) skipSpace() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t' || p.peek() == '\r') {
		p.next()
	}
}

func (p *parser) skipLine() {
	for !p.eof() && p.next() != '\n' {
	}
}

func (p *parser) parse() ([]Entry, error) {
	var out []Entry
	// A UTF-8 byte order mark at the start is skipped, as git does.
	p.s = strings.TrimPrefix(p.s, "\ufeff")
	for {
		p.skipSpace()
		if p.eof() {
			return out, nil
		}
		switch c := p.peek(); {
		case c == '\n':
			p.next()
		case c == '#' || c == ';':
			p.skipLine()
		case c == '[':
			if err := p.header(); err != nil {
				return out, err
			}
		case isKeyStart(c):
			e, err := p.keyValue()
			if err != nil {
				return out, err
			}
			out = append(out, e)
		default:
			return out, p.errf("unexpected %q", c)
		}
	}
}

func isKeyStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isKeyChar(c byte) bool { return isKeyStart(c) || c >= '0' && c <= '9' || c == '-' }

// header reads `[section]`, `[section "subsection"]` or the old `[section.subsection]`.
func (p *parser) header() error {
	p.next() // '['
	var name strings.Builder
	for {
		if p.eof() {
			return p.errf("unterminated section header")
		}
		c := p.peek()
		if c == ']' {
			p.next()
			p.section = strings.ToLower(name.String())
			if p.section == "" || strings.HasPrefix(p.section, ".") || strings.HasSuffix(p.section, ".") {
				return p.errf("empty section name")
			}
			return nil
		}
		if c == ' ' || c == '\t' {
			break
		}
		if !isKeyChar(c) && c != '.' {
			return p.errf("bad section name character %q", c)
		}
		name.WriteByte(p.next())
	}
	p.skipSpace()
	if p.eof() || p.next() != '"' {
		return p.errf("expected a quoted subsection")
	}
	var sub strings.Builder
	for {
		if p.eof() {
			return p.errf("unterminated subsection")
		}
		c := p.next()
		if c == '\n' {
			return p.errf("newline in subsection")
		}
		if c == '"' {
			break
		}
		if c == '\\' {
			if p.eof() {
				return p.errf("unterminated subsection")
			}
			c = p.next()
		}
		sub.WriteByte(c)
	}
	if p.eof() || p.next() != ']' {
		return p.errf("expected ] after the subsection")
	}
	if name.Len() == 0 || strings.Contains(name.String(), ".") {
		return p.errf("bad section name before a subsection")
	}
	p.section = strings.ToLower(name.String()) + "." + sub.String()
	return nil
}

func (p *parser) keyValue() (Entry, error) {
	e := Entry{File: p.file, Line: p.line}
	var name strings.Builder
	for !p.eof() && isKeyChar(p.peek()) {
		name.WriteByte(p.next())
	}
	if p.section == "" {
		return e, p.errf("key %q outside any section", name.String())
	}
	e.Key = p.section + "." + strings.ToLower(name.String())
	p.skipSpace()
	if p.eof() || p.peek() == '\n' || p.peek() == '#' || p.peek() == ';' {
		e.NoValue = true
		p.skipLine()
		return e, nil
	}
	if p.next() != '=' {
		return e, p.errf("expected = after %s", e.Key)
	}
	v, err := p.value()
	e.Value = v
	return e, err
}

// value reads a value up to the end of its line: quotes group, a backslash escapes or continues
// the line, an unquoted # or ; starts a comment, unquoted space at the ends is dropped.
func (p *parser) value() (string, error) {
	p.skipSpace()
	var b strings.Builder
	quoted := false
	pendingSpace := 0 // unquoted spaces kept only if something follows
	for !p.eof() {
		c := p.next()
		switch {
		case c == '\n':
			if quoted {
				return "", p.errf("newline in a quoted value")
			}
			return b.String(), nil
		case !quoted && (c == '#' || c == ';'):
			p.skipLine()
			return b.String(), nil
		case c == '"':
			quoted = !quoted
			continue
		case c == '\\':
			if p.eof() {
				return "", p.errf("backslash at the end of the file")
			}
			d := p.next()
			switch d {
			case '\n':
				continue // a continued line
			case '\r':
				if !p.eof() && p.peek() == '\n' {
					p.next()
					continue
				}
				return "", p.errf("bad escape")
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case '"', '\\':
				c = d
			default:
				return "", p.errf("bad escape \\%c", d)
			}
		case !quoted && (c == ' ' || c == '\t' || c == '\r'):
			pendingSpace++
			continue
		}
		for ; pendingSpace > 0; pendingSpace-- {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
	}
	if quoted {
		return "", p.errf("unterminated quote")
	}
	return b.String(), nil
}

// expandHome resolves a leading ~/ the way git does for paths in its configs.
func expandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		return path.Join(home, rest)
	}
	return p
}

// Format writes entries back as a config file git reads to the same keys and values: one
// section header per run of entries of the same section, every value quoted and escaped.
func Format(entries []Entry) string {
	var b strings.Builder
	section := ""
	for _, e := range entries {
		i := strings.LastIndexByte(e.Key, '.')
		if i < 0 {
			continue
		}
		sec, name := e.Key[:i], e.Key[i+1:]
		if sec != section {
			section = sec
			if j := strings.IndexByte(sec, '.'); j >= 0 {
				sub := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(sec[j+1:])
				fmt.Fprintf(&b, "[%s \"%s\"]\n", sec[:j], sub)
			} else {
				fmt.Fprintf(&b, "[%s]\n", sec)
			}
		}
		if e.NoValue {
			fmt.Fprintf(&b, "\t%s\n", name)
			continue
		}
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\b", `\b`).Replace(e.Value)
		fmt.Fprintf(&b, "\t%s = \"%s\"\n", name, v)
	}
	return b.String()
}
