package policy

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/goccy/go-yaml"
)

var errNegativeDuration = errors.New("negative duration")

// Capabilities is the part of the schema shared by profiles, manifests and grants.
type Capabilities struct {
	Filesystem FilesystemCaps `yaml:"filesystem,omitempty" json:"filesystem"`
	Network    NetworkCaps    `yaml:"network,omitempty" json:"network"`
	Env        EnvCaps        `yaml:"env,omitempty" json:"env"`
	Limits     LimitCaps      `yaml:"limits,omitempty" json:"limits"`
}

// FilesystemCaps lists paths (with ${VARIABLES}) by access.
type FilesystemCaps struct {
	Read  []string `yaml:"read,omitempty" json:"read,omitempty"`
	Write []string `yaml:"write,omitempty" json:"write,omitempty"`
	Exec  []string `yaml:"exec,omitempty" json:"exec,omitempty"`
}

// NetworkCaps lists the hosts a command may reach through the egress proxy.
type NetworkCaps struct {
	Allow []string `yaml:"allow,omitempty" json:"allow,omitempty"`
}

// EnvCaps says which variables pass from the caller, which secrets, and which are set.
type EnvCaps struct {
	Pass    []string          `yaml:"pass,omitempty" json:"pass,omitempty"`
	Secrets []string          `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Set     map[string]string `yaml:"set,omitempty" json:"set,omitempty"`
}

// LimitCaps bounds a run. A missing value sets no bound; where several documents set one, the
// strictest wins.
type LimitCaps struct {
	Timeout   *Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Memory    *Size     `yaml:"memory,omitempty" json:"memory,omitempty"`
	Processes *int      `yaml:"processes,omitempty" json:"processes,omitempty"`
	CPU       *Duration `yaml:"cpu,omitempty" json:"cpu,omitempty"`
	FileSize  *Size     `yaml:"file_size,omitempty" json:"file_size,omitempty"`
	OpenFiles *int      `yaml:"open_files,omitempty" json:"open_files,omitempty"`
}

// Profile is a built-in named capability set. Extends names profiles whose capabilities it adds to.
type Profile struct {
	Version      int      `yaml:"version"`
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	Extends      []string `yaml:"extends"`
	Capabilities `yaml:",inline"`
	src          *source
}

// FloorDoc is the floor: what is never readable, writable or passed.
type FloorDoc struct {
	Version    int      `yaml:"version"`
	Name       string   `yaml:"name"`
	NeverRead  []string `yaml:"never_read"`
	NeverWrite []string `yaml:"never_write"`
	NeverEnv   []string `yaml:"never_env"`
	StripEnv   []string `yaml:"strip_env"`
	// Persist lists, tool by tool, the files that tools on the host later run or obey (agents'
	// instructions, settings, MCP servers, editors' tasks, env loaders): never writable at the
	// top of the workspace and of every repository in it.
	Persist []PersistClass `yaml:"persist"`
}

// PersistClass is one tool's files in the floor.
type PersistClass struct {
	// Tool names who reads the files; Class is the protection class (ClassAgent, ClassGit…);
	// Why says what the tool does with them, in plain words.
	Tool  string `yaml:"tool"`
	Class string `yaml:"class"`
	Why   string `yaml:"why"`
	// Paths are relative to the top of the workspace (and of each repository in it).
	Paths []string `yaml:"paths"`
	// AnyDepth are file names the tool reads in any folder (a nested CLAUDE.md): protected
	// wherever the workspace walk finds them.
	AnyDepth []string `yaml:"any_depth"`
}

// parsedDocuments counts the YAML documents this process parsed: decodeStrict and source.parse
// are the only places that parse YAML, and a run that needs no policy, manifest or lock parses
// none (the built-in documents are Go values, builtin.go). See ParsedDocuments.
var parsedDocuments atomic.Int64

// ParsedDocuments says how many times this process has parsed YAML: each policy, manifest, lock
// or profile parsed, and each document whose positions a message needed. Start-up tests hold a
// run without a policy, a manifest or a lock to none.
func ParsedDocuments() int64 { return parsedDocuments.Load() }

// decodeStrict parses YAML, rejecting unknown keys, and reports errors with file:line:column.
// The YAML library can panic on malformed input (found by FuzzParseProfile); documents come from
// skills, so such input is an invalid document, never a crash.
func decodeStrict(file string, data []byte, v any) (err error) {
	parsedDocuments.Add(1)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: malformed YAML", ErrInvalid, file)
		}
	}()
	if err := yaml.UnmarshalWithOptions(data, v, yaml.DisallowUnknownField()); err != nil {
		var bv *badValue
		if errors.As(err, &bv) {
			if line, col, ok := findValue(data, bv.value); ok {
				return fmt.Errorf("%w: %s:%d:%d: %v", ErrInvalid, file, line, col, bv.err)
			}
		}
		return fmt.Errorf("%w: %s", ErrInvalid, yamlErrorf(file, err))
	}
	return nil
}

// findValue locates the first scalar value equal to v (after a ':' or a '-', quoted or not).
func findValue(data []byte, v string) (line, col int, ok bool) {
	for i, l := range strings.Split(string(data), "\n") {
		for _, form := range []string{v, `"` + v + `"`, "'" + v + "'"} {
			for start := 0; ; {
				j := strings.Index(l[start:], form)
				if j < 0 {
					break
				}
				j += start
				before := strings.TrimRight(l[:j], " \t")
				end := j + len(form)
				after := strings.TrimLeft(l[end:], " \t")
				if (strings.HasSuffix(before, ":") || strings.HasSuffix(before, "-") || strings.HasSuffix(before, "[") || strings.HasSuffix(before, ",")) &&
					(after == "" || after[0] == ',' || after[0] == '}' || after[0] == ']' || after[0] == '#') {
					return i + 1, j + 1, true
				}
				start = j + 1
			}
		}
	}
	return 0, 0, false
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
	p.src = newSource(file, data)
	if err := p.Capabilities.validate(p.src); err != nil {
		return nil, err
	}
	return &p, nil
}

// validate checks every value of c; at gives the position of a value for the message (keys are
// relative to the capabilities, e.g. "filesystem", "read", 0).
func (c *Capabilities) validate(src *source, prefix ...any) error {
	at := func(keys ...any) string { return src.at(append(append([]any{}, prefix...), keys...)...) }
	for _, kind := range []struct {
		name string
		list []string
	}{{"read", c.Filesystem.Read}, {"write", c.Filesystem.Write}, {"exec", c.Filesystem.Exec}} {
		for i, p := range kind.list {
			if err := checkPathPattern(p); err != nil {
				return fmt.Errorf("%w: %s: filesystem.%s: %v", ErrInvalid, at("filesystem", kind.name, i), kind.name, err)
			}
			if err := checkVariables(p); err != nil {
				return fmt.Errorf("%w: %s: filesystem.%s: %v", ErrInvalid, at("filesystem", kind.name, i), kind.name, err)
			}
		}
	}
	for i, h := range c.Network.Allow {
		if err := checkHostPattern(h); err != nil {
			return fmt.Errorf("%w: %s: network.allow: %v", ErrInvalid, at("network", "allow", i), err)
		}
	}
	for _, kind := range []struct {
		name string
		list []string
	}{{"pass", c.Env.Pass}, {"secrets", c.Env.Secrets}} {
		for i, n := range kind.list {
			if !validEnvPattern(n) {
				return fmt.Errorf("%w: %s: env.%s: %q is not an environment variable name", ErrInvalid, at("env", kind.name, i), kind.name, n)
			}
		}
	}
	for i, n := range c.Env.Secrets {
		if hasGlob(n) {
			return fmt.Errorf("%w: %s: env.secrets: %q: a secret is named exactly, without '*'", ErrInvalid, at("env", "secrets", i), n)
		}
	}
	for k := range c.Env.Set {
		if !validEnvPattern(k) || hasGlob(k) {
			return fmt.Errorf("%w: %s: env.set: %q is not an environment variable name", ErrInvalid, at("env", "set", k), k)
		}
		if matchAny(baseEnv, k) {
			return fmt.Errorf("%w: %s: env.set: %s is set by skillrun itself", ErrInvalid, at("env", "set", k), k)
		}
		if err := checkVariables(c.Env.Set[k]); err != nil {
			return fmt.Errorf("%w: %s: env.set: %v", ErrInvalid, at("env", "set", k), err)
		}
	}
	for _, n := range []struct {
		name string
		v    *int
	}{{"processes", c.Limits.Processes}, {"open_files", c.Limits.OpenFiles}} {
		if n.v != nil && *n.v <= 0 {
			return fmt.Errorf("%w: %s: limits.%s must be positive", ErrInvalid, at("limits", n.name), n.name)
		}
	}
	return nil
}
