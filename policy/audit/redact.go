package audit

import (
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/skillrun/skillrun/policy"
)

// MinSecret is the shortest value Redact replaces: shorter ones ("1", "true") would blot out
// ordinary words of a command line.
const MinSecret = 8

// Redacted replaces a secret's value in a record.
const Redacted = "[redacted]"

// floorEnv is the floor's never_env patterns, which every run's record needs.
var floorEnv = sync.OnceValue(func() []string {
	f, err := policy.LoadFloor()
	if err != nil || len(f.NeverEnv) == 0 {
		// The built-in floor always loads (its tests say so); never log secrets if it did not.
		return []string{"*"}
	}
	return f.NeverEnv
})

// SecretValues returns the values of the caller's variables that hold secrets: those the floor's
// never_env patterns name (*_TOKEN, *_KEY, AWS_*, …) and those named in extra (secrets a policy
// granted under any name). environ is KEY=VALUE.
func SecretValues(environ []string, extra []string) []string {
	var out []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < MinSecret {
			continue
		}
		if secretName(k, extra) {
			out = append(out, v)
		}
	}
	return out
}

func secretName(name string, extra []string) bool {
	for _, n := range extra {
		if n == name {
			return true
		}
	}
	for _, p := range floorEnv() {
		// Variable names hold no '/', so path.Match's '*' is the floor's "any run of characters".
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Redact replaces every occurrence of each value (of at least MinSecret bytes) in the record's
// free-form strings with [Redacted].
func (r *Record) Redact(values []string) {
	vs := make([]string, 0, len(values))
	for _, v := range values {
		if len(v) >= MinSecret {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	red := func(s string) string {
		for _, v := range vs {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, Redacted)
			}
		}
		return s
	}
	argv := make([]string, len(r.Argv))
	for i, a := range r.Argv {
		argv[i] = red(a)
	}
	if r.Argv != nil {
		r.Argv = argv // a copy: the caller's argv stays as it was
	}
	if r.Shell != nil {
		s := red(*r.Shell)
		r.Shell = &s
	}
	r.Cwd, r.Workspace, r.Reason = red(r.Cwd), red(r.Workspace), red(r.Reason)
	r.Denials = append([]Denial(nil), r.Denials...)
	for i := range r.Denials {
		d := &r.Denials[i]
		d.Host, d.Args, d.Path, d.Process, d.Hint = red(d.Host), red(d.Args), red(d.Path), red(d.Process), red(d.Hint)
	}
}
