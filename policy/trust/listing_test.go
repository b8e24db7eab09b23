package trust

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	hashA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	hashB = "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7"
)

func TestParseListingRoundTrip(t *testing.T) {
	for _, text := range []string{
		"",
		goldenText,
		"file 6 " + hashA + " a\n",
		"file 6 " + hashA + " a \n",             // trailing space in a name
		"exec 6 " + hashA + "  leading space\n", // and a leading one
		"symlink 1 " + hashA + " ünïcødé/名前\n",
		"file 9223372036854775807 " + hashA + " huge\n",
		"file 1 " + hashA + " a\nfile 1 " + hashA + " a-b\nfile 1 " + hashA + " a.b/c\n",
		"file 1 " + hashA + " a-b\nfile 1 " + hashA + " a/c\n", // "a" is a directory here
	} {
		l, err := ParseListing([]byte(text))
		if err != nil {
			t.Errorf("ParseListing(%q): %v", text, err)
			continue
		}
		if got := string(l.Text()); got != text {
			t.Errorf("round trip of %q gave %q", text, got)
		}
	}
	l, err := ParseListing([]byte(goldenText))
	if err != nil {
		t.Fatal(err)
	}
	if l.Digest() != goldenDigest || l.Files() != 7 {
		t.Errorf("parsed golden listing: %s, %d files", l.Digest(), l.Files())
	}
	want := Entry{Path: "bin/run.sh", Type: Exec, Size: 18, SHA256: "299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba"}
	if l.Entries[2] != want {
		t.Errorf("entry 2 = %+v, want %+v", l.Entries[2], want)
	}
}

func TestParseListingRejects(t *testing.T) {
	line := func(typ, size, hash, path string) string { return typ + " " + size + " " + hash + " " + path + "\n" }
	for _, tc := range []struct {
		name, text string
	}{
		{"no final newline", strings.TrimSuffix(line("file", "6", hashA, "a"), "\n")},
		{"blank line", "\n"},
		{"blank line after entry", line("file", "6", hashA, "a") + "\n"},
		{"CRLF", strings.TrimSuffix(line("file", "6", hashA, "a"), "\n") + "\r\n"},
		{"unknown type", line("dir", "6", hashA, "a")},
		{"executable spelled out", line("executable", "6", hashA, "a")},
		{"type case", line("File", "6", hashA, "a")},
		{"negative size", line("file", "-6", hashA, "a")},
		{"plus size", line("file", "+6", hashA, "a")},
		{"leading zero", line("file", "06", hashA, "a")},
		{"empty size", line("file", "", hashA, "a")},
		{"hex size", line("file", "0x6", hashA, "a")},
		{"underscore size", line("file", "1_0", hashA, "a")},
		{"size overflow", line("file", "9223372036854775808", hashA, "a")},
		{"uppercase hex", line("file", "6", strings.ToUpper(hashA), "a")},
		{"short hash", line("file", "6", hashA[:63], "a")},
		{"long hash", line("file", "6", hashA+"0", "a")},
		{"non-hex hash", line("file", "6", "g"+hashA[1:], "a")},
		{"double space", "file  6 " + hashA + " a\n"},
		{"tab separator", "file\t6 " + hashA + " a\n"},
		{"missing path", "file 6 " + hashA + "\n"},
		{"empty path", line("file", "6", hashA, "")},
		{"leading dot slash", line("file", "6", hashA, "./a")},
		{"absolute", line("file", "6", hashA, "/a")},
		{"dot", line("file", "6", hashA, ".")},
		{"dotdot", line("file", "6", hashA, "../a")},
		{"inner dotdot", line("file", "6", hashA, "a/../b")},
		{"inner dot", line("file", "6", hashA, "a/./b")},
		{"double slash", line("file", "6", hashA, "a//b")},
		{"trailing slash", line("file", "6", hashA, "a/")},
		{"control char", line("file", "6", hashA, "a\x01")},
		{"carriage return", line("file", "6", hashA, "a\rb")},
		{"bidi", line("file", "6", hashA, "a\u202e")},
		{"invalid UTF-8", line("file", "6", hashA, "a\xff")},
		{"unsorted", line("file", "6", hashA, "b") + line("file", "6", hashA, "a")},
		{"unsorted by bytes", line("file", "6", hashA, "a/c") + line("file", "6", hashA, "a-b")},
		{"duplicate", line("file", "6", hashA, "a") + line("exec", "6", hashA, "a")},
		{"entry below a file", line("file", "6", hashA, "a") + line("file", "6", hashA, "a/b")},
		{"entry below a symlink, not adjacent", line("symlink", "6", hashA, "a") + line("file", "6", hashA, "a-b") + line("file", "6", hashA, "a/b/c")},
		{"empty file with wrong hash", line("file", "0", hashA, "a")},
		{"empty symlink", line("symlink", "0", emptySHA256, "a")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseListing([]byte(tc.text))
			if !errors.Is(err, ErrInvalidListing) {
				t.Errorf("ParseListing(%q) = %+v, %v; want ErrInvalidListing", tc.text, l, err)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	e := func(p string, typ EntryType, size int64, h string) Entry {
		return Entry{Path: p, Type: typ, Size: size, SHA256: h}
	}
	approved := &Listing{Entries: []Entry{
		e("a", File, 1, hashA), e("b", File, 1, hashA), e("c", File, 1, hashA), e("d", Symlink, 1, hashA),
		e("e", File, 1, hashA), e("gone/1", File, 1, hashA), e("gone/2", File, 1, hashA),
	}}
	now := &Listing{Entries: []Entry{
		e("a", File, 1, hashA), // same
		e("b", File, 1, hashB), // content
		e("c", Exec, 1, hashA), // x bit
		e("d", Symlink, 1, hashB),
		e("e", File, 2, hashA),
		e("new", File, 0, emptySHA256), e("z/new", File, 0, emptySHA256),
	}}
	want := Change{Changed: []string{"b", "c", "d", "e"}, Added: []string{"new", "z/new"}, Removed: []string{"gone/1", "gone/2"}}
	if got := Diff(approved, now); !reflect.DeepEqual(got, want) || got.Empty() {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
	if got := Diff(now, approved); !reflect.DeepEqual(got.Added, want.Removed) || !reflect.DeepEqual(got.Removed, want.Added) {
		t.Errorf("reverse Diff = %+v", got)
	}
	if c := Diff(approved, approved); !c.Empty() {
		t.Errorf("Diff with itself = %+v", c)
	}
	if c := Diff(nil, nil); !c.Empty() {
		t.Errorf("Diff(nil, nil) = %+v", c)
	}
	if c := Diff(nil, now); len(c.Added) != len(now.Entries) || len(c.Removed)+len(c.Changed) != 0 {
		t.Errorf("Diff(nil, now) = %+v", c)
	}
	if c := Diff(approved, &Listing{}); len(c.Removed) != len(approved.Entries) {
		t.Errorf("Diff(approved, empty) = %+v", c)
	}
}

func TestNilListing(t *testing.T) {
	var l *Listing
	if l.Files() != 0 || len(l.Text()) != 0 {
		t.Error("nil listing is not empty")
	}
	if l.Digest() != (&Listing{}).Digest() || l.Digest() != "sha256:"+emptySHA256 {
		t.Errorf("nil digest %s", l.Digest())
	}
}
