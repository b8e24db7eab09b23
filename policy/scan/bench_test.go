package scan

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/skillrun/skillrun/policy"
)

// benignSkills loads the benign corpus into memory, one MapFS per skill.
func benignSkills(b *testing.B) []fstest.MapFS { return benignSkillsT(b) }

func benignSkillsT(b testing.TB) []fstest.MapFS {
	b.Helper()
	dirs, err := os.ReadDir("testdata/benign")
	if err != nil {
		b.Fatal(err)
	}
	var out []fstest.MapFS
	for _, d := range dirs {
		m := fstest.MapFS{}
		root := filepath.Join("testdata/benign", d.Name())
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// bigSkill is a 2 MB skill: every file of the benign corpus under its own folder, plus large
// generated sources and documents built from the corpus's code and prose (a vendored library, a
// long reference), about a hundred files in all.
func bigSkill(b testing.TB, skills []fstest.MapFS) fstest.MapFS {
	big := fstest.MapFS{"skillrun.yaml": {Data: []byte(manNet)}}
	total := 0
	var code, doc strings.Builder
	for i, s := range skills {
		for name, f := range s {
			if name == "skillrun.yaml" {
				continue
			}
			big[fmt.Sprintf("part%d/%s", i, name)] = f
			total += len(f.Data)
			switch path.Ext(name) {
			case ".py", ".js", ".go", ".sh":
				code.Write(f.Data)
			case ".md":
				doc.Write(f.Data)
			}
		}
	}
	c, d := code.String(), doc.String()
	for len(c) < 64<<10 {
		c += code.String()
	}
	for len(d) < 64<<10 {
		d += doc.String()
	}
	for i := 0; total < 2<<20; i++ {
		big[fmt.Sprintf("vendor/module%d.py", i)] = &fstest.MapFile{Data: []byte(c)}
		big[fmt.Sprintf("reference/guide%d.md", i)] = &fstest.MapFile{Data: []byte(d)}
		total += len(c) + len(d)
	}
	return big
}

func BenchmarkScan(b *testing.B) {
	skills := benignSkills(b)
	b.Run("2MB-skill", func(b *testing.B) {
		big := bigSkill(b, skills)
		man, err := policy.ParseManifest("skillrun.yaml", []byte(manNet))
		if err != nil {
			b.Fatal(err)
		}
		var r *Report
		b.ResetTimer()
		for b.Loop() {
			r, err = Scan(big, Options{Manifest: man})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(r.Bytes))
		b.ReportMetric(float64(r.Files), "files")
	})
	b.Run("100-skills", func(b *testing.B) {
		set := make([]fstest.MapFS, 100)
		mans := make([]*policy.Manifest, 100)
		for i := range set {
			set[i] = skills[i%len(skills)]
			m, err := LoadManifest(set[i])
			if err != nil {
				b.Fatal(err)
			}
			mans[i] = m
		}
		b.ResetTimer()
		for b.Loop() {
			for i, s := range set {
				if _, err := Scan(s, Options{Manifest: mans[i]}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/100, "µs/skill")
	})
}
