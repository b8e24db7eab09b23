// Package trust computes the content digest that pins an approved skill folder.
//
// [Hash] walks a folder given as an [io/fs.FS] without following symlinks and returns a [Listing]:
// one [Entry] per regular file or symlink, sorted by path, each with its type (file, exec or
// symlink), size and SHA-256 (of the content, or of the link target string). Directories are walked
// but not listed, so adding an empty directory or touching mtimes never changes the digest, while
// one changed byte, an x bit, a rename, a new empty file or a retargeted symlink always does.
// [Listing.Digest] is the SHA-256 of [Listing.Text], the canonical one-line-per-entry form that
// `skillrun approve` stores next to the lock and [ParseListing] reads back; [Diff] names what
// changed between the approved listing and today's.
//
// Hash refuses folders that could not be pinned or run safely ([ErrUnsafeEntry]): device files,
// FIFOs, sockets, symlinks that resolve outside the folder (also through chains of in-folder
// links), and names with control, bidi or invisible characters that would let a listing or a
// review screen lie about what a file is called. Bounds on sizes and entry counts ([ErrTooLarge])
// keep a hostile folder from exhausting memory or time, since the folder is re-hashed at every run.
//
// Typical use, at approval and again before every run:
//
//	root, err := os.OpenRoot(dir) // or os.DirFS(dir)
//	...
//	l, err := trust.Hash(root.FS(), trust.Options{Visit: copyIntoSnapshot})
//	if l.Digest() != locked.Digest { ... refuse, report trust.Diff(approvedListing, l) ... }
//
// Options.Visit receives exactly the bytes that were hashed, in path order, so the caller can build
// the read-only snapshot the skill runs from out of what was verified rather than re-reading a
// folder that may have changed since.
//
// The package is pure: it reads only through the fs.FS it is given and imports nothing that
// touches the system itself (a test enforces the import rule). An FS from (*os.Root).FS is the
// better choice where available: it cannot be steered outside the folder even if an entry is
// swapped for a symlink while the walk runs, whereas os.DirFS would follow such a link on Open
// (the digest then no longer matches, so the swap is caught, but the bytes were read).
package trust
