package scan

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Invisible and look-alike characters. Tag characters (U+E0000–E007F) spell ASCII that editors do
// not show and models read; zero-width characters split keywords (su\u200bdo) past scanners;
// bidi controls reorder what a reviewer sees; Cyrillic and Greek look-alikes disguise commands.
// Lines that carry any of these are also scanned again with them removed, so the keyword rules see
// the command the characters were meant to hide.

// confusables maps Cyrillic and Greek letters to the Latin letters they are drawn like.
var confusables = map[rune]rune{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j', 'һ': 'h', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ɡ': 'g',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'ӏ': 'l',
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ν': 'v', 'ι': 'i', 'κ': 'k', 'τ': 't', 'υ': 'u', 'ε': 'e',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
}

// spoofable are the words worth disguising: commands and the words around them.
var spoofable = setOf("curl", "wget", "bash", "sh", "zsh", "sudo", "su", "chmod", "chown", "python", "python3", "perl", "ruby", "node", "npm", "npx",
	"pip", "eval", "exec", "base64", "powershell", "iex", "rm", "nc", "ncat", "ssh", "scp", "git", "crontab", "systemctl", "launchctl", "osascript",
	"http", "https", "install", "run", "execute", "terminal", "password", "token", "secret", "env", "export", "source")

func isZeroWidth(r rune) bool {
	return r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || (r >= 0x2061 && r <= 0x2064) || r == 0x180E || (r >= 0xE0100 && r <= 0xE01EF)
}

func isBidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func isTag(r rune) bool { return r >= 0xE0000 && r <= 0xE007F }

func isConfusableScript(r rune) bool {
	return (r >= 0x0370 && r <= 0x03FF) || (r >= 0x0400 && r <= 0x052F) || r == 'ɡ'
}

// pictographic reports emoji and symbols, between which U+200D (zero-width joiner) builds one
// emoji (a family, a flag); that use is not hiding anything.
func pictographic(r rune) bool {
	return r >= 0x1F000 || (r >= 0x2600 && r <= 0x27BF) || (r >= 0x2190 && r <= 0x21FF) || (r >= 0x2B00 && r <= 0x2BFF) || r == 0xFE0F || r == 0x20E3 || (r >= 0x1F3FB && r <= 0x1F3FF)
}

