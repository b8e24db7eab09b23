package signing

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"

	"aead.dev/minisign"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// maxSignatureSize bounds a signature file. An armored SSHSIG by an RSA-16384 key is under 6 KiB
// and a minisign signature a few hundred bytes plus its comments.
const maxSignatureSize = 16 << 10

const (
	sshArmorBegin     = "-----BEGIN " + sshsig.PEMType + "-----"
	minisignUntrusted = "untrusted comment: "
	minisignTrusted   = "trusted comment: "
)

// Signed is a statement verified by a pinned key.
type Signed struct {
	Statement *Statement
	// Signer is the pinned key that verified the signature (one of Verify's pinned, not a copy).
	Signer *Key
}

// Verify checks sig over exactly stmtBytes against the pinned keys and returns the parsed
// statement with the first pinned key that verifies it.
//
// sig is an armored SSH signature (namespace Namespace) or a minisign signature file; the format
// is told apart by its first line. Errors: ErrBadSignature when sig is corrupt, truncated, of
// another namespace or hash algorithm, or does not verify stmtBytes with the pinned key it names
// (the statement was changed); ErrUnknownSigner when sig is well formed but by no pinned key (the
// message names the signature's key); ErrUnsupportedKey when sig names a refused kind of key;
// ErrInvalidStatement when the signed bytes are not a valid statement.
//
// The statement is parsed only after the signature verified, so a tampered statement reports a
// bad signature rather than whatever the tampering did to its syntax.
func Verify(stmtBytes, sig []byte, pinned []*Key) (*Signed, error) {
	if len(stmtBytes) > MaxStatementSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidStatement, len(stmtBytes), MaxStatementSize)
	}
	if len(sig) > maxSignatureSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadSignature, len(sig), maxSignatureSize)
	}
	var signer *Key
	var err error
	switch {
	case bytes.HasPrefix(sig, []byte(sshArmorBegin)):
		signer, err = verifySSH(stmtBytes, sig, pinned)
	case bytes.HasPrefix(sig, []byte(minisignUntrusted)):
		signer, err = verifyMinisign(stmtBytes, sig, pinned)
	case len(sig) == 0:
		err = fmt.Errorf("%w: the signature is empty", ErrBadSignature)
	default:
		err = fmt.Errorf("%w: neither an armored SSH signature (%s) nor a minisign signature (%s…)", ErrBadSignature, sshArmorBegin, strings.TrimSpace(minisignUntrusted))
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseStatement(stmtBytes)
	if err != nil {
		return nil, fmt.Errorf("signed by %s, but %w", signer, err)
	}
	return &Signed{Statement: s, Signer: signer}, nil
}

