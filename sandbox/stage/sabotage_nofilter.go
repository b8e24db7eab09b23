//go:build stagesabotage_nofilter

package stage

// A sabotage build for test/sabotage_test.go only: the stage starts the command without its
// seccomp filter, so the test can prove the escape battery notices. A release build never sets
// the tag, and the C code it enables is not compiled without it.

// #cgo CFLAGS: -DSKILLRUN_STAGE_SABOTAGE_NOFILTER
import "C"
