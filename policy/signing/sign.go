package signing

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// maxPrivateKeySize bounds a private key file; an RSA-16384 OpenSSH key is about 12 KiB.
const maxPrivateKeySize = 64 << 10

// SignSSH signs stmtBytes, which must be a valid statement, with an OpenSSH private key (the
// PEM "OPENSSH PRIVATE KEY" that ssh-keygen writes; the older PEM formats x/crypto reads work
// too) and returns the armored SSH signature for SSHSigFile. The output is what
// `ssh-keygen -Y sign -n skillrun` produces and `ssh-keygen -Y verify -n skillrun` accepts:
// SHA-512 message hash, and rsa-sha2-512 for RSA keys.
//
// passphrase may be nil for an unencrypted key; for an encrypted one a missing or wrong
// passphrase returns ErrPassphrase. Refused key types return ErrUnsupportedKey.
func SignSSH(stmtBytes, privateKeyPEM, passphrase []byte) ([]byte, error) {
	if _, err := ParseStatement(stmtBytes); err != nil {
		return nil, fmt.Errorf("refusing to sign: %w", err)
	}
	if len(privateKeyPEM) > maxPrivateKeySize {
		return nil, fmt.Errorf("%w: private key file of %d bytes, more than %d", ErrUnsupportedKey, len(privateKeyPEM), maxPrivateKeySize)
	}
	signer, err := ssh.ParsePrivateKey(privateKeyPEM)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: the SSH private key is encrypted; give its passphrase", ErrPassphrase)
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(privateKeyPEM, passphrase)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("%w: wrong passphrase for the SSH private key", ErrPassphrase)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not a usable SSH private key: %v", ErrUnsupportedKey, err)
	}
	pub := signer.PublicKey()
	if err := checkSSHKey(pub); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	sig, err := sshsig.Sign(bytes.NewReader(stmtBytes), signer, sshsig.HashSHA512, Namespace)
	if err != nil {
		return nil, fmt.Errorf("signing with %s %s: %w", pub.Type(), ssh.FingerprintSHA256(pub), err)
	}
	armored := sshsig.Armor(sig)
	// Check the result as a verifier will: a corrupt key file (private and public halves that do
	// not match) would otherwise publish a signature nobody can verify.
	self := &Key{Kind: KindSSH, Identity: "signing key", Fingerprint: ssh.FingerprintSHA256(pub), algo: pub.Type(), ssh: pub}
	if _, err := Verify(stmtBytes, armored, []*Key{self}); err != nil {
		return nil, fmt.Errorf("%w: the new signature does not verify with the key's own public key (corrupt key file?): %v", ErrUnsupportedKey, err)
	}
	return armored, nil
}

// Layout of a minisign secret key, after base64: algorithm "Ed", KDF ("Sc" for scrypt or two zero
// bytes for none), checksum algorithm "B2", 32 bytes of salt, scrypt ops and memory limits, then
// the (encrypted) key ID, key and checksum.
const (
	minisignSecretKeySize = 158
	minisignKDFNone       = 0x0000
	minisignKDFScrypt     = 0x6353 // "Sc"
	minisignChecksumB2    = 0x3242 // "B2"
	// The minisign tool writes libsodium's "sensitive" limits; the library refuses more.
	maxScryptOps = 0x2000000
	maxScryptMem = 0x40000000
)

// SignMinisign signs stmtBytes, which must be a valid statement, with a minisign secret key file's
// bytes (encrypted with password, or unencrypted as written by minisign -G -W, then password is
// ignored) and returns the signature file for MinisignFile, in the prehashed format that
// `minisign -S` writes and `minisign -V` checks. A missing or wrong password returns
// ErrPassphrase.
func SignMinisign(stmtBytes, privateKey []byte, password string) ([]byte, error) {
	if _, err := ParseStatement(stmtBytes); err != nil {
		return nil, fmt.Errorf("refusing to sign: %w", err)
	}
	priv, err := parseMinisignSecretKey(privateKey, password)
	if err != nil {
		return nil, err
	}
	r := minisign.NewReader(bytes.NewReader(stmtBytes))
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	// The same comments as the minisign tool. The trusted comment is signed but not interpreted
	// by Verify: the statement is what counts.
	trusted := fmt.Sprintf("timestamp:%d\tfile:%s\thashed", time.Now().Unix(), StatementFile)
	sig := r.SignWithComments(priv, trusted, "signature from minisign secret key")
	pub, ok := priv.Public().(minisign.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: minisign private key without a public key", ErrUnsupportedKey)
	}
	self := &Key{Kind: KindMinisign, Identity: "signing key", Fingerprint: minisignID(pub.ID()), algo: "minisign", mini: pub}
	if _, err := Verify(stmtBytes, sig, []*Key{self}); err != nil {
		return nil, fmt.Errorf("%w: the new signature does not verify with the key's own public key (corrupt key file?): %v", ErrUnsupportedKey, err)
	}
	return sig, nil
}

// parseMinisignSecretKey checks the secret key's layout itself before handing it to the library,
// whose decryption reports every problem as "decryption failed": a corrupt or foreign file must
// not be reported as a wrong password.
func parseMinisignSecretKey(file []byte, password string) (minisign.PrivateKey, error) {
	var none minisign.PrivateKey
	if len(file) > maxPrivateKeySize {
		return none, fmt.Errorf("%w: minisign secret key file of %d bytes, more than %d", ErrUnsupportedKey, len(file), maxPrivateKeySize)
	}
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	if len(lines) == 2 && strings.HasPrefix(lines[0], "untrusted comment:") {
		lines = lines[1:]
	}
	if len(lines) != 1 {
		return none, fmt.Errorf("%w: not a minisign secret key file", ErrUnsupportedKey)
	}
	line := strings.TrimSpace(lines[0])
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(b) != minisignSecretKeySize || binary.LittleEndian.Uint16(b) != minisign.EdDSA ||
		binary.LittleEndian.Uint16(b[4:]) != minisignChecksumB2 {
		return none, fmt.Errorf("%w: not a minisign secret key", ErrUnsupportedKey)
	}
	var priv minisign.PrivateKey
	switch kdf := binary.LittleEndian.Uint16(b[2:]); kdf {
	case minisignKDFNone:
		if err := priv.UnmarshalText([]byte(line)); err != nil {
			return none, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
		}
	case minisignKDFScrypt:
		if ops, mem := binary.LittleEndian.Uint64(b[38:]), binary.LittleEndian.Uint64(b[46:]); ops > maxScryptOps || mem > maxScryptMem {
			return none, fmt.Errorf("%w: minisign secret key with scrypt limits above minisign's own", ErrUnsupportedKey)
		}
		if password == "" {
			return none, fmt.Errorf("%w: the minisign secret key is encrypted; give its password", ErrPassphrase)
		}
		if priv, err = minisign.DecryptKey(password, []byte(line)); err != nil {
			return none, fmt.Errorf("%w: wrong password for the minisign secret key", ErrPassphrase)
		}
	default:
		return none, fmt.Errorf("%w: minisign secret key with unknown key derivation %#04x", ErrUnsupportedKey, kdf)
	}
	return priv, nil
}
