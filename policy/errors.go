package policy

import "errors"

// Sentinel errors; every error Compile and the parsers return wraps one of these.
var (
	// ErrInvalid marks a malformed profile, manifest or policy document.
	ErrInvalid = errors.New("invalid document")
	// ErrWorkspace marks a workspace that may not be used (/, a system directory, skillrun's own
	// folders, a relative path).
	ErrWorkspace = errors.New("workspace refused")
	// ErrCwd marks a working directory that would not be visible inside the sandbox.
	ErrCwd = errors.New("working directory not visible in the sandbox")
	// ErrRequest marks an incomplete request (no command, no home, …).
	ErrRequest = errors.New("invalid request")
	// ErrVariable marks an unknown or unset ${VARIABLE} in a path.
	ErrVariable = errors.New("unknown variable")
)