// unicodePass looks at every non-ASCII character once, per line.
func (c *fileCtx) unicodePass() {
	data := c.data
	line := 0
	lineStart := 0
	var (
		tags        strings.Builder
		dirty       bool // the line has characters to remove or fold
		confusable  bool
		reported    = map[string]bool{}
		badUTF8Line = 0
	)
	endLine := func(end int) {
		text := data[lineStart:end]
		ln := line + 1
		if tags.Len() > 0 {
			hidden := tags.String()
			c.add(ruleTagChars, ln, text, "hidden text "+quoteShort(hidden, 80))
			c.inner(hidden, ln, c.kind, "in hidden tag characters")
			tags.Reset()
		}
		mixed := confusable && c.homoglyphs(text, ln)
		if dirty || mixed {
			if cleaned := cleanText(text); cleaned != text {
				c.inner(cleaned, ln, c.kind, "after removing invisible and look-alike characters")
			}
		}
		dirty, confusable = false, false
		clear(reported)
	}
	for i := 0; i < len(data); {
		b := data[i]
		if b < utf8.RuneSelf {
			if b == '\n' {
				endLine(i)
				line++
				lineStart = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(data[i:])
		ln := line + 1
		if r == 0x1F3F4 {
			// A subdivision flag (England, Scotland, Wales) is the black flag followed by tag
			// letters and a cancel tag: an emoji, not hidden text.
			if n := flagTags(data[i+size:]); n > 0 {
				i += size + n
				continue
			}
		}
		switch {
		case r == utf8.RuneError && size == 1:
			if badUTF8Line == 0 {
				badUTF8Line = ln
				c.add(ruleBinary, ln, "", "not valid UTF-8 (first bad byte on this line)")
			}
		case isTag(r):
			if r >= 0xE0020 && r <= 0xE007E {
				tags.WriteRune(r - 0xE0000)
			}
			dirty = true
		case isZeroWidth(r):
			prev, _ := utf8.DecodeLastRuneInString(data[:i])
			next, _ := utf8.DecodeRuneInString(data[i+size:])
			if (r == 0x200D || r == 0x200C) && (pictographic(prev) && pictographic(next) || joinsScript(prev) && joinsScript(next)) {
				break // emoji sequences, and joiners inside Arabic or Indic words
			}
			dirty = true
			if !reported[ruleZeroWidth] {
				reported[ruleZeroWidth] = true
				c.add(ruleZeroWidth, ln, lineAround(data, lineStart, i), fmt.Sprintf("U+%04X", r))
			}
		case isBidi(r):
			dirty = true
			if !reported[ruleBidi] {
				reported[ruleBidi] = true
				c.add(ruleBidi, ln, lineAround(data, lineStart, i), fmt.Sprintf("U+%04X", r))
			}
		case r == 0xFEFF:
			if i > 0 {
				dirty = true
				c.add(ruleMidBOM, ln, lineAround(data, lineStart, i), "")
			}
		case isConfusableScript(r):
			confusable = true
		}
		i += size
	}
	endLine(len(data))
}

// joinsScript reports letters of scripts where zero-width joiners are part of spelling.
func joinsScript(r rune) bool {
	return unicode.In(r, unicode.Arabic, unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi, unicode.Gujarati, unicode.Oriya, unicode.Tamil,
		unicode.Telugu, unicode.Kannada, unicode.Malayalam, unicode.Sinhala, unicode.Syriac, unicode.Mongolian, unicode.Khmer, unicode.Myanmar)
}

// lineAround returns the line from lineStart, bounded for the excerpt.
func lineAround(data string, lineStart, at int) string {
	end := strings.IndexByte(data[at:], '\n')
	if end < 0 {
		end = len(data)
	} else {
		end += at
	}
	start := max(lineStart, at-60)
	for start > lineStart && !utf8.RuneStart(data[start]) {
		start--
	}
	end = min(end, at+60)
	for end < len(data) && !utf8.RuneStart(data[end]) {
		end++
	}
	return data[start:end]
}

// homoglyphs reports words that mix Latin with look-alike letters, or consist of look-alikes only,
// and read as a command once folded to Latin. It returns whether the line has any word that mixes
// scripts (worth scanning again folded), which ordinary Russian or Greek text does not.
func (c *fileCtx) homoglyphs(text string, ln int) bool {
	mixed, reported := false, false
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		folded, changed := foldWord(w)
		if !changed {
			continue
		}
		if hasASCIILetter(w) {
			mixed = true
		}
		if !reported && spoofable[strings.ToLower(folded)] {
			reported, mixed = true, true
			c.add(ruleHomoglyph, ln, w, fmt.Sprintf("%s reads as %q", escapeNonASCII(w), folded))
		}
	}
	return mixed
}

func hasASCIILetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' {
			return true
		}
	}
	return false
}

// foldWord maps look-alikes to Latin; changed is false unless the result is all ASCII and something
// was mapped.
func foldWord(w string) (string, bool) {
	var sb strings.Builder
	changed := false
	for _, r := range w {
		if l, ok := confusables[r]; ok {
			sb.WriteRune(l)
			changed = true
			continue
		}
		if r >= utf8.RuneSelf {
			return "", false
		}
		sb.WriteRune(r)
	}
	return sb.String(), changed
}

func escapeNonASCII(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			sb.WriteRune(r)
		} else {
			fmt.Fprintf(&sb, `\u{%x}`, r)
		}
	}
	return sb.String()
}

// cleanText removes invisible characters and folds look-alikes, as a model or a shell would
// effectively read the text.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if isTag(r) || isZeroWidth(r) || isBidi(r) || r == 0xFEFF {
			return -1
		}
		if l, ok := confusables[r]; ok {
			return l
		}
		return r
	}, s)
}

// flagTags returns the length of a subdivision flag's tag sequence at the start of s (2 to 6 tag
// letters or digits, then U+E007F), or 0.
func flagTags(s string) int {
	n, count := 0, 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		switch {
		case r == 0xE007F:
			if count >= 2 && count <= 6 {
				return n + size
			}
			return 0
		case r >= 0xE0061 && r <= 0xE007A, r >= 0xE0030 && r <= 0xE0039:
			count++
			n += size
		default:
			return 0
		}
	}
	return 0
}
