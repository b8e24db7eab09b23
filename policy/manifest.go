package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ManifestFile is the name of a skill's capability manifest, at the skill folder's root.
const ManifestFile = "skillrun.yaml"

// Manifest is a skill's declaration of the capabilities it needs (design section 3). It asks; the
// developer's approval and policy decide.
type Manifest struct {
	Version      int      `yaml:"version"`
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	Extends      []string `yaml:"extends"`
	Capabilities `yaml:",inline"`
	src          *source
}

// ParseManifest parses and validates a manifest. file names it in messages.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	var m Manifest
	if err := decodeStrict(file, data, &m); err != nil {
		return nil, err
	}
	m.src = newSource(file, data)
	if m.Version != 1 {
		return nil, fmt.Errorf("%w: %s: version must be 1, got %d", ErrInvalid, m.src.at("version"), m.Version)
	}
	if err := checkSkillName(m.Name); err != nil {
		return nil, fmt.Errorf("%w: %s: name: %v", ErrInvalid, m.src.at("name"), err)
	}
	for i, e := range m.Extends {
		if err := checkExtends(e); err != nil {
			return nil, fmt.Errorf("%w: %s: extends: %v", ErrInvalid, m.src.at("extends", i), err)
		}
	}
	if err := m.Capabilities.validate(m.src); err != nil {
		return nil, err
	}
	return &m, nil
}

// checkExtends accepts the name of a built-in profile a document may extend.
func checkExtends(name string) error {
	if name == LearnProfile {
		return fmt.Errorf("%s is skillrun learn's own view, not a profile to extend; extend the toolchain profiles the skill uses", name)
	}
	if _, err := LoadProfile(name); err != nil {
		return err
	}
	return nil
}

// checkSkillName applies the Agent Skills naming rule: 1-64 lower-case letters, digits and
// hyphens, not starting or ending with a hyphen, no double hyphen.
func checkSkillName(n string) error {
	if n == "" {
		return fmt.Errorf("missing")
	}
	if len(n) > 64 || !utf8.ValidString(n) || strings.HasPrefix(n, "-") || strings.HasSuffix(n, "-") || strings.Contains(n, "--") {
		return fmt.Errorf("%q is not a skill name (1-64 of a-z, 0-9 and single hyphens)", n)
	}
	for _, r := range n {
		if !(r == '-' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			return fmt.Errorf("%q is not a skill name (1-64 of a-z, 0-9 and single hyphens)", n)
		}
	}
	return nil
}
