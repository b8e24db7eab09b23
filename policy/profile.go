package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/skillrun/skillrun/profiles"
)

var errNegativeDuration = errors.New("negative duration")

// Capabilities is the part of the schema shared by profiles, manifests and grants.
type Capabilities struct {
	Filesystem FilesystemCaps `yaml:"filesystem" json:"filesystem"`
	Network    NetworkCaps    `yaml:"network" json:"network"`
	Env        EnvCaps        `yaml:"env" json:"env"`
	Limits     LimitCaps      `yaml:"limits" json:"limits"`
}

// FilesystemCaps lists paths (with ${VARIABLES}) by access.
type FilesystemCaps struct {
	Read  []string `yaml:"read" json:"read,omitempty"`
	Write []string `yaml:"write" json:"write,omitempty"`
	Exec  []string `yaml:"exec" json:"exec,omitempty"`
}

// NetworkCaps lists the hosts a command may reach through the egress proxy.
type NetworkCaps struct {
	Allow []string `yaml:"allow" json:"allow,omitempty"`
}

// EnvCaps says which variables pass from the caller, which secrets, and which are set.
type EnvCaps struct {
	Pass    []string          `yaml:"pass" json:"pass,omitempty"`
	Secrets []string          `yaml:"secrets" json:"secrets,omitempty"`
	Set     map[string]string `yaml:"set" json:"set,omitempty"`
}

// LimitCaps bounds a run.
type LimitCaps struct {
	Timeout *Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// Profile is a built-in named capability set.
type Profile struct {
	Version      int    `yaml:"version"`
	Name         string `yaml:"name"`
	Description  string `yaml:"description"`
	Capabilities `yaml:",inline"`
}

// FloorDoc is the floor: what is never readable, writable or passed.
type FloorDoc struct {
	Version    int      `yaml:"version"`
	Name       string   `yaml:"name"`
	NeverRead  []string `yaml:"never_read"`
	NeverWrite []string `yaml:"never_write"`
	NeverEnv   []string `yaml:"never_env"`
	StripEnv   []string `yaml:"strip_env"`
}

// decodeStrict parses YAML, rejecting unknown keys, and reports errors with file:line:column.
// The YAML library can panic on malformed input (found by FuzzParseProfile); documents come from
// skills, so such input is an invalid document, never a crash.
func decodeStrict(file string, data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: malformed YAML", ErrInvalid, file)
		}
	}()
	if err := yaml.UnmarshalWithOptions(data, v, yaml.DisallowUnknownField()); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, yamlErrorf(file, err))
	}
	return nil
}

// yamlErrorf turns a go-yaml error ("[3:5] unknown field …") into "file:3:5: unknown field …".
func yamlErrorf(file string, err error) string {
	var perr yaml.Error
	if errors.As(err, &perr) {
		if tok := perr.GetToken(); tok != nil && tok.Position != nil {
			return fmt.Sprintf("%s:%d:%d: %s", file, tok.Position.Line, tok.Position.Column, perr.GetMessage())
		}
	}
	return fmt.Sprintf("%s: %v", file, err)
}

// ParseProfile parses and validates a profile document.
func ParseProfile(file string, data []byte) (*Profile, error) {
	var p Profile
	if err := decodeStrict(file, data, &p); err != nil {
		return nil, err
	}
	if p.Version != 1 {
		return nil, fmt.Errorf("%w: %s: version must be 1, got %d", ErrInvalid, file, p.Version)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("%w: %s: name is missing", ErrInvalid, file)
	}
	if err := p.Capabilities.validate(file); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadProfile parses the built-in profile name.
func LoadProfile(name string) (*Profile, error) {
	if name == profiles.Floor {
		return nil, fmt.Errorf("%w %q: the floor is not a profile (built in: %s)", profiles.ErrUnknown, name, strings.Join(profiles.Names(), ", "))
	}
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
	return p, nil
}

// LoadFloor parses the built-in floor.
func LoadFloor() (*FloorDoc, error) {
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
	return &f, nil
}

func (c *Capabilities) validate(file string) error {
	for _, list := range [][]string{c.Filesystem.Read, c.Filesystem.Write, c.Filesystem.Exec} {
		for _, p := range list {
			if err := checkPathPattern(p); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
			}
		}
	}
	for _, list := range [][]string{c.Env.Pass, c.Env.Secrets} {
		for _, n := range list {
			if !validEnvPattern(n) {
				return fmt.Errorf("%w: %s: %q is not an environment variable name", ErrInvalid, file, n)
			}
		}
	}
	for k := range c.Env.Set {
		if !validEnvPattern(k) || hasGlob(k) {
			return fmt.Errorf("%w: %s: env.set: %q is not an environment variable name", ErrInvalid, file, k)
		}
	}
	return nil
}
