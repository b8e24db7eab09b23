package scan

import (
	"fmt"
	"strings"
)

// Severity ranks a finding. The CLI fails at or above a chosen severity (High by default).
type Severity int

// Severities, lowest first, so that comparisons read naturally (s >= High).
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name: "info", "low", "medium", "high" or "critical".
func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, in any case.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(name), n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("%w %q (one of %s)", ErrUnknownSeverity, name, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the name, so JSON reports say "high" rather than 3.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Critical {
		return nil, fmt.Errorf("%w: %d", ErrUnknownSeverity, int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
