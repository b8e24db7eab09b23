package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Filter selects records; the zero Filter selects every record.
type Filter struct {
	// Skill keeps the records of this skill ("agent" for agent commands).
	Skill string
	// Denied keeps refusals and runs with denials.
	Denied bool
	// Since keeps records from this time on.
	Since time.Time
}

// Match reports whether r passes every condition of f.
func (f Filter) Match(r *Record) bool {
	if f.Skill != "" && r.Skill != f.Skill {
		return false
	}
	if f.Denied && r.Decision != Refused && len(r.Denials) == 0 && r.DenialsDropped == 0 {
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	return true
}

// ParseSince reads a --since value: a duration back from now ("90m", "2h", "3d") or a time
// (RFC 3339, "2006-01-02T15:04:05", or a date "2006-01-02", the last two in loc).
func ParseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n > 0 && n < 1e5 {
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--since %s: give a positive duration, e.g. 2h", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q is neither a duration (90m, 2h, 3d) nor a time (2006-01-02T15:04:05Z07:00, 2006-01-02)", s)
}
