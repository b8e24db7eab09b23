package scan

import "errors"

var (
	// ErrUnknownSeverity is returned by [ParseSeverity] for a name that is not a severity.
	ErrUnknownSeverity = errors.New("unknown severity")
	// ErrOptions reports an [Options] value that cannot bound a scan (a negative limit).
	ErrOptions = errors.New("invalid scan options")
	// ErrRoot reports a skill folder that cannot be scanned at all: its root is missing, unreadable
	// or not a directory. Problems with single files are reported in [Report.Skipped] instead.
	ErrRoot = errors.New("cannot scan skill folder")
)
