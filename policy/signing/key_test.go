package signing

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestParseKeySSH(t *testing.T) {
	fp := regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)
	for _, k := range sshKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			if k.pub.Kind != KindSSH || k.pub.Identity != k.name || !fp.MatchString(k.pub.Fingerprint) {
				t.Fatalf("key %+v", k.pub)
			}
			sp, _ := ssh.NewPublicKey(k.priv.Public())
			if k.pub.Fingerprint != ssh.FingerprintSHA256(sp) {
				t.Errorf("fingerprint %s, want %s", k.pub.Fingerprint, ssh.FingerprintSHA256(sp))
			}
			// Without a comment, with surrounding white space and a trailing CRLF: the same key.
			fields := strings.Fields(k.line)
			for _, text := range []string{fields[0] + " " + fields[1], "\n  " + k.line + "\r\n", fields[0] + "\t" + fields[1] + "\tcomment with spaces"} {
				k2, err := ParseKey("x", text)
				if err != nil || k2.Fingerprint != k.pub.Fingerprint {
					t.Errorf("ParseKey(%q) = %v, %v", text, k2, err)
				}
			}
			if s := k.pub.String(); !strings.Contains(s, k.pub.Fingerprint) || !strings.Contains(s, k.name) {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func TestParseKeyMinisign(t *testing.T) {
	m := newMinisignKey(t)
	if m.pub.Kind != KindMinisign || !regexp.MustCompile(`^[0-9A-F]{1,16}$`).MatchString(m.pub.Fingerprint) {
		t.Fatalf("key %+v", m.pub)
	}
	lines := strings.Split(strings.TrimSpace(string(m.pubFile)), "\n")
	// The public key file says the ID the way the minisign tool prints it.
	if !strings.HasSuffix(lines[0], " "+m.pub.Fingerprint) {
		t.Errorf("fingerprint %s does not match the file's comment %q", m.pub.Fingerprint, lines[0])
	}
	for _, text := range []string{lines[1], lines[1] + "\n", string(m.pubFile) + "\n", lines[0] + "\r\n" + lines[1] + "\r\n"} {
		k, err := ParseKey("x", text)
		if err != nil || k.Fingerprint != m.pub.Fingerprint {
			t.Errorf("ParseKey(%q) = %v, %v", text, k, err)
		}
	}
}

// dsaLine is an ssh-dss public key line. Its numbers are not a real group: the type alone must
// get it refused.
func dsaLine() string {
	p := new(big.Int).SetBit(big.NewInt(1), 1023, 1)
	blob := ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{keyAlgoDSA, p, big.NewInt(7), big.NewInt(2), big.NewInt(3)})
	return keyAlgoDSA + " " + base64.StdEncoding.EncodeToString(blob)
}

func TestParseKeyRejects(t *testing.T) {
	ed := ed25519Key(t)
	edFields := strings.Fields(ed.line)
	rsa1024 := newSSHKeyUnchecked(t, rsaKey(t, 1024))
	mini := newMinisignKey(t)
	miniLines := strings.Split(strings.TrimSpace(string(mini.pubFile)), "\n")

	// A certificate of the ed25519 key.
	_, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	caSigner, _ := ssh.NewSignerFromKey(caPriv)
	edPub, _ := ssh.NewPublicKey(ed.priv.Public())
	cert := &ssh.Certificate{Key: edPub, CertType: ssh.UserCert, ValidPrincipals: []string{"u"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	certLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))

	for _, tc := range []struct {
		name, text, msg string
	}{
		{"empty", "", "empty"},
		{"blank", " \n\t", "empty"},
		{"dsa", dsaLine(), "DSA"},
		{"short rsa", rsa1024, "RSA key of 1024 bits"},
		{"certificate", certLine, "certificate"},
		{"security key", "sk-ssh-ed25519@openssh.com " + edFields[1], "security-key"},
		{"unknown type", "ssh-foo " + edFields[1], "unknown key type"},
		{"type mismatch", "ssh-rsa " + edFields[1], "the key is ssh-ed25519"},
		{"authorized_keys options", `restrict,command="x" ` + ed.line, "unknown key type"},
		{"allowed_signers line", "me@example.com " + ed.line, "unknown key type"},
		{"two keys", ed.line + "\n" + ed.line, "2 lines"},
		{"bad base64", "ssh-ed25519 !!!!", "bad base64"},
		{"truncated blob", "ssh-ed25519 " + edFields[1][:40], "ssh-ed25519 key"},
		{"trailing blob data", "ssh-ed25519 " + base64.StdEncoding.EncodeToString(append(mustB64(t, edFields[1]), 0)), "ssh-ed25519 key"},
		{"private key", "-----BEGIN OPENSSH PRIVATE KEY-----", "unknown key type"},
		{"minisign bad base64", "RW!!", "minisign"},
		{"minisign short", miniLines[1][:20], "minisign"},
		{"minisign without comment prefix", "comment\n" + miniLines[1], "2 lines"},
		{"minisign secret key", string(mini.secret), "minisign"},
		{"minisign key with a comment after it", string(mini.pubFile) + " extra", "more than one word"},
		{"three lines", string(mini.pubFile) + "\nextra", "3 lines"},
		{"huge", strings.Repeat("A", maxKeyText+1), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey("someone", tc.text)
			if !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("ParseKey(%q) = %v, %v; want ErrUnsupportedKey", tc.text, k, err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), `"someone"`) {
				t.Errorf("error %q does not mention %q and the identity", err, tc.msg)
			}
		})
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newSSHKeyUnchecked returns the authorized_keys line of a key ParseKey may refuse.
func newSSHKeyUnchecked(t testing.TB, priv crypto.Signer) string {
	t.Helper()
	sp, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

func FuzzParseKey(f *testing.F) {
	for _, k := range sshKeys(f) {
		f.Add(k.line)
	}
	m := newMinisignKey(f)
	f.Add(string(m.pubFile))
	f.Add(strings.Split(string(m.pubFile), "\n")[1])
	f.Add(dsaLine())
	f.Add("ssh-ed25519 AAAA")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKey("fuzz", text)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("error %v does not wrap ErrUnsupportedKey", err)
			}
			return
		}
		switch k.Kind {
		case KindSSH:
			if k.ssh == nil || k.Fingerprint != ssh.FingerprintSHA256(k.ssh) || checkSSHKey(k.ssh) != nil {
				t.Fatalf("bad ssh key %+v", k)
			}
			// Its canonical line parses to the same key.
			k2, err := ParseKey("again", string(ssh.MarshalAuthorizedKey(k.ssh)))
			if err != nil || k2.Fingerprint != k.Fingerprint {
				t.Fatalf("re-parse: %v, %v", k2, err)
			}
		case KindMinisign:
			if k.Fingerprint != minisignID(k.mini.ID()) {
				t.Fatalf("bad minisign key %+v", k)
			}
		default:
			t.Fatalf("kind %q", k.Kind)
		}
	})
}