// verifySSH verifies an armored SSHSIG.
func verifySSH(msg, armored []byte, pinned []*Key) (*Key, error) {
	// Exactly one PEM block and nothing else but trailing white space: pem.Decode would skip
	// text around the block, and a signature file with room for extra text invites confusion.
	block, rest := pem.Decode(armored)
	if block == nil || block.Type != sshsig.PEMType {
		return nil, fmt.Errorf("%w: truncated or corrupt SSH signature armor", ErrBadSignature)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: SSH signature armor with headers", ErrBadSignature)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the SSH signature", ErrBadSignature)
	}
	// pem decodes base64 leniently: the unused low bits of the last character are ignored, so
	// several files would carry the same signature. Decode again strictly to keep one.
	body := armored[len(sshArmorBegin):]
	end := bytes.Index(body, []byte("-----END "))
	if end < 0 {
		return nil, fmt.Errorf("%w: truncated or corrupt SSH signature armor", ErrBadSignature)
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(string(body[:end])); err != nil {
		return nil, fmt.Errorf("%w: corrupt SSH signature armor: %v", ErrBadSignature, err)
	}
	sig, err := sshsig.ParseSignature(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: corrupt SSH signature: %v", ErrBadSignature, err)
	}
	if sig.Namespace != Namespace {
		return nil, fmt.Errorf("%w: SSH signature for namespace %q, not %q (sign with ssh-keygen -Y sign -n %s)", ErrBadSignature, sig.Namespace, Namespace, Namespace)
	}
	// ParseSignature accepts only sha256 and sha512, the two SSHSIG defines; check again so that
	// a future library version cannot widen what is accepted here.
	if sig.HashAlgorithm != sshsig.HashSHA512 && sig.HashAlgorithm != sshsig.HashSHA256 {
		return nil, fmt.Errorf("%w: SSH signature with hash algorithm %q", ErrBadSignature, sig.HashAlgorithm)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if err := checkSSHKey(sig.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: signed by %s %s: %v", ErrUnsupportedKey, sig.PublicKey.Type(), fp, err)
	}
	// Security-key signatures carry flags and a counter after the signature; the types accepted
	// here carry nothing, so anything there is corruption.
	if len(sig.Signature.Rest) != 0 {
		return nil, fmt.Errorf("%w: trailing data in the SSH signature blob", ErrBadSignature)
	}
	var candidate *Key
	for _, k := range pinned {
		if k == nil || k.Kind != KindSSH || k.Fingerprint != fp {
			continue
		}
		candidate = k
		if sshsig.Verify(bytes.NewReader(msg), sig, k.ssh, sig.HashAlgorithm, Namespace) == nil {
			return k, nil
		}
	}
	if candidate == nil {
		return nil, fmt.Errorf("%w: signed by %s %s, which is not among the %d pinned signers", ErrUnknownSigner, sig.PublicKey.Type(), fp, len(pinned))
	}
	return nil, fmt.Errorf("%w: the SSH signature by %s does not match the statement: the statement was changed after signing, or the signature is corrupt", ErrBadSignature, candidate)
}

// verifyMinisign verifies a minisign signature file: an untrusted comment line, the signature,
// a trusted comment line and the signature over signature and trusted comment.
func verifyMinisign(msg, sigFile []byte, pinned []*Key) (*Key, error) {
	text := string(sigFile)
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("%w: truncated minisign signature (no final newline)", ErrBadSignature)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 4 {
		return nil, fmt.Errorf("%w: minisign signature with %d lines, not 4", ErrBadSignature, len(lines))
	}
	if !strings.HasPrefix(lines[2], minisignTrusted) {
		return nil, fmt.Errorf("%w: minisign signature without its trusted comment line", ErrBadSignature)
	}
	// The library decodes base64 leniently (see verifySSH); insist on the one canonical encoding.
	for _, i := range []int{1, 3} {
		if _, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(lines[i], "\r")); err != nil {
			return nil, fmt.Errorf("%w: corrupt minisign signature: %v", ErrBadSignature, err)
		}
	}
	var sig minisign.Signature
	if err := sig.UnmarshalText(sigFile); err != nil {
		return nil, fmt.Errorf("%w: corrupt minisign signature: %v", ErrBadSignature, err)
	}
	id := minisignID(sig.KeyID)
	var candidate *Key
	for _, k := range pinned {
		if k == nil || k.Kind != KindMinisign || k.mini.ID() != sig.KeyID {
			continue
		}
		candidate = k
		// Both the prehashed and the legacy algorithm are accepted, as minisign -V does: for a
		// statement of a few hundred bytes the difference is only how the message is fed in.
		if minisign.Verify(k.mini, msg, sigFile) {
			return k, nil
		}
	}
	if candidate == nil {
		// The key ID is a claim of the signature, not proven by it; it is still the only name a
		// publisher and a developer can compare.
		return nil, fmt.Errorf("%w: signed by minisign key ID %s, which is not among the %d pinned signers", ErrUnknownSigner, id, len(pinned))
	}
	return nil, fmt.Errorf("%w: the minisign signature by %s does not match the statement: the statement was changed after signing, or the signature is corrupt", ErrBadSignature, candidate)
}
