// Command skillrun runs an AI agent's or a skill's shell command in a sandbox that gives it exactly
// its granted capabilities: `skillrun [flags] -- CMD [ARGS...]` or `skillrun [flags] -c STRING`.
//
// The same binary is also libcontainer's init and the in-sandbox stage; the stage is C that runs
// before the Go runtime (sandbox/stage), the rest is dispatched on the first argument before the
// CLI sees it.
package main

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter" // namespace setup before the Go runtime

	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/degraded"
	"github.com/skillrun/skillrun/sandbox/trace"
)

func init() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "init":
			// libcontainer re-executes this binary as the container's init; it never returns.
			libcontainer.Init()
		case sandbox.StageArg:
			sandbox.StageMain(os.Args[2:]) // only without the C stage: fails closed
		case sandbox.SweepArg:
			sandbox.SweepMain(os.Args[2:])
		case degraded.ExecArg:
			degraded.ExecMain(os.Args[2:])
		case degraded.Arg:
			degraded.Main(os.Args[2:])
		case sandbox.CoverArg:
			sandbox.CoverMain(os.Args[2:])
		case sandbox.ProbeArg:
			os.Exit(0)
		}
	}
}

func main() {
	trace.Mark("go start")                                             // since this package's variables were set, early in the runtime's start
	code := runCLI(multiCall(os.Args), os.Stdin, os.Stdout, os.Stderr) // multicall.go: skillrun-sh
	trace.Flush()
	os.Exit(code)
}
