// Command gohelper summarises the Go packages under a folder.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type pkg struct {
	Dir       string   `json:"dir"`
	Files     []string `json:"files"`
	Tests     []string `json:"tests"`
	Untested  []string `json:"untested"`
	CodeLines int      `json:"code_lines"`
}

func countCode(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "//") {
			n++
		}
	}
	return n, sc.Err()
}

func main() {
	root := flag.String("root", ".", "module root")
	out := flag.String("out", "out", "report folder")
	flag.Parse()

	pkgs := map[string]*pkg{}
	err := filepath.WalkDir(*root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "vendor" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != *root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		dir := filepath.Dir(p)
		if pkgs[dir] == nil {
			pkgs[dir] = &pkg{Dir: dir}
		}
		pk := pkgs[dir]
		if strings.HasSuffix(p, "_test.go") {
			pk.Tests = append(pk.Tests, filepath.Base(p))
			return nil
		}
		n, err := countCode(p)
		if err != nil {
			return err
		}
		pk.Files = append(pk.Files, filepath.Base(p))
		pk.CodeLines += n
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gohelper:", err)
		os.Exit(1)
	}
	var list []*pkg
	for _, p := range pkgs {
		tested := map[string]bool{}
		for _, t := range p.Tests {
			tested[strings.TrimSuffix(t, "_test.go")+".go"] = true
		}
		for _, f := range p.Files {
			if !tested[f] {
				p.Untested = append(p.Untested, f)
			}
		}
		list = append(list, p)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Dir < list[j].Dir })
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gohelper:", err)
		os.Exit(1)
	}
	data, _ := json.MarshalIndent(list, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "report.json"), data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gohelper:", err)
		os.Exit(1)
	}
	fmt.Printf("%d packages\n", len(list))
}
