package policy

import (
	"fmt"
	"path"
	"strings"
)

// Vars are the values of the ${VARIABLES} a path may use. An empty value means "not available
// for this run", and a path using it is an error.
type Vars map[string]string

// checkPathPattern validates a path as written in a document: absolute or starting with a
// ${VARIABLE}, no "..", no empty or "." elements, a glob only in the last element.
func checkPathPattern(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "${") {
		return fmt.Errorf("%q: paths must be absolute or start with a ${VARIABLE}", p)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("%q: NUL in path", p)
	}
	elems := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, e := range elems {
		switch {
		case e == "..":
			return fmt.Errorf("%q: \"..\" is not allowed in paths", p)
		case e == "." || (e == "" && i != len(elems)-1):
			return fmt.Errorf("%q: empty or \".\" path element", p)
		case hasGlob(e) && i != len(elems)-1:
			return fmt.Errorf("%q: a glob may only appear in the last path element", p)
		}
	}
	return nil
}

func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// expand replaces ${VARIABLES} and returns a clean absolute path.
func (v Vars) expand(p string) (string, error) {
	var b strings.Builder
	rest := p
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%w: unterminated ${ in %q", ErrVariable, p)
		}
		name := rest[i+2 : i+j]
		val, known := v[name]
		if !known {
			return "", fmt.Errorf("%w ${%s} in %q", ErrVariable, name, p)
		}
		if val == "" {
			return "", fmt.Errorf("%w: ${%s} is not available for this run (in %q)", ErrVariable, name, p)
		}
		b.WriteString(val)
		rest = rest[i+j+1:]
	}
	out := b.String()
	if !strings.HasPrefix(out, "/") {
		return "", fmt.Errorf("%w: %q does not expand to an absolute path", ErrVariable, p)
	}
	return path.Clean(out), nil
}

// within reports whether p is base or lies below it.
func within(p, base string) bool {
	if base == "/" {
		return true
	}
	return p == base || strings.HasPrefix(p, base+"/")
}

// depth counts the elements of a clean absolute path ("/" has 0).
func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// documentVars are the variables a profile, manifest or policy may use in a path.
var documentVars = map[string]bool{"WORKSPACE": true, "HOME": true, "SKILL_DIR": true, "TMPDIR": true, "CACHE": true}

// checkVariables rejects ${NAMES} a document may not use.
func checkVariables(p string) error {
	rest := p
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("%q: unterminated ${", p)
		}
		if name := rest[i+2 : i+j]; !documentVars[name] {
			return fmt.Errorf("%q: unknown variable ${%s} (known: ${WORKSPACE}, ${HOME}, ${SKILL_DIR}, ${TMPDIR}, ${CACHE})", p, name)
		}
		rest = rest[i+j+1:]
	}
}

// expandValue replaces ${VARIABLES} in a variable's value; the value need not be a path.
func (v Vars) expandValue(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%w: unterminated ${ in %q", ErrVariable, s)
		}
		name := rest[i+2 : i+j]
		val := v[name]
		if !documentVars[name] || val == "" {
			return "", fmt.Errorf("%w: ${%s} is not available for this run (in %q)", ErrVariable, name, s)
		}
		b.WriteString(val)
		rest = rest[i+j+1:]
	}
}
