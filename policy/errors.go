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
	// ErrModified marks a skill whose content no longer matches its approval.
	ErrModified = errors.New("skill modified since approval")
	// ErrUnapproved marks a skill that was never approved, where the policy refuses those.
	ErrUnapproved = errors.New("skill not approved")
	// ErrFloor marks a policy that grants what the floor never opens, outside unsafe:.
	ErrFloor = errors.New("floor path granted")
	// ErrUnprotectable marks a path the floor must keep unwritable that the sandbox cannot
	// protect (a name that is not valid UTF-8 directly in the workspace).
	ErrUnprotectable = errors.New("cannot protect a path")
	// ErrAttribution marks a command that names two different skills, or an unknown one.
	ErrAttribution = errors.New("skill attribution failed")
)
