package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/signing"
)

// maxSignatureFile bounds what is read from a skill's .skillrun folder.
const maxSignatureFile = 64 << 10

// checkSignature verifies a skill's signed statement against the signers the policy pins for it
// and against the content digest. It returns the signer ("identity fingerprint"), or "" for a
// skill that is unsigned, or signed while the policy pins no signer for it, where no signature is
// required. A signature proves origin, never safety: the digest pin is checked as well.
func checkSignature(pol *policy.DevPolicy, name, source, digest string) (string, error) {
	required := pol.RequiresSignature(name)
	dir := filepath.Join(source, signing.Dir)
	stmt, err := readSmall(filepath.Join(dir, signing.StatementFile))
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			return "", withHints(exitRefused, fmt.Errorf("skill %s is not signed, and your policy requires a signature", name),
				"ask the publisher for a signed version (skillrun sign --key KEY DIR), or set require_signature: false for it in your policy")
		}
		return "", nil
	}
	if err != nil {
		return "", withHints(exitRefused, fmt.Errorf("skill %s: cannot read its statement: %v", name, err))
	}
	var sig []byte
	for _, f := range []string{signing.SSHSigFile, signing.MinisignFile} {
		if sig, err = readSmall(filepath.Join(dir, f)); err == nil {
			break
		}
	}
	if sig == nil {
		return "", withHints(exitRefused, fmt.Errorf("skill %s has a statement but no signature in %s", name, dir))
	}
	pinned := pol.SignersFor(name)
	if len(pinned) == 0 && !required {
		return "", nil // nobody to check it against, and nothing requires it
	}
	var keys []*signing.Key
	for _, sg := range pinned {
		k, err := signing.ParseKey(sg.Identity, sg.Key)
		if err != nil {
			return "", err // the policy parser validated it; only a changed library could get here
		}
		keys = append(keys, k)
	}
	signed, err := signing.Verify(stmt, sig, keys)
	switch {
	case errors.Is(err, signing.ErrUnknownSigner):
		return "", withHints(exitRefused, fmt.Errorf("skill %s: %v, which your policy does not pin", name, err),
			"if you trust this publisher, add the key under signers: in your policy")
	case err != nil:
		return "", withHints(exitRefused, fmt.Errorf("skill %s: invalid signature: %v", name, err),
			"reinstall the skill from its publisher")
	}
	s := signed.Statement
	switch {
	case s.Name != name:
		return "", withHints(exitRefused, fmt.Errorf("skill %s carries a signed statement for another skill (%s)", name, s.Name))
	case s.Digest != digest:
		return "", withHints(exitRefused, fmt.Errorf("skill %s: the signature covers %s, not the approved content %s", name, s.Digest, digest),
			"reinstall the skill from its publisher, or review and approve it again: skillrun approve "+name)
	}
	man, err := readSmall(filepath.Join(source, policy.ManifestFile))
	manDigest := ""
	if err == nil {
		sum := sha256.Sum256(man)
		manDigest = "sha256:" + hex.EncodeToString(sum[:])
	}
	if manDigest != s.ManifestDigest {
		return "", withHints(exitRefused, fmt.Errorf("skill %s: the signature covers another %s", name, policy.ManifestFile))
	}
	return signed.Signer.Identity + " " + signed.Signer.Fingerprint, nil
}

// readSmall reads a regular file (no symlinks) of at most maxSignatureFile bytes.
func readSmall(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSignatureFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSignatureFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, maxSignatureFile)
	}
	return b, nil
}
