package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/skillrun/skillrun/profiles"
)

// The built-in profiles and the floor are YAML in package profiles: that text is the source of
// truth, and what `skillrun profiles show` prints. Every command needs them, and parsing them cost
// about 3 ms a run, so they are parsed at build time instead: `go generate ./policy` parses each
// one with the same strict decoder and checks as at run time (parseBuiltinProfile,
// parseBuiltinFloor below) and writes the values as Go code to builtin_gen.go, positions
// included, so that a plan's origins still name the YAML's lines. TestBuiltinGenerated fails
// when that file no longer matches the YAML.
//
// Built with -tags profilegen, the package parses the YAML at run time instead
// (builtin_profilegen.go): the generator builds that way, so a stale builtin_gen.go can never stop
// its own regeneration.

//go:generate go run -tags profilegen ./internal/genbuiltin -o builtin_gen.go

// builtins is where LoadProfile and LoadFloor take the built-in documents from: the generated
// values. The tests swap in the YAML parsed now, to show that plans come out the same.
var builtins = struct {
	profile func(name string) (*Profile, error)
	floor   func() (*FloorDoc, error)
}{builtinProfile, builtinFloor}

// LoadProfile returns the built-in profile name. Each call returns values of its own, which the
// caller may change.
func LoadProfile(name string) (*Profile, error) {
	if name == profiles.Floor {
		return nil, fmt.Errorf("%w %q: the floor is not a profile (built in: %s)", profiles.ErrUnknown, name, strings.Join(profiles.Names(), ", "))
	}
	p, err := builtins.profile(name)
	if p != nil || err != nil {
		return p, err
	}
	if _, err := profiles.Get(name); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: profile %s.yaml is not compiled in; regenerate with: go generate ./policy", ErrInvalid, name)
}

// LoadFloor returns the built-in floor. Each call returns values of its own, which the caller may
// change.
func LoadFloor() (*FloorDoc, error) {
	return builtins.floor()
}

// anyDepthNames is computed once a process: the workspace walk asks before and after the command.
var anyDepthNames = sync.OnceValues(func() ([]string, error) {
	f, err := LoadFloor()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range f.Persist {
		for _, n := range c.AnyDepth {
			out = appendUnique(out, n)
		}
	}
	return out, nil
})

// AnyDepthNames are the file and folder names the floor protects wherever they are in the
// workspace: the CLI's walk of the workspace looks for them. The slice is the caller's.
func AnyDepthNames() ([]string, error) {
	names, err := anyDepthNames()
	return slices.Clone(names), err
}

// parseBuiltinProfile parses the YAML of the built-in profile name: what go generate compiles
// into builtin_gen.go, and what the test compares that file with. The positions of its values
// are resolved now, so that the value carries no text.
func parseBuiltinProfile(name string) (*Profile, error) {
	data, err := profiles.Get(name)
	if err != nil {
		return nil, err
	}
	p, err := ParseProfile(name+".yaml", data)
	if err != nil {
		return nil, err
	}
	if p.Name != name {
		return nil, fmt.Errorf("%w: profile %s.yaml names itself %q", ErrInvalid, name, p.Name)
	}
	p.src = p.src.resolved()
	return p, nil
}

// parseBuiltinFloor parses the YAML of the floor and checks it: see parseBuiltinProfile.
func parseBuiltinFloor() (*FloorDoc, error) {
	data, err := profiles.Get(profiles.Floor)
	if err != nil {
		return nil, err
	}
	var f FloorDoc
	if err := decodeStrict("floor.yaml", data, &f); err != nil {
		return nil, err
	}
	for _, p := range append(append([]string{}, f.NeverRead...), f.NeverWrite...) {
		if err := checkPathPattern(p); err != nil {
			return nil, fmt.Errorf("%w: floor.yaml: %v", ErrInvalid, err)
		}
	}
	for _, c := range f.Persist {
		if c.Tool == "" || c.Class == "" || c.Why == "" {
			return nil, fmt.Errorf("%w: floor.yaml: a persist entry needs tool, class and why", ErrInvalid)
		}
		for _, p := range c.Paths {
			if err := checkPathPattern("/" + p); err != nil || strings.HasPrefix(p, "/") || hasGlob(p) {
				return nil, fmt.Errorf("%w: floor.yaml: persist %s: %q must be a plain relative path", ErrInvalid, c.Tool, p)
			}
		}
		for _, n := range c.AnyDepth {
			if n == "" || strings.Contains(n, "/") || hasGlob(n) {
				return nil, fmt.Errorf("%w: floor.yaml: persist %s: %q must be a plain file name", ErrInvalid, c.Tool, n)
			}
		}
	}
	return &f, nil
}
