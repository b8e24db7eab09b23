// Package profiles holds skillrun's built-in profiles as embedded YAML.
//
// A profile is a named, reusable set of capabilities (paths, network, environment, limits) in the
// same schema as a skill manifest; "floor" is special: it lists what no profile, manifest or grant
// may ever open up. This package only stores and lists the documents (`skillrun profiles show`
// prints them as written); package policy owns the schema: `go generate ./policy` parses them into
// Go values at build time, so that no run parses them, and a test there fails when the generated
// values and these files disagree.
package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// ErrUnknown is returned for a profile name that is not built in.
var ErrUnknown = errors.New("unknown profile")

// Floor is the name of the document that lists what is never granted.
const Floor = "floor"

// Get returns the YAML source of the built-in profile name.
func Get(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return nil, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	b, err := files.ReadFile(name + ".yaml")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q (built in: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return b, err
}

// Names lists the built-in profiles (the floor is not a profile and is not listed), sorted.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		n := strings.TrimSuffix(e.Name(), ".yaml")
		if n != Floor {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
