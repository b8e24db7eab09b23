package trust

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"SKILL.md", true},
		{"a b", true},
		{" ", true},
		{"...", true},
		{".hidden", true},
		{"ünïcødé", true},
		{"名前", true},
		{"emoji 🙂", true},
		{"\u00a0nbsp", true}, // visible as a space, and not a format character
		{"", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a\x00", false},
		{"\x1f", false},
		{"\x7f", false},
		{"\u0080", false},
		{"\u009f", false},
		{"\u00ad soft hyphen", false},
		{"\u2028", false},
		{"\u2029", false},
		{"\u2064", false},
		{"\U000E0000", false},
		{"\U000E0001", false},
		{"\xc0\x80", false}, // overlong NUL
		{"\xed\xa0\x80", false},
		{"\xf4\x90\x80\x80", false}, // beyond U+10FFFF
	} {
		if err := checkName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// nameOK is an independent statement of the naming rule, for the fuzz target to check against.
func nameOK(s string) bool {
	if s == "" || s == "." || s == ".." || strings.Contains(s, "/") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r), // C0, DEL, C1
			unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp),
			r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069,
			0x200b <= r && r <= 0x200d, r == 0x2060, r == 0xfeff,
			0xe0000 <= r && r <= 0xe007f:
			return false
		}
	}
	return true
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"SKILL.md", "a b", "", ".", "..", "a/b", "\x00", "\u202e", "\U000E0041", "\xff", "名前", "\u00ad"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := checkName(name)
		if (err == nil) != nameOK(name) {
			t.Fatalf("checkName(%q) = %v, reference says ok=%v", name, err, nameOK(name))
		}
		if err != nil {
			return
		}
		// A valid name is a valid path, and survives a listing round trip.
		text := "file 0 " + emptySHA256 + " " + name + "\n"
		l, err := ParseListing([]byte(text))
		if err != nil {
			t.Fatalf("valid name %q rejected in a listing: %v", name, err)
		}
		if string(l.Text()) != text || l.Entries[0].Path != name {
			t.Fatalf("round trip of %q changed it", name)
		}
		if err := checkPath(name + "/" + name); err != nil {
			t.Fatalf("checkPath(%q/%q): %v", name, name, err)
		}
	})
}

func FuzzParseListing(f *testing.F) {
	f.Add([]byte(goldenText))
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte("file 0 " + emptySHA256 + " a\n"))
	f.Add([]byte("symlink 3 " + hashA + " a/b c\nexec 12 " + hashB + " a/b d\n"))
	f.Add([]byte("file 01 " + hashA + " a\n"))
	f.Add([]byte("file 1 " + hashA + " a\nfile 1 " + hashA + " a/b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseListing(data)
		if err != nil {
			if l != nil {
				t.Fatal("listing returned with an error")
			}
			return
		}
		// Accepted text is canonical: Text reproduces it byte for byte.
		if text := l.Text(); !bytes.Equal(text, data) {
			t.Fatalf("round trip:\n%q\nbecame\n%q", data, text)
		}
		for i, e := range l.Entries {
			if checkPath(e.Path) != nil || (i > 0 && l.Entries[i-1].Path >= e.Path) || e.Size < 0 || len(e.SHA256) != 64 {
				t.Fatalf("accepted a bad entry %+v", e)
			}
		}
		if !Diff(l, l).Empty() {
			t.Fatal("listing differs from itself")
		}
	})
}
