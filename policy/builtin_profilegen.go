//go:build profilegen

package policy

import "github.com/skillrun/skillrun/profiles"

// Built with -tags profilegen, the built-in documents are parsed at run time, as they were before
// they were generated: the generator builds this way (see builtin.go), and the whole test suite
// can run against the YAML itself.

func builtinProfile(name string) (*Profile, error) { return parseBuiltinProfile(name) }

func builtinFloor() (*FloorDoc, error) { return parseBuiltinFloor() }

var builtinNames = profiles.Names()
