package scan

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// TestBenignCorpus runs the scanner over ordinary skills: none may produce a finding at Low or
// above. A false positive here is a bug in a rule, not in the corpus.
func TestBenignCorpus(t *testing.T) {
	dirs, err := os.ReadDir("testdata/benign")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 8 {
		t.Fatalf("the benign corpus has %d skills, want at least 8", len(dirs))
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			root, err := os.OpenRoot(filepath.Join("testdata/benign", d.Name()))
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			man, err := LoadManifest(root.FS())
			if err != nil {
				t.Fatalf("manifest: %v", err)
			}
			r, err := Scan(root.FS(), Options{Manifest: man})
			if err != nil {
				t.Fatal(err)
			}
			if r.Files == 0 {
				t.Fatal("nothing scanned")
			}
			if n := r.Count(Low); n > 0 {
				t.Errorf("%d false positives:\n%s", n, strings.Join(ids(r, Low), "\n"))
			}
			t.Logf("%s; %d info findings: %q", r.summary(), len(r.Findings), ids(r, Info))
			if man == nil && !hasRule(r, ruleNoManifest) {
				t.Errorf("a skill without skillrun.yaml should get %s", ruleNoManifest)
			}
		})
	}
}

// rePlaceholder marks what the malicious corpus does not spell out in its files: attack
// endpoints (named only in the rule table), generated secrets and invisible characters.
var rePlaceholder = regexp.MustCompile(`@@(EXFIL|HOOK)(\d+)@@|@@(GITHUB_TOKEN|SECRET|OPENAI_KEY)@@|@@TAG:([^@]*)@@|@@U\+([0-9A-F]{4,5})@@`)

func expandPlaceholders(s string) string {
	return rePlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		g := rePlaceholder.FindStringSubmatch(m)
		switch {
		case g[1] == "EXFIL":
			i, _ := strconv.Atoi(g[2])
			return exfilDomains[i]
		case g[1] == "HOOK":
			i, _ := strconv.Atoi(g[2])
			return chatWebhooks[i]
		case g[3] == "GITHUB_TOKEN":
			return fakeGitHub
		case g[3] == "SECRET":
			return fakeSecret
		case g[3] == "OPENAI_KEY":
			return fakeOpenAI
		case g[4] != "":
			return tag(g[4])
		default:
			n, _ := strconv.ParseInt(g[5], 16, 32)
			return string(rune(n))
		}
	})
}

// loadMalicious reads a skill of the malicious corpus into memory with its placeholders expanded,
// and the rules its "expect" file lists.
func loadMalicious(t testing.TB, dir string) (fstest.MapFS, []string) {
	t.Helper()
	fsys := fstest.MapFS{}
	var expect []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "expect" {
			for _, l := range strings.Split(string(data), "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					expect = append(expect, strings.Fields(l)[0])
				}
			}
			return nil
		}
		if strings.HasSuffix(rel, ".bin") {
			fsys[strings.TrimSuffix(rel, ".bin")] = &fstest.MapFile{Data: data}
			return nil
		}
		fsys[rel] = &fstest.MapFile{Data: []byte(expandPlaceholders(string(data)))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys, expect
}

// TestMaliciousCorpus reproduces the ClawHavoc, Shai-Hulud and s1ngularity patterns of
// threats.md (with documentation hosts and addresses) and checks that the rules named in each
// skill's expect file fire.
func TestMaliciousCorpus(t *testing.T) {
	dirs, err := os.ReadDir("testdata/malicious")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			fsys, expect := loadMalicious(t, filepath.Join("testdata/malicious", d.Name()))
			if len(expect) == 0 {
				t.Fatal("no expect file")
			}
			man, err := LoadManifest(fsys)
			if err != nil {
				t.Fatalf("manifest: %v", err)
			}
			r := scanMap(t, fsys, man)
			for _, id := range expect {
				if rulesByID[id] == nil {
					t.Errorf("expect names unknown rule %s", id)
				} else if !hasRule(r, id) {
					t.Errorf("%s did not fire", id)
				}
			}
			if r.Max() < High {
				t.Errorf("max severity %s, want high or critical", r.Max())
			}
			if t.Failed() {
				t.Logf("findings:\n%s", strings.Join(ids(r, Info), "\n"))
			}
		})
	}
}

// loadApprovable reads a skill of the approvable corpus into memory. A folder named "X.d", where X
// ends in .tar.gz, .tgz or a zip format (.zip, .docx, .xlsx), becomes the archive X of its files,
// so that the archives of the corpus stay reviewable text.
func loadApprovable(t testing.TB, dir string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && strings.HasSuffix(rel, ".d") {
			files := map[string]string{}
			err := filepath.WalkDir(p, func(q string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				data, err := os.ReadFile(q)
				inner, _ := filepath.Rel(p, q)
				files[filepath.ToSlash(inner)] = string(data)
				return err
			})
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(rel, ".d")
			switch {
			case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
				fsys[name] = &fstest.MapFile{Data: tgzOf(files)}
			default:
				fsys[name] = &fstest.MapFile{Data: zipOf(files)}
			}
			return fs.SkipDir
		}
		if d.IsDir() || rel == "expect" {
			return nil
		}
		data, err := os.ReadFile(p)
		fsys[rel] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestApprovableCorpus runs the scanner over skills written in the style of widely used public
// skills (document helpers, a web-app tester with a server helper, an MCP builder, an archive of
// templates, a CLI reference that documents removing the quarantine flag): `skillrun approve`
// must accept every one without --accept-findings, so none may have a high or critical finding.
// Each skill's expect file lists what must still be seen: "unpacked N" (files scanned inside its
// archives) and "RULE SEVERITY FILE" (a finding weighed as documentation, for instance).
func TestApprovableCorpus(t *testing.T) {
	dirs, err := os.ReadDir("testdata/approvable")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 6 {
		t.Fatalf("the approvable corpus has %d skills, want at least 6", len(dirs))
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata/approvable", d.Name())
			fsys := loadApprovable(t, dir)
			man, err := LoadManifest(fsys)
			if err != nil {
				t.Fatalf("manifest: %v", err)
			}
			r := scanMap(t, fsys, man)
			if n := r.Count(High); n > 0 {
				t.Errorf("%d findings would refuse approval:\n%s", n, strings.Join(ids(r, High), "\n"))
			}
			expect, err := os.ReadFile(filepath.Join(dir, "expect"))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(expect), "\n") {
				f := strings.Fields(l)
				switch {
				case len(f) == 0 || strings.HasPrefix(f[0], "#"):
				case f[0] == "unpacked" && len(f) == 2:
					if n, _ := strconv.Atoi(f[1]); r.Unpacked != n {
						t.Errorf("%d files scanned inside archives, want %d", r.Unpacked, n)
					}
				case len(f) == 3:
					sev, err := ParseSeverity(f[1])
					if err != nil {
						t.Fatal(err)
					}
					if got := findingIn(r, f[0], f[2]); got == nil || got.Rule.Severity != sev {
						t.Errorf("want %s at %s in %s, got %+v", f[0], sev, f[2], got)
					}
				default:
					t.Fatalf("bad expect line %q", l)
				}
			}
			t.Logf("%s; below high: %q", r.summary(), ids(r, Info))
		})
	}
}
