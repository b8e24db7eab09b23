package main

import (
	"fmt"
	"io"

	"github.com/skillrun/skillrun/sandbox"
)

// reportGrants says which granted paths do not exist: the folders made inside the workspace for
// the run (or that a run would make, for plan), and the grants skipped, each with its line.
func reportGrants(w io.Writer, notes []sandbox.GrantNote, planOnly, quiet bool) {
	if quiet {
		return
	}
	for _, n := range notes {
		switch {
		case n.Created && planOnly:
			fmt.Fprintf(w, "skillrun: note: %s does not exist yet; a run creates it for the grant at %s\n", n.Path, n.Origin)
		case n.Created:
			fmt.Fprintf(w, "skillrun: note: created %s for the grant at %s (it stays after the run)\n", n.Path, n.Origin)
		default:
			fmt.Fprintf(w, "skillrun: warning: grant of %s skipped (%s): %s\n", n.Path, n.Origin, n.Skipped)
		}
	}
}
