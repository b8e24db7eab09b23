package stage

// The stage itself is stage.c, compiled into every binary that imports this package; its
// constructor runs before the Go runtime and acts only when argv[1] is [Arg].

// #cgo CFLAGS: -Wall -Wextra -Werror -O2 -D_FORTIFY_SOURCE=2
import "C"
