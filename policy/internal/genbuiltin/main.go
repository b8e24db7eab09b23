// Command genbuiltin writes policy/builtin_gen.go: the built-in profiles and the floor, parsed
// from profiles/*.yaml, as Go values, so that no run parses them. Run it through go generate,
// which builds it with -tags profilegen (the YAML parsed at run time, whatever state the generated
// file is in):
//
//	go generate ./policy
package main

import (
	"flag"
	"fmt"
	"go/format"
	"os"

	"github.com/skillrun/skillrun/policy"
)

func main() {
	out := flag.String("o", "builtin_gen.go", "the file to write")
	flag.Parse()
	src, err := policy.GenerateBuiltins()
	if err == nil {
		src, err = format.Source(src)
	}
	if err == nil {
		err = os.WriteFile(*out, src, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "genbuiltin: error: %v\n", err)
		os.Exit(1)
	}
}
