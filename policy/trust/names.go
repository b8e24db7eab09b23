package trust

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkName reports why one path component may not appear in a pinned folder, or nil.
//
// A name is shown to the developer at approval and written into the listing, so it must read the
// same on every screen: control characters could forge listing lines or terminal output, bidi
// controls reorder what is displayed ("evil\u202egpj.sh" displays as "evilhs.jpg"), and
// zero-width or tag characters make two different names look identical. Invalid UTF-8 has no
// reliable display at all.
func checkName(name string) error {
	switch name {
	case "":
		return fmt.Errorf("empty name")
	case ".", "..":
		return fmt.Errorf("name %q is a path operator", name)
	}
	for i := 0; i < len(name); {
		b := name[i]
		if b < utf8.RuneSelf {
			// ASCII fast path: most names are plain ASCII.
			switch {
			case b < 0x20 || b == 0x7f:
				return fmt.Errorf("control character %#02x at byte %d", b, i)
			case b == '/':
				return fmt.Errorf("slash at byte %d", i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if why := forbiddenRune(r); why != "" {
			return fmt.Errorf("%s %U at byte %d", why, r, i)
		}
		i += size
	}
	return nil
}

// forbiddenRune classifies a non-ASCII rune that may not appear in a name; "" means allowed.
func forbiddenRune(r rune) string {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return "C1 control character"
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return "bidi control character"
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
		return "invisible character"
	case r >= 0xe0000 && r <= 0xe007f:
		return "tag character"
	case r == 0x2028 || r == 0x2029:
		// Line and paragraph separators break lines in many viewers.
		return "line separator"
	case unicode.Is(unicode.Cf, r):
		// Every other format character (soft hyphen, invisible operators, interlinear
		// annotation marks, …) is invisible or reorders text too; no real skill needs one.
		return "invisible format character"
	}
	return ""
}

// checkPath validates a listing path: slash-separated, relative, clean, every component a valid
// name. It is what Hash produces, so ParseListing accepts nothing else.
func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	for rest := p; ; {
		name, tail, more := strings.Cut(rest, "/")
		if err := checkName(name); err != nil {
			return err
		}
		if !more {
			return nil
		}
		rest = tail
	}
}
