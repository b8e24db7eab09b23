package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"

	"aead.dev/minisign"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/crypto/ssh"
)

// testStatement is a valid statement with every field set.
var testStatement = Statement{
	Name:           "pdf-tools",
	Digest:         "sha256:" + strings.Repeat("0123456789abcdef", 4),
	ManifestDigest: "sha256:" + strings.Repeat("fedcba9876543210", 4),
	Version:        "1.2.0",
	Source:         "https://github.com/example/pdf-tools",
}

// sshTestKey is a generated SSH key: its private key file and its pinned public key.
type sshTestKey struct {
	name string
	priv crypto.Signer
	pem  []byte
	pub  *Key
	line string // authorized_keys line
}

func newSSHKey(t testing.TB, name string, priv crypto.Signer) *sshTestKey {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(priv, "test key")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " publisher@example.com"
	k, err := ParseKey(name, line)
	if err != nil {
		t.Fatalf("ParseKey(%s): %v", name, err)
	}
	return &sshTestKey{name: name, priv: priv, pem: pem.EncodeToMemory(block), pub: k, line: line}
}

// RSA keys are slow to generate, more so under the race detector: make each size once.
var rsaKeys sync.Map // bits -> *rsa.PrivateKey

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	if k, ok := rsaKeys.Load(bits); ok {
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	actual, _ := rsaKeys.LoadOrStore(bits, k)
	return actual.(*rsa.PrivateKey)
}

func ed25519Key(t testing.TB) *sshTestKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newSSHKey(t, "ed25519", priv)
}

// sshKeys returns one key of every supported SSH type.
func sshKeys(t testing.TB) []*sshTestKey {
	t.Helper()
	keys := []*sshTestKey{ed25519Key(t)}
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		priv, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, newSSHKey(t, "ecdsa-"+c.Params().Name, priv))
	}
	return append(keys, newSSHKey(t, "rsa-2048", rsaKey(t, 2048)))
}

// miniTestKey is a generated minisign key pair.
type miniTestKey struct {
	priv    minisign.PrivateKey
	secret  []byte // unencrypted secret key file
	pubFile []byte // two-line public key file
	pub     *Key
}

func newMinisignKey(t testing.TB) *miniTestKey {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return minisignKeyFrom(t, pub, priv)
}

func minisignKeyFrom(t testing.TB, pub minisign.PublicKey, priv minisign.PrivateKey) *miniTestKey {
	t.Helper()
	secret, err := priv.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	pubFile, err := pub.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseKey("minisign publisher", string(pubFile))
	if err != nil {
		t.Fatalf("ParseKey(minisign): %v", err)
	}
	return &miniTestKey{priv: priv, secret: secret, pubFile: pubFile, pub: k}
}

// encryptMinisign encrypts an unencrypted minisign secret key file the way minisign does, but
// with cheap scrypt limits (N=1024, r=8, p=1) so tests stay fast; the limits are part of the file,
// so decryption follows them.
func encryptMinisign(t testing.TB, secret []byte, password string) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(secret)), "\n")
	b, err := base64.StdEncoding.DecodeString(lines[len(lines)-1])
	if err != nil || len(b) != 158 {
		t.Fatalf("unexpected secret key layout: %v, %d bytes", err, len(b))
	}
	const ops, mem = 1 << 15, 1 << 24
	binary.LittleEndian.PutUint16(b[2:], 0x6353) // "Sc"
	salt := b[6:38]
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[38:], ops)
	binary.LittleEndian.PutUint64(b[46:], mem)
	plain := b[54:126] // key ID and Ed25519 key
	sum := blake2b.Sum256(append([]byte("Ed"), plain...))
	copy(b[126:], sum[:])
	stream, err := scrypt.Key([]byte(password), salt, 1024, 8, 1, 104)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stream {
		b[54+i] ^= stream[i]
	}
	return []byte("untrusted comment: minisign encrypted secret key\n" + base64.StdEncoding.EncodeToString(b) + "\n")
}

// wantErr fails unless err wraps want and its message contains every one of msgs.
func wantErr(t testing.TB, err, want error, msgs ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

// sentinels are the errors every failure must wrap one of.
var sentinels = []error{ErrBadSignature, ErrUnknownSigner, ErrUnsupportedKey, ErrPassphrase, ErrInvalidStatement}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// flip returns a copy of b with byte i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}
