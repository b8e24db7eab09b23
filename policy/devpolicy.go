package policy

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// PolicyFile is the developer policy's file name under $XDG_CONFIG_HOME/skillrun.
const PolicyFile = "policy.yaml"

// Unapproved says what a skill that was never approved gets.
const (
	UnapprovedUntrusted = "untrusted"
	UnapprovedRefuse    = "refuse"
)

// Degraded says what a run does where user namespaces are unavailable to an unprivileged user:
// refuse (the default) or run with Landlock, seccomp and rlimits alone, saying so on every run.
const (
	DegradedRefuse = "refuse"
	DegradedAllow  = "allow"
)

// DevPolicy is the developer's policy (design section 3): what agent commands and each skill are
// granted beyond, or denied within, their profiles and manifests.
type DevPolicy struct {
	Version        int      `yaml:"version"`
	DefaultProfile string   `yaml:"default_profile"`
	Unapproved     string   `yaml:"unapproved"`
	SkillRoots     []string `yaml:"skill_roots"`
	// Degraded is DegradedRefuse (also when empty) or DegradedAllow.
	Degraded string `yaml:"degraded"`
	// Deny applies to every command, agent or skill; it wins over every grant.
	Deny Capabilities `yaml:"deny"`
	// Agent grants agent commands (those attributed to no skill) more than their profile, and
	// adds toolchain profiles to every one (agent: {extends: [go]}).
	Agent AgentPolicy `yaml:"agent"`
	// Unsafe lifts lines of the floor for agent commands; every run that uses one says so.
	Unsafe Capabilities            `yaml:"unsafe"`
	Skills map[string]*SkillPolicy `yaml:"skills"`
	// Signers are the publishers whose signatures the developer trusts; RequireSignature refuses
	// every skill without a valid signature by one of them.
	Signers          []Signer `yaml:"signers"`
	RequireSignature bool     `yaml:"require_signature"`
	// Audit configures the audit log every run and refusal is recorded in.
	Audit AuditPolicy `yaml:"audit"`
	src   *source
}

// AgentPolicy is the policy's word on agent commands: capabilities beyond the profile, and the
// built-in toolchain profiles (go, node, ...) every agent command gets beside its view.
type AgentPolicy struct {
	Extends      []string `yaml:"extends"`
	Capabilities `yaml:",inline"`
}

// AuditPolicy configures the audit log ($XDG_STATE_HOME/skillrun/audit.jsonl).
type AuditPolicy struct {
	// Syslog also sends each record to the local syslog socket (/dev/log, read by journald).
	Syslog bool `yaml:"syslog"`
	// MaxSize is the size at which the log is rotated to audit.jsonl.1 (default DefaultAuditMaxSize).
	MaxSize Size `yaml:"max_size"`
}

// Bounds of audit.max_size: below the minimum a few long records would rotate the log.
const (
	DefaultAuditMaxSize Size = 16 << 20
	MinAuditMaxSize     Size = 64 << 10
)

// Signer pins a publisher's public key: an OpenSSH public key line or a minisign public key.
// Skills, when set, limits the key to skills whose names match one of the patterns ('*' globs).
type Signer struct {
	Identity string   `yaml:"identity"`
	Key      string   `yaml:"key"`
	Skills   []string `yaml:"skills"`
}

// SkillPolicy is the developer's word on one skill.
type SkillPolicy struct {
	Grant  Capabilities `yaml:"grant"`
	Deny   Capabilities `yaml:"deny"`
	Limits LimitCaps    `yaml:"limits"`
	// Unsafe lifts lines of the floor for this skill, when its manifest asks for them.
	Unsafe Capabilities `yaml:"unsafe"`
	// RequireSignature overrides the global require_signature for this skill.
	RequireSignature *bool `yaml:"require_signature"`
}

