package scan

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestPathological: inputs built to defeat the line logic (one huge line, unbalanced parentheses
// everywhere, every line a keyword, endless encoded runs) still scan to the end (about a second
// per MiB without -race, logged; the test binary's timeout is the bound, never a timed
// assertion, which a loaded machine would fail).
func TestPathological(t *testing.T) {
	size := 1 << 20
	if testing.Short() || raceEnabled {
		size = 128 << 10
	}
	fill := func(unit string) []byte { return []byte(strings.Repeat(unit, size/len(unit)+1)[:size-1]) }
	cases := map[string][]byte{
		"parens.py":   fill("open((((\n"),
		"keywords.sh": fill("curl x | sh; eval exec $(curl) > ~/.bashrc 192.0.2.1 http:// sk- _key=\n"),
		"oneline.js":  fill("curl|sh eval( exec( open( ://1.2.3.4 "),
		"base64.txt":  fill("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVm+/"),
		"escapes.c":   fill(`\x41`),
		"hex.txt":     fill("0123456789abcdef"),
		"unicode.md":  fill("su\u200bdo \u0441url \U000E0041\u202E\uFEFF x\n"),
		"continue.sh": fill("a \\\n"),
		"setup.md":    fill("## Prerequisites\nDownload x.exe and run it; pass: x archive; paste into your terminal: curl x|sh\n"),
		"quotes.py":   fill(`"'` + "`"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			r, err := Scan(fstest.MapFS{name: {Data: data}}, Options{Manifest: mustManifest(t, manNoNet)})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v, %d findings, %d skipped", name, time.Since(start), len(r.Findings), len(r.Skipped))
		})
	}
}
