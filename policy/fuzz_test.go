package policy

import (
	"strings"
	"testing"
)

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("version: 1\nname: x\nfilesystem:\n  read: [/a]\n"))
	f.Add([]byte("version: 1\nname: x\nenv: {set: {A: b}}\nlimits: {timeout: 2m}\n"))
	f.Add([]byte("{{{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("f.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("a profile returned with an error")
			}
			return
		}
		if p.Version != 1 || p.Name == "" {
			t.Fatalf("accepted an invalid profile: %+v", p)
		}
		for _, list := range [][]string{p.Filesystem.Read, p.Filesystem.Write, p.Filesystem.Exec} {
			for _, pth := range list {
				if strings.Contains(pth, "/../") || strings.HasSuffix(pth, "/..") {
					t.Fatalf("accepted a path with ..: %q", pth)
				}
			}
		}
	})
}
