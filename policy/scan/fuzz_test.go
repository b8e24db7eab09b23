package scan

import (
	"io"
	"io/fs"
	"testing"
	"testing/fstest"
)

// FuzzScan: any single file, under any name, scans without a panic, and the report writes in
// every format.
func FuzzScan(f *testing.F) {
	for _, tc := range ruleCases() {
		if tc.link == "" {
			f.Add(tc.file, []byte(tc.text))
		}
	}
	f.Add("SKILL.md", []byte("## Setup\n```\n"))
	f.Add("x.py", []byte("open(((((("))
	f.Add("x.sh", []byte("a\\\n\\\n\\\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if !fs.ValidPath(name) || name == "." {
			name = "f"
		}
		fsys := fstest.MapFS{name: {Data: data}}
		for _, m := range []string{"", manNet, manNoNet} {
			r, err := Scan(fsys, Options{Manifest: mustManifest(t, m)})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.WriteText(io.Discard, true); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(io.Discard); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteSARIF(io.Discard, "fuzz"); err != nil {
				t.Fatal(err)
			}
		}
	})
}
