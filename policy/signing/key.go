package signing

import (
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"aead.dev/minisign"
	"golang.org/x/crypto/ssh"
)

// maxKeyText bounds a public key as given in the policy. The largest accepted key, RSA-16384,
// is under 3 KiB as an authorized_keys line.
const maxKeyText = 16 << 10

// RSA bounds. Under 2048 bits RSA is breakable with enough money; above 16384 bits verification
// gets slow for no security gain, and OpenSSH refuses such keys too.
const (
	minRSABits = 2048
	maxRSABits = 16384
)

// Key is a signer's public key as pinned in the developer policy.
type Key struct {
	// Kind is KindSSH or KindMinisign.
	Kind string
	// Identity names the signer in messages; it comes from the policy, never from a signature.
	Identity string
	// Fingerprint identifies the key: "SHA256:<base64>" as printed by ssh-keygen -l for SSH
	// keys, the key ID in upper-case hex as the minisign tool prints it for minisign keys.
	// Record it to notice a signer change between versions.
	Fingerprint string

	algo string // "ssh-ed25519", "ecdsa-sha2-nistp256", …, or "minisign"
	ssh  ssh.PublicKey
	mini minisign.PublicKey
}

// String describes the key for messages: identity, algorithm and fingerprint.
func (k *Key) String() string {
	if k == nil {
		return "<nil key>"
	}
	return fmt.Sprintf("%q (%s %s)", k.Identity, k.algo, k.Fingerprint)
}

// ParseKey parses a public key to pin under identity. text is either an OpenSSH public key line
// ("ssh-ed25519 AAAA… comment", as in a .pub file; ECDSA and RSA of 2048 bits or more are accepted
// too) or a minisign public key: its base64 line, or the two-line .pub file with its untrusted
// comment. Surrounding white space is ignored. Anything it cannot pin, malformed or refused,
// wraps ErrUnsupportedKey.
func ParseKey(identity, text string) (*Key, error) {
	if len(text) > maxKeyText {
		return nil, fmt.Errorf("%w: key for %q: %d bytes, more than %d", ErrUnsupportedKey, identity, len(text), maxKeyText)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("%w: key for %q is empty", ErrUnsupportedKey, identity)
	}
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	var k *Key
	var err error
	switch {
	case len(lines) == 2 && strings.HasPrefix(lines[0], "untrusted comment:"):
		k, err = parseMinisignKey(lines[1])
	case len(lines) == 1 && len(strings.Fields(lines[0])) == 1:
		k, err = parseMinisignKey(lines[0])
	case len(lines) == 1:
		k, err = parseSSHKey(lines[0])
	default:
		err = fmt.Errorf("expected one OpenSSH public key line or a minisign public key, got %d lines", len(lines))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: key for %q: %v", ErrUnsupportedKey, identity, err)
	}
	k.Identity = identity
	return k, nil
}

// parseSSHKey parses "type base64 [comment]". Unlike ssh.ParseAuthorizedKey it takes no options
// prefix and no further lines: a pinned key is a key, not an authorization.
func parseSSHKey(line string) (*Key, error) {
	fields := strings.Fields(line)
	typ := fields[0]
	if err := refusedSSHType(typ); err != nil {
		return nil, err
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, fmt.Errorf("%s key: bad base64: %v", typ, err)
	}
	pub, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return nil, fmt.Errorf("%s key: %v", typ, err)
	}
	if pub.Type() != typ {
		return nil, fmt.Errorf("the line says %s but the key is %s", typ, pub.Type())
	}
	if err := checkSSHKey(pub); err != nil {
		return nil, err
	}
	return &Key{Kind: KindSSH, Fingerprint: ssh.FingerprintSHA256(pub), algo: pub.Type(), ssh: pub}, nil
}

// keyAlgoDSA is named here rather than taken from x/crypto, which deprecates its constant: it is
// only used to refuse such keys with a clear message.
const keyAlgoDSA = "ssh-dss"

// refusedSSHType says why a key type is refused, or nil for the types checkSSHKey looks at.
func refusedSSHType(typ string) error {
	switch {
	case typ == ssh.KeyAlgoED25519, typ == ssh.KeyAlgoRSA,
		typ == ssh.KeyAlgoECDSA256, typ == ssh.KeyAlgoECDSA384, typ == ssh.KeyAlgoECDSA521:
		return nil
	case typ == keyAlgoDSA:
		return fmt.Errorf("DSA keys are refused: 1024-bit DSA is weak and OpenSSH has removed it")
	case strings.HasSuffix(typ, "-cert-v01@openssh.com"):
		return fmt.Errorf("%s is a certificate; pin the signer's plain public key", typ)
	case strings.HasPrefix(typ, "sk-"):
		// OpenSSH checks the user-presence flag of security-key signatures; x/crypto does not,
		// so a verifier here would be weaker than ssh-keygen -Y verify.
		return fmt.Errorf("security-key (%s) keys are not supported", typ)
	default:
		return fmt.Errorf("unknown key type %q (supported: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of %d bits or more, minisign)", typ, minRSABits)
	}
}

// checkSSHKey refuses key types and sizes that are not trusted to sign, for pinned keys, signing
// keys and the key a signature names alike.
func checkSSHKey(pub ssh.PublicKey) error {
	if err := refusedSSHType(pub.Type()); err != nil {
		return err
	}
	cpk, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return fmt.Errorf("%s key cannot be inspected", pub.Type())
	}
	// Ed25519 has one size, and x/crypto accepts only the NIST curve that matches an ECDSA type
	// name; only RSA needs a size check.
	if k, ok := cpk.CryptoPublicKey().(*rsa.PublicKey); ok {
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return fmt.Errorf("RSA key of %d bits is refused: %d to %d bits are accepted", n, minRSABits, maxRSABits)
		}
	}
	return nil
}

// parseMinisignKey parses the base64 line of a minisign public key: "Ed", the key ID and the
// Ed25519 key.
func parseMinisignKey(line string) (*Key, error) {
	if len(strings.Fields(line)) != 1 {
		return nil, fmt.Errorf("minisign key: the key line holds more than one word")
	}
	var pub minisign.PublicKey
	if err := pub.UnmarshalText([]byte(line)); err != nil {
		return nil, fmt.Errorf("not an OpenSSH public key line or a minisign public key: %v", err)
	}
	return &Key{Kind: KindMinisign, Fingerprint: minisignID(pub.ID()), algo: "minisign", mini: pub}, nil
}

// minisignID formats a key ID the way the minisign tool prints it (public key file comment,
// "signature from" messages): upper-case hex without leading zeros.
func minisignID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }
