package policy

import "testing"

// BenchmarkCompile is the policy's share of every command's overhead.
func BenchmarkCompile(b *testing.B) {
	r := request()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(r); err != nil {
			b.Fatal(err)
		}
	}
}
