package policy

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
)

// LockFile is the approvals file's name under $XDG_CONFIG_HOME/skillrun.
const LockFile = "skills.lock"

// Lock records the skills the developer approved: each pinned to its real folder, its content
// digest and the capabilities it was approved with. Nothing in it is trusted without a digest match.
type Lock struct {
	Version int           `yaml:"version"`
	Skills  []LockedSkill `yaml:"skills"`
}

// LockedSkill is one approval.
type LockedSkill struct {
	Name string `yaml:"name"`
	// Path is the skill's real folder (symlinks resolved): approvals follow content, not names.
	Path   string `yaml:"path"`
	Digest string `yaml:"digest"`
	Files  int    `yaml:"files"`
	// Manifest says whether the folder had a skillrun.yaml; without one the skill runs untrusted.
	Manifest bool `yaml:"manifest"`
	// Extends and Approved are the manifest's profiles and capabilities as approved: a run never
	// gets more than these plus the developer's grants, whatever the manifest says today.
	Extends    []string      `yaml:"extends,omitempty"`
	Approved   *Capabilities `yaml:"approved,omitempty"`
	ApprovedAt time.Time     `yaml:"approved_at"`
	// Signer is the pinned signer whose signature the approved content carried ("identity
	// fingerprint"), empty when unsigned: a later version by another signer needs a new approval.
	Signer string `yaml:"signer,omitempty"`
	// Scan summarises the static scan the approval was given with.
	Scan *ScanSummary `yaml:"scan,omitempty"`
}

// ScanSummary is what a scan found when the skill was approved.
type ScanSummary struct {
	Max      string         `yaml:"max"`
	Findings map[string]int `yaml:"findings,omitempty"` // by severity
	Accepted bool           `yaml:"accepted,omitempty"` // high findings approved with --accept-findings
}

var digestPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[0-9a-f]{64}$`) })

// ParseLock parses and validates the lock; a hand-edited invalid lock is an error, never a partial
// approval.
func ParseLock(file string, data []byte) (*Lock, error) {
	var l Lock
	if err := decodeStrict(file, data, &l); err != nil {
		return nil, err
	}
	src := newSource(file, data)
	if l.Version != 1 {
		return nil, fmt.Errorf("%w: %s: version must be 1, got %d", ErrInvalid, src.at("version"), l.Version)
	}
	seen := map[string]bool{}
	for i := range l.Skills {
		s := &l.Skills[i]
		at := func(k string) string { return src.at("skills", i, k) }
		if err := checkFolderName(s.Name); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, at("name"), err)
		}
		if !path.IsAbs(s.Path) || path.Clean(s.Path) != s.Path || s.Path == "/" {
			return nil, fmt.Errorf("%w: %s: path %q is not a clean absolute folder", ErrInvalid, at("path"), s.Path)
		}
		if seen[s.Path] {
			return nil, fmt.Errorf("%w: %s: %s is approved twice", ErrInvalid, at("path"), s.Path)
		}
		seen[s.Path] = true
		if !digestPattern().MatchString(s.Digest) {
			return nil, fmt.Errorf("%w: %s: digest %q is not sha256:<64 hex digits>", ErrInvalid, at("digest"), s.Digest)
		}
		if s.Files < 0 {
			return nil, fmt.Errorf("%w: %s: negative file count", ErrInvalid, at("files"))
		}
		if !s.Manifest && (s.Approved != nil || len(s.Extends) > 0) {
			return nil, fmt.Errorf("%w: %s: capabilities approved for a skill without a manifest", ErrInvalid, at("approved"))
		}
		if s.Manifest && s.Approved == nil {
			return nil, fmt.Errorf("%w: %s: a skill with a manifest needs its approved capabilities", ErrInvalid, at("manifest"))
		}
		for j, e := range s.Extends {
			if err := checkExtends(e); err != nil {
				return nil, fmt.Errorf("%w: %s: extends: %v", ErrInvalid, src.at("skills", i, "extends", j), err)
			}
		}
		if s.Approved != nil {
			if err := s.Approved.validate(src, "skills", i, "approved"); err != nil {
				return nil, err
			}
		}
	}
	for i, s := range l.Skills {
		if s.ApprovedAt.IsZero() {
			return nil, fmt.Errorf("%w: %s: approved_at is missing or not a time", ErrInvalid, src.at("skills", i, "approved_at"))
		}
	}
	return &l, nil
}

// Marshal prints the lock, skills sorted by name and path.
func (l *Lock) Marshal() ([]byte, error) {
	out := *l
	out.Version = 1
	out.Skills = append([]LockedSkill{}, l.Skills...)
	sort.Slice(out.Skills, func(i, j int) bool {
		a, b := out.Skills[i], out.Skills[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Path < b.Path
	})
	return yaml.MarshalWithOptions(&out, yaml.Indent(2), yaml.IndentSequence(true))
}

// Find returns the approval of the skill whose real folder is dir, or nil.
func (l *Lock) Find(dir string) *LockedSkill {
	if l == nil {
		return nil
	}
	for i := range l.Skills {
		if l.Skills[i].Path == dir {
			return &l.Skills[i]
		}
	}
	return nil
}

// Put records s, replacing an earlier approval of the same folder.
func (l *Lock) Put(s LockedSkill) {
	l.Version = 1
	for i := range l.Skills {
		if l.Skills[i].Path == s.Path {
			l.Skills[i] = s
			return
		}
	}
	l.Skills = append(l.Skills, s)
}
