package scan

import (
	"math"
	"strconv"
	"strings"
)

// Hard-coded credentials. Tokens have documented prefixes; everything else is a random-looking
// literal assigned to a name that says it is secret. Placeholders ("your-key-here", "xxxx",
// AWS's documented EXAMPLE key) are not secrets, and excerpts never repeat a secret in full.

var tokenRules = []struct {
	id string
	re *lazyRE
	// body is the submatch that must look random.
	body int
}{
	{ruleAWSKey, lazyRegexp(`\b((?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})\b`), 1},
	{ruleGitHubToken, lazyRegexp(`\b(?:gh[pousr]_([A-Za-z0-9]{36,255})|github_pat_([A-Za-z0-9_]{60,255}))\b`), 0},
	{ruleGitLabToken, lazyRegexp(`\bglpat-([A-Za-z0-9_-]{20,})`), 1},
	{ruleSlackToken, lazyRegexp(`\bxox[baprse]-([0-9]{6,}-[A-Za-z0-9-]{8,})`), 1},
	{ruleAnthropicKey, lazyRegexp(`\bsk-ant-(?:[a-z]+\d*-)?([A-Za-z0-9_-]{32,})`), 1},
	{ruleOpenAIKey, lazyRegexp(`\bsk-(?:proj-|svcacct-|admin-|None-)?([A-Za-z0-9_-]{32,})`), 1},
}

// tokens finds provider tokens (CRED-001 to -006).
func tokens(c *fileCtx, u unit) {
	for _, tr := range tokenRules {
		for _, m := range tr.re.FindAllStringSubmatchIndex(u.text, 4) {
			tok := u.text[m[0]:m[1]]
			if tr.id == ruleOpenAIKey && strings.HasPrefix(tok, "sk-ant-") {
				continue
			}
			body := ""
			for g := 1; 2*g < len(m); g++ {
				if m[2*g] >= 0 {
					body = u.text[m[2*g]:m[2*g+1]]
					break
				}
			}
			if body == "" {
				body = tok
			}
			if placeholder(body) || (tr.id != ruleAWSKey && tr.id != ruleSlackToken && !mixedRandom(body)) {
				continue
			}
			c.add(tr.id, u.line, redact(tok), "")
			break
		}
	}
}

// placeholder reports values that only stand in for a secret.
func placeholder(s string) bool {
	l := strings.ToLower(s)
	for _, p := range []string{"example", "xxxx", "0000", "1234", "abcd", "your", "here", "dummy", "fake", "placeholder", "changeme", "redacted", "sample", "test", "<", "..."} {
		if strings.Contains(l, p) {
			return true
		}
	}
	return entropy(s) < 3.0
}

