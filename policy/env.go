package policy

import "strings"

// validEnvPattern accepts a variable name, optionally with '*' wildcards.
func validEnvPattern(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r == '*' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'):
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// matchEnv reports whether name matches pattern, where '*' matches any run of characters.
func matchEnv(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(name, mid)
		if i < 0 {
			return false
		}
		name = name[i+len(mid):]
	}
	return strings.HasSuffix(name, last)
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if matchEnv(p, name) {
			return true
		}
	}
	return false
}
