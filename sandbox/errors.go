package sandbox

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns wraps one of these, so the CLI can choose
// its exit code and hints with errors.Is.
var (
	// ErrUnsupported marks a protection the plan needs that this kernel or user cannot provide.
	ErrUnsupported = errors.New("required protection unavailable")
	// ErrLandlock marks a kernel whose Landlock cannot enforce the plan (it wraps ErrUnsupported).
	ErrLandlock = fmt.Errorf("%w: landlock", ErrUnsupported)
	// ErrUserNamespace marks an unprivileged user who may not create the user namespace the
	// sandbox is built in (it wraps ErrUnsupported); degraded.Run (package
	// sandbox/degraded) is the policy's alternative.
	ErrUserNamespace = fmt.Errorf("%w: user namespaces", ErrUnsupported)
	// ErrLinkedGrant marks a granted path that passes through a symlink in a tree sandboxes can
	// write: it is refused rather than followed.
	ErrLinkedGrant = errors.New("granted path is a symlink")
	// ErrGrantFolder marks a granted folder inside the workspace that cannot be created: a file
	// stands where a folder of its path should be, or the caller may not create it.
	ErrGrantFolder = errors.New("granted folder cannot be created")
	// ErrSetup marks a failure to build or start the sandbox.
	ErrSetup = errors.New("sandbox setup failed")
	// ErrState marks an unusable state directory.
	ErrState = errors.New("state directory unusable")
	// ErrIntegrity marks a verified folder whose content no longer matched its digest when the
	// sandbox copied it: it changed after it was checked, and nothing ran.
	ErrIntegrity = errors.New("content changed after verification")
)