// mixedRandom asks what a generated key looks like: upper and lower case letters and digits.
func mixedRandom(s string) bool {
	var up, lo, dg bool
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= 'A' && b <= 'Z':
			up = true
		case b >= 'a' && b <= 'z':
			lo = true
		case b >= '0' && b <= '9':
			dg = true
		}
	}
	return up && lo && dg
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var freq [256]int
	for i := 0; i < len(s); i++ {
		freq[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, f := range freq {
		if f > 0 {
			p := float64(f) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// redact keeps a recognisable prefix of a secret and its length.
func redact(s string) string {
	keep := min(8, len(s)/4)
	return s[:keep] + "… (" + strconv.Itoa(len(s)) + " chars)"
}

var (
	// The regular expressions match the end of the name; the rest of it is read backwards, which is
	// much cheaper than a pattern that could start a name at any position.
	secretSuffix   = `(?i:_key|_token|_secret|_password|_passwd|_pwd|apikey|api-key|secretkey|accesskey|authtoken|accesstoken|privatekey|clientsecret|secret)`
	reSecretQuoted = lazyRegexp(secretSuffix + `\b["']?\s*(?::=|=>|=|:)\s*[a-zA-Z]?["'` + "`" + `]([^"'` + "`" + `\s]{16,256})["'` + "`" + `]`)
	reSecretBare   = lazyRegexp(`^\s*(?:export\s+)?[A-Za-z0-9_.-]*` + secretSuffix + `\s*[=:]\s*([^\s"'#]{16,256})\s*(?:#.*)?$`)
)

// nameBefore extends the name that ends at end backwards from start over name characters.
func nameBefore(s string, start, end int) string {
	for start > 0 && (isIdent(s[start-1]) || s[start-1] == '.' || s[start-1] == '-') {
		start--
	}
	return s[start:end]
}

// entropySecret finds random-looking literals assigned to secret names (CRED-008).
func entropySecret(c *fileCtx, u unit) {
	if !strings.ContainsAny(u.text, "=:") || !hasSecretShapedRun(u.text) {
		return
	}
	for _, re := range []*lazyRE{reSecretQuoted, reSecretBare} {
		for _, m := range re.FindAllStringSubmatchIndex(u.text, 4) {
			val := u.text[m[2]:m[3]]
			start := m[0]
			if re == reSecretBare {
				// The whole line matched: the name follows the indentation and "export".
				start = len(u.text) - len(strings.TrimLeft(u.text, " \t"))
				if rest, ok := strings.CutPrefix(u.text[start:], "export"); ok {
					start = len(u.text) - len(strings.TrimLeft(rest, " \t"))
				}
			}
			// The name ends where the suffix does, before any quote, space or operator.
			end := start
			for end < m[2] && (isIdent(u.text[end]) || u.text[end] == '-' || u.text[end] == '.') {
				end++
			}
			name := nameBefore(u.text, start, end)
			ln := strings.ToLower(name)
			if strings.Contains(ln, "public") || strings.Contains(ln, "pub_") || strings.HasSuffix(ln, "_id") {
				continue
			}
			if !randomSecret(val) {
				continue
			}
			c.add(ruleEntropySecret, u.line, name+" = "+redact(val), name)
			return
		}
	}
}

// hasSecretShapedRun reports a run of 16 or more value characters holding both a letter and a
// digit, which every value randomSecret accepts has; most lines have none.
func hasSecretShapedRun(s string) bool {
	n, letter, digit := 0, false, false
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			b := s[i]
			switch {
			case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
				n, letter = n+1, true
				continue
			case b >= '0' && b <= '9':
				n, digit = n+1, true
				continue
			case b == '_' || b == '-' || b == '+' || b == '/' || b == '=' || b == '.' || b == '~' || b == '!' || b == '@' || b == '#' || b == '*' || b == '^' || b == '&':
				n++
				continue
			}
		}
		if n >= 16 && letter && digit {
			return true
		}
		n, letter, digit = 0, false, false
	}
	return false
}

// randomSecret asks whether a value looks generated rather than written: long, letters and digits,
// high entropy, not a path, URL, reference or placeholder, and not a token another rule reports.
func randomSecret(v string) bool {
	if len(v) < 16 || strings.ContainsAny(v, "${}()<>%[]") || strings.Contains(v, "://") {
		return false
	}
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "~") || strings.HasPrefix(v, "./") || strings.Count(v, "/") > 2 || strings.Count(v, ".") > 2 {
		return false
	}
	// Generated values mix cases and digits, or (hex, base32) carry many digits; written ones
	// ("user-profile-v2-cache") do neither.
	up, lo, dg := 0, 0, 0
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b >= 'A' && b <= 'Z':
			up++
		case b >= 'a' && b <= 'z':
			lo++
		case b >= '0' && b <= '9':
			dg++
		}
	}
	if !(up > 0 && lo > 0 && dg > 0) && !(dg >= 4 && up+lo >= 4) || placeholder(v) {
		return false
	}
	for _, tr := range tokenRules {
		if tr.re.MatchString(v) {
			return false
		}
	}
	min := 3.5
	if len(v) >= 32 {
		min = 3.7
	}
	return entropy(v) >= min
}

var (
	rePrivateKey = lazyRegexp(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----`)
	reKeyBody    = lazyRegexp(`[A-Za-z0-9+/=]{40,}`)
)

// privateKey finds PEM private keys with a body (CRED-007); the marker alone, as a parser compares
// against it, is not a key.
func privateKey(c *fileCtx, u unit) {
	loc := rePrivateKey.FindStringIndex(u.text)
	if loc == nil {
		return
	}
	after := u.text[loc[1]:]
	after = strings.TrimLeft(strings.ReplaceAll(after, `\n`, "\n"), "\r\n ")
	if !reKeyBody.MatchString(firstLine(after)) {
		// The body is on the next line of the file.
		if u.line < c.nlines() {
			after = c.lineText(u.line)
		}
		if !reKeyBody.MatchString(strings.ReplaceAll(after, `\n`, "")) {
			return
		}
	}
	c.add(rulePrivateKey, u.line, u.text[loc[0]:loc[1]], "")
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
