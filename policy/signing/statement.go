package signing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxStatementSize bounds a statement file. A real one is a few hundred bytes; the bound keeps a
// hostile skill from making verification hash or parse megabytes.
const MaxStatementSize = 4 << 10

// Bounds on the optional free-text fields, well inside MaxStatementSize.
const (
	maxVersionLen = 64
	maxSourceLen  = 1024
)

// Statement is what a publisher signs: which skill, with which content. The field order is the
// canonical order of Marshal.
type Statement struct {
	// Name is the skill's name (the Agent Skills rule: 1-64 of a-z, 0-9 and single hyphens).
	Name string `json:"name"`
	// Digest is the folder digest of policy/trust, "sha256:<hex>", computed without Dir.
	Digest string `json:"digest"`
	// ManifestDigest is "sha256:<hex>" of the skillrun.yaml bytes, or "" when the skill has none.
	// The folder digest covers the manifest too; naming it separately lets a reviewer see that
	// the signed capabilities are the ones on screen without re-hashing the folder.
	ManifestDigest string `json:"manifest_digest"`
	// Version is the publisher's version label, for display only.
	Version string `json:"version,omitempty"`
	// Source says where the publisher publishes the skill (a URL or repository), for display only.
	Source string `json:"source,omitempty"`
}

// Marshal returns the canonical encoding: compact JSON, fields in declaration order, no HTML
// escaping, newline-terminated. ParseStatement accepts only this form, so one statement has
// exactly one byte representation and what is signed is what is shown.
func (s Statement) Marshal() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a struct of strings cannot fail.
	if err := enc.Encode(s); err != nil {
		panic("signing: encoding a statement: " + err.Error())
	}
	return buf.Bytes() // Encode ends with '\n'
}

// ParseStatement parses and validates a statement in the canonical form that Marshal writes.
//
// Anything else is refused: unknown or duplicate fields, other field orders or spacing, escapes
// Marshal would not write, trailing data, a missing final newline, malformed digests and names,
// and control, bidi or invisible characters in the free-text fields. A parser that accepted
// several encodings would let a signed statement say one thing to one reader and another to a
// different one (duplicate keys are the classic case).
func ParseStatement(data []byte) (*Statement, error) {
	if len(data) > MaxStatementSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidStatement, len(data), MaxStatementSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidStatement)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Statement
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	if rest := data[dec.InputOffset():]; string(rest) != "\n" {
		if len(rest) == 0 {
			return nil, fmt.Errorf("%w: missing the final newline", ErrInvalidStatement)
		}
		return nil, fmt.Errorf("%w: trailing data after the statement", ErrInvalidStatement)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidStatement, err)
	}
	if !bytes.Equal(s.Marshal(), data) {
		return nil, fmt.Errorf("%w: not in canonical form (fields duplicated, out of order or differently spelled, spaces, or escapes); write it with skillrun sign", ErrInvalidStatement)
	}
	return &s, nil
}

// check validates the fields.
func (s Statement) check() error {
	if err := checkSkillName(s.Name); err != nil {
		return fmt.Errorf("name: %v", err)
	}
	if !isDigest(s.Digest) {
		return fmt.Errorf("digest %q is not sha256:<64 lower-case hex digits>", s.Digest)
	}
	if s.ManifestDigest != "" && !isDigest(s.ManifestDigest) {
		return fmt.Errorf("manifest_digest %q is not empty or sha256:<64 lower-case hex digits>", s.ManifestDigest)
	}
	if s.Version != "" {
		if err := checkText(s.Version, maxVersionLen, false); err != nil {
			return fmt.Errorf("version: %v", err)
		}
	}
	if s.Source != "" {
		if err := checkText(s.Source, maxSourceLen, true); err != nil {
			return fmt.Errorf("source: %v", err)
		}
	}
	return nil
}

// checkSkillName applies the Agent Skills naming rule, like policy's manifest check (not imported:
// policy will import this package).
func checkSkillName(n string) error {
	bad := n == "" || len(n) > 64 || strings.HasPrefix(n, "-") || strings.HasSuffix(n, "-") || strings.Contains(n, "--")
	for i := 0; i < len(n) && !bad; i++ {
		c := n[i]
		bad = !(c == '-' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
	}
	if bad {
		return fmt.Errorf("%q is not a skill name (1-64 of a-z, 0-9 and single hyphens)", n)
	}
	return nil
}

// isDigest reports whether d is "sha256:" and 64 lower-case hex digits, the form of
// trust.Listing.Digest.
func isDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// checkText accepts display text that reads the same on every screen: graphic characters only,
// so no control characters that could forge terminal output and no bidi, zero-width or tag
// characters (format characters are not graphic) that could make a review screen lie. Spaces are
// allowed inside when spaces is set, never at the ends.
func checkText(s string, maxLen int, spaces bool) error {
	if len(s) > maxLen {
		return fmt.Errorf("longer than %d bytes", maxLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid UTF-8")
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%q starts or ends with white space", s)
	}
	for i, r := range s {
		switch {
		case r == ' ' && spaces:
		case unicode.IsSpace(r):
			return fmt.Errorf("white space %U at byte %d", r, i)
		case !unicode.IsGraphic(r):
			return fmt.Errorf("control or invisible character %U at byte %d", r, i)
		}
	}
	return nil
}
