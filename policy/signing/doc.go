// Package signing creates and verifies a publisher's signed statement about a skill folder.
//
// A statement ([Statement]) names a skill and pins its content digest (policy/trust) and the
// digest of its skillrun.yaml. The publisher signs the statement's exact bytes either with an SSH
// key, producing the armored SSHSIG format of `ssh-keygen -Y sign -n skillrun`, or with a minisign
// key, producing a .minisig file. Both live in [Dir] inside the skill folder, which the digest
// skips, so writing them does not change the digest they name.
//
// Verification ([Verify]) answers one question: did one of the signers the developer pinned sign
// exactly these statement bytes? It says which pinned [Key] did, so a caller can refuse a signer
// change between versions. It does not compare the statement with the folder: the caller checks
// that Statement.Digest equals the folder's digest and Statement.Name the skill's name. A valid
// signature proves origin, never safety; it never replaces the digest pin of the lock.
//
// The package is pure: callers read and write the files and pass bytes, so everything here can be
// fuzzed and tested without a file system, and nothing in it touches the system. Inputs are
// bounded in size before any parsing or hashing, because statements and signatures come from the
// skill folder, i.e. from whoever published the skill.
//
// Errors wrap one of the sentinels ([ErrBadSignature], [ErrUnknownSigner], [ErrUnsupportedKey],
// [ErrPassphrase], [ErrInvalidStatement]) so that callers can map them to exit codes and hints
// with errors.Is, while the message says what exactly was wrong.
package signing

import "errors"

// Where the statement and its signature live inside a skill folder, and the SSHSIG namespace.
const (
	// Dir is the folder, at the skill folder's root, that holds the statement and its signature.
	// policy/trust leaves it out of the digest.
	Dir = ".skillrun"
	// StatementFile is the statement's file name inside Dir.
	StatementFile = "statement.json"
	// SSHSigFile is the armored SSH signature of the statement (namespace [Namespace]).
	SSHSigFile = "statement.json.sig"
	// MinisignFile is the minisign signature of the statement.
	MinisignFile = "statement.json.minisig"
	// Namespace is the SSHSIG namespace. SSH signatures are bound to a namespace so that a
	// signature made for another purpose (git commits use "git", files "file") can never be
	// replayed as a skill statement, and the reverse.
	Namespace = "skillrun"
)

// Key kinds.
const (
	KindSSH      = "ssh"
	KindMinisign = "minisign"
)

// Sentinel errors. Every error returned by this package wraps exactly one of them.
var (
	// ErrBadSignature: the signature is corrupt, truncated, of an unknown format, made for another
	// namespace or with an unsupported hash, or does not verify the statement bytes (which then
	// were changed after signing).
	ErrBadSignature = errors.New("bad signature")
	// ErrUnknownSigner: the signature is well formed but made by a key that is not pinned.
	ErrUnknownSigner = errors.New("signature by an unpinned key")
	// ErrUnsupportedKey: a key that cannot be used, because it is malformed, of a type that is
	// refused (DSA, RSA under 2048 bits, security keys, certificates), or not a key at all.
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrPassphrase: the private key is encrypted and the passphrase is missing or wrong.
	ErrPassphrase = errors.New("missing or wrong passphrase")
	// ErrInvalidStatement: the statement is not a valid, canonical statement.
	ErrInvalidStatement = errors.New("invalid statement")
)
