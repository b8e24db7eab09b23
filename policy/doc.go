// Package policy compiles what skillrun knows about one invocation into a [Plan]: plain data that
// says exactly which paths the command sees and how, which environment it gets, its network and its
// limits.
//
// # Data flow
//
// The CLI gathers a [Request] (argv, cwd, workspace, the caller's environment and identity), and
// [Compile] turns it, together with the built-in profiles of package profiles and the floor, into a
// Plan (the built-in documents are compiled into Go values at build time: see builtin.go). Package
// sandbox then enforces the Plan and nothing else. Everything here is pure: no syscalls, no cgo,
// no file system access (a test enforces the import rule), so every decision can be tested
// without root and printed by `skillrun plan` before anything runs.
//
// # The floor
//
// The floor document (profiles/floor.yaml) lists secrets that are never readable, persistence
// targets that are never writable and environment variables that are never passed. Compile applies
// it last, after every grant: a path the floor names is masked or re-bound read-only whenever a
// granted mount would expose it, whatever else asked for it.
package policy
