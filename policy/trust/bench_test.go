package trust

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkHash measures a full re-hash, as done before every run of a skill (files in the page
// cache, as they are when a skill runs repeatedly).
func BenchmarkHash(b *testing.B) {
	for _, bc := range []struct {
		name  string
		files int
		total int
	}{
		{"100files-2MB", 100, 2 << 20},
		{"2000files-50MB", 2000, 50 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			root := b.TempDir()
			rng := rand.New(rand.NewPCG(1, 2))
			buf := make([]byte, bc.total/bc.files)
			for i := range bc.files {
				for j := range buf {
					buf[j] = byte(rng.Uint32())
				}
				p := filepath.Join(root, fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f%04d", i))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(p, buf, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			fsys := os.DirFS(root)
			b.SetBytes(int64(bc.total))
			b.ResetTimer()
			for b.Loop() {
				l, err := Hash(fsys, Options{})
				if err != nil || l.Files() != bc.files {
					b.Fatal(err)
				}
			}
		})
	}
}