// ParsePolicy parses and validates a developer policy. The floor is checked by Compile (it needs
// the run's variables); a grant of a floor path outside unsafe: is refused there with its position.
func ParsePolicy(file string, data []byte) (*DevPolicy, error) {
	var p DevPolicy
	if err := decodeStrict(file, data, &p); err != nil {
		return nil, err
	}
	p.src = newSource(file, data)
	if p.Version != 1 {
		return nil, fmt.Errorf("%w: %s: version must be 1, got %d", ErrInvalid, p.src.at("version"), p.Version)
	}
	if p.DefaultProfile != "" {
		if err := checkExtends(p.DefaultProfile); err != nil {
			return nil, fmt.Errorf("%w: %s: default_profile: %v", ErrInvalid, p.src.at("default_profile"), err)
		}
	}
	switch p.Unapproved {
	case "", UnapprovedUntrusted, UnapprovedRefuse:
	default:
		return nil, fmt.Errorf("%w: %s: unapproved must be %s or %s, got %q", ErrInvalid, p.src.at("unapproved"), UnapprovedUntrusted, UnapprovedRefuse, p.Unapproved)
	}
	switch p.Degraded {
	case "", DegradedRefuse, DegradedAllow:
	default:
		return nil, fmt.Errorf("%w: %s: degraded must be %s or %s, got %q", ErrInvalid, p.src.at("degraded"), DegradedRefuse, DegradedAllow, p.Degraded)
	}
	for i, r := range p.SkillRoots {
		if err := checkPathPattern(r); err != nil {
			return nil, fmt.Errorf("%w: %s: skill_roots: %v", ErrInvalid, p.src.at("skill_roots", i), err)
		}
		if err := checkVariables(r); err != nil {
			return nil, fmt.Errorf("%w: %s: skill_roots: %v", ErrInvalid, p.src.at("skill_roots", i), err)
		}
		if hasGlob(r) {
			return nil, fmt.Errorf("%w: %s: skill_roots: %q: name folders, not patterns", ErrInvalid, p.src.at("skill_roots", i), r)
		}
	}
	for _, part := range []struct {
		key  string
		caps *Capabilities
	}{{"deny", &p.Deny}, {"agent", &p.Agent.Capabilities}, {"unsafe", &p.Unsafe}} {
		if err := part.caps.validate(p.src, part.key); err != nil {
			return nil, err
		}
	}
	if err := checkAgentExtends(&p); err != nil { // toolchain.go
		return nil, err
	}
	if err := p.Deny.onlyFilesystemNetworkEnv(p.src, "deny"); err != nil {
		return nil, err
	}
	for i, sg := range p.Signers {
		if sg.Identity == "" || strings.ContainsFunc(sg.Identity, suspiciousRune) {
			return nil, fmt.Errorf("%w: %s: a signer needs an identity (e.g. alice@example.com)", ErrInvalid, p.src.at("signers", i))
		}
		if err := checkSignerKey(sg.Key); err != nil {
			return nil, fmt.Errorf("%w: %s: signer %s: %v", ErrInvalid, p.src.at("signers", i, "key"), sg.Identity, err)
		}
		for j, pat := range sg.Skills {
			if _, err := path.Match(pat, ""); err != nil || pat == "" || strings.Contains(pat, "/") {
				return nil, fmt.Errorf("%w: %s: %q is not a skill name pattern", ErrInvalid, p.src.at("signers", i, "skills", j), pat)
			}
		}
	}
	if p.Audit.MaxSize != 0 && p.Audit.MaxSize < MinAuditMaxSize {
		return nil, fmt.Errorf("%w: %s: audit.max_size must be at least %s, got %s", ErrInvalid, p.src.at("audit", "max_size"), MinAuditMaxSize, p.Audit.MaxSize)
	}
	names := make([]string, 0, len(p.Skills))
	for n := range p.Skills {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sp := p.Skills[n]
		if err := checkFolderName(n); err != nil {
			return nil, fmt.Errorf("%w: %s: skills: %v", ErrInvalid, p.src.at("skills", n), err)
		}
		if sp == nil {
			p.Skills[n] = &SkillPolicy{}
			continue
		}
		for _, part := range []struct {
			key  string
			caps *Capabilities
		}{{"grant", &sp.Grant}, {"deny", &sp.Deny}, {"unsafe", &sp.Unsafe}} {
			if err := part.caps.validate(p.src, "skills", n, part.key); err != nil {
				return nil, err
			}
		}
		if err := sp.Deny.onlyFilesystemNetworkEnv(p.src, "skills", n, "deny"); err != nil {
			return nil, err
		}
		limits := Capabilities{Limits: sp.Limits}
		if err := limits.validate(p.src, "skills", n); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// onlyFilesystemNetworkEnv refuses limits and env.set in a deny section, where they mean nothing.
func (c *Capabilities) onlyFilesystemNetworkEnv(src *source, keys ...any) error {
	if c.Limits != (LimitCaps{}) {
		return fmt.Errorf("%w: %s: limits do not belong in a deny section (put them under skills.NAME.limits)", ErrInvalid, src.at(append(keys, "limits")...))
	}
	if len(c.Env.Set) > 0 {
		return fmt.Errorf("%w: %s: env.set does not belong in a deny section", ErrInvalid, src.at(append(keys, "env", "set")...))
	}
	return nil
}

// SignersFor returns the signers pinned for the skill name.
func (p *DevPolicy) SignersFor(name string) []Signer {
	if p == nil {
		return nil
	}
	var out []Signer
	for _, sg := range p.Signers {
		if len(sg.Skills) == 0 {
			out = append(out, sg)
			continue
		}
		for _, pat := range sg.Skills {
			if ok, _ := path.Match(pat, name); ok {
				out = append(out, sg)
				break
			}
		}
	}
	return out
}

// RequiresSignature reports whether the skill name must be signed by a pinned signer.
func (p *DevPolicy) RequiresSignature(name string) bool {
	if p == nil {
		return false
	}
	if sp := p.Skills[name]; sp != nil && sp.RequireSignature != nil {
		return *sp.RequireSignature
	}
	return p.RequireSignature
}

// AllowsDegraded reports whether the policy lets a run go ahead without namespaces (Landlock,
// seccomp and rlimits alone) where user namespaces are unavailable.
func (p *DevPolicy) AllowsDegraded() bool {
	return p != nil && p.Degraded == DegradedAllow
}

// unapproved returns what an unapproved skill gets.
func (p *DevPolicy) unapproved() string {
	if p == nil || p.Unapproved == "" {
		return UnapprovedUntrusted
	}
	return p.Unapproved
}

func (p *DevPolicy) skill(name string) *SkillPolicy {
	if p == nil || p.Skills[name] == nil {
		return &SkillPolicy{}
	}
	return p.Skills[name]
}

// checkFolderName accepts a skill folder's name: one path element without control or bidi
// characters.
func checkFolderName(n string) error {
	if n == "" || n == "." || n == ".." || len(n) > 255 {
		return fmt.Errorf("%q is not a skill folder name", n)
	}
	for _, r := range n {
		if r == '/' || r == 0 || suspiciousRune(r) {
			return fmt.Errorf("%q is not a skill folder name (slash, control or bidi character)", n)
		}
	}
	return nil
}

// suspiciousRune reports control characters and invisible or direction-changing formatting
// characters, which make a name look like another.
func suspiciousRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r >= 0xe0000 && r <= 0xe007f:
		return true
	case r == 0xfffd:
		return true
	}
	return false
}
