package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

func TestSSHRoundTrip(t *testing.T) {
	stmt := testStatement.Marshal()
	other := ed25519Key(t)
	for _, k := range sshKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			sig, err := SignSSH(stmt, k.pem, nil)
			if err != nil {
				t.Fatalf("SignSSH: %v", err)
			}
			if !bytes.HasPrefix(sig, []byte("-----BEGIN SSH SIGNATURE-----\n")) || !bytes.HasSuffix(sig, []byte("-----END SSH SIGNATURE-----\n")) {
				t.Fatalf("not an armored SSH signature:\n%s", sig)
			}
			s, err := Verify(stmt, sig, []*Key{other.pub, k.pub})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if s.Signer != k.pub || *s.Statement != testStatement {
				t.Errorf("Verify = %+v, signer %v", s.Statement, s.Signer)
			}
			// The signature is made with SHA-512 as ssh-keygen does, and rsa-sha2-512 for RSA.
			parsed := parseArmored(t, sig)
			if parsed.HashAlgorithm != sshsig.HashSHA512 || parsed.Namespace != Namespace {
				t.Errorf("hash %s namespace %s", parsed.HashAlgorithm, parsed.Namespace)
			}
			if parsed.PublicKey.Type() == ssh.KeyAlgoRSA && parsed.Signature.Format != ssh.KeyAlgoRSASHA512 {
				t.Errorf("RSA signature format %s", parsed.Signature.Format)
			}
		})
	}
}

func TestMinisignRoundTrip(t *testing.T) {
	stmt := testStatement.Marshal()
	m, other := newMinisignKey(t), newMinisignKey(t)
	sig, err := SignMinisign(stmt, m.secret, "")
	if err != nil {
		t.Fatalf("SignMinisign: %v", err)
	}
	lines := strings.Split(string(sig), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[2], "trusted comment: timestamp:") || !strings.HasSuffix(lines[2], "\tfile:statement.json\thashed") {
		t.Fatalf("signature file:\n%s", sig)
	}
	var parsed minisign.Signature
	if err := parsed.UnmarshalText(sig); err != nil || parsed.Algorithm != minisign.HashEdDSA {
		t.Fatalf("not a prehashed minisign signature: %v, algorithm %#x", err, parsed.Algorithm)
	}
	s, err := Verify(stmt, sig, []*Key{other.pub, ed25519Key(t).pub, m.pub})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if s.Signer != m.pub || *s.Statement != testStatement {
		t.Errorf("Verify = %+v, signer %v", s.Statement, s.Signer)
	}
	// The legacy (not prehashed) format is still accepted, as minisign -V does.
	legacy := minisign.SignWithComments(m.priv, stmt, "t", "u")
	if _, err := Verify(stmt, legacy, []*Key{m.pub}); err != nil {
		t.Errorf("legacy signature: %v", err)
	}
	// Signatures with CRLF line ends (a checkout with autocrlf) still verify.
	if _, err := Verify(stmt, bytes.ReplaceAll(sig, []byte("\n"), []byte("\r\n")), []*Key{m.pub}); err != nil {
		t.Errorf("CRLF signature: %v", err)
	}
}

// The same key pinned twice (say, globally and for one skill, under different identities): the
// first pinned entry is the signer.
func TestVerifyFirstPinnedWins(t *testing.T) {
	k := ed25519Key(t)
	again, err := ParseKey("again", k.line)
	if err != nil {
		t.Fatal(err)
	}
	stmt := testStatement.Marshal()
	sig, err := SignSSH(stmt, k.pem, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Verify(stmt, sig, []*Key{nil, again, k.pub})
	if err != nil || s.Signer != again {
		t.Fatalf("Verify = %v, %v", s, err)
	}
}

// Changing any byte of the statement breaks the signature, and it is reported as a bad
// signature, not as whatever the change did to the statement's syntax.
func TestTamperedStatement(t *testing.T) {
	stmt := testStatement.Marshal()
	k, m := ed25519Key(t), newMinisignKey(t)
	sshSig, err := SignSSH(stmt, k.pem, nil)
	if err != nil {
		t.Fatal(err)
	}
	miniSig, err := SignMinisign(stmt, m.secret, "")
	if err != nil {
		t.Fatal(err)
	}
	pinned := []*Key{k.pub, m.pub}
	for i := range stmt {
		for _, sig := range [][]byte{sshSig, miniSig} {
			_, err := Verify(flip(stmt, i), sig, pinned)
			wantErr(t, err, ErrBadSignature, "statement was changed")
		}
	}
	for _, sig := range [][]byte{sshSig, miniSig} {
		_, err := Verify(stmt[:len(stmt)-1], sig, pinned)
		wantErr(t, err, ErrBadSignature)
		_, err = Verify(append(bytes.Clone(stmt), ' '), sig, pinned)
		wantErr(t, err, ErrBadSignature)
	}
	// A signature for another skill's statement does not carry over.
	other := testStatement
	other.Name = "other-skill"
	_, err = Verify(other.Marshal(), sshSig, pinned)
	wantErr(t, err, ErrBadSignature)
}

func parseArmored(t testing.TB, sig []byte) *sshsig.Signature {
	t.Helper()
	s, err := sshsig.Unarmor(sig)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawSSHSig signs msg with namespace and hash as given, bypassing SignSSH's checks.
func rawSSHSig(t testing.TB, msg []byte, signer ssh.Signer, h sshsig.HashAlgorithm, namespace string) []byte {
	t.Helper()
	s, err := sshsig.Sign(bytes.NewReader(msg), signer, h, namespace)
	if err != nil {
		t.Fatal(err)
	}
	return sshsig.Armor(s)
}

func TestVerifySSHRejects(t *testing.T) {
	stmt := testStatement.Marshal()
	k := ed25519Key(t)
	signer, err := ssh.NewSignerFromKey(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	good := rawSSHSig(t, stmt, signer, sshsig.HashSHA512, Namespace)
	if _, err := Verify(stmt, good, []*Key{k.pub}); err != nil {
		t.Fatalf("control: %v", err)
	}
	sha256Sig := rawSSHSig(t, stmt, signer, sshsig.HashSHA256, Namespace)
	if _, err := Verify(stmt, sha256Sig, []*Key{k.pub}); err != nil {
		t.Errorf("sha256 SSHSIG (allowed by the format): %v", err)
	}

	// A signature over the right bytes in another hash algorithm than SSHSIG defines.
	parsed := parseArmored(t, good)
	parsed.HashAlgorithm = "sha1"
	sha1Sig := sshsig.Armor(parsed)

	// The signature blob with one more byte, re-armored.
	block, _ := pem.Decode(good)
	long := pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: append(bytes.Clone(block.Bytes), 0)})
	// The inner signature with data after it (where security keys keep flags and counter).
	withRest := parseArmored(t, good)
	withRest.Signature.Rest = []byte{1, 0, 0, 0, 1}
	body := strings.Join(strings.Split(strings.TrimSpace(string(good)), "\n")[1:], "\n")

	for _, tc := range []struct {
		name string
		sig  []byte
		want error
		msg  string
	}{
		{"wrong namespace", rawSSHSig(t, stmt, signer, sshsig.HashSHA512, "file"), ErrBadSignature, `namespace "file"`},
		{"git namespace", rawSSHSig(t, stmt, signer, sshsig.HashSHA512, "git"), ErrBadSignature, "namespace"},
		{"wrong hash algorithm", sha1Sig, ErrBadSignature, "hash algorithm"},
		{"empty", nil, ErrBadSignature, "empty"},
		{"garbage", []byte("hello"), ErrBadSignature, "neither"},
		{"leading text", append([]byte("x\n"), good...), ErrBadSignature, "neither"},
		{"trailing text", append(bytes.Clone(good), "extra\n"...), ErrBadSignature, "after"},
		{"two signatures", append(bytes.Clone(good), good...), ErrBadSignature, "after"},
		{"headers", []byte("-----BEGIN SSH SIGNATURE-----\nA: b\n\n" + body + "\n"), ErrBadSignature, "headers"},
		{"other PEM type", bytes.ReplaceAll(good, []byte("SSH SIGNATURE"), []byte("SSH SIGNATUR")), ErrBadSignature, "neither"},
		{"end line mismatch", bytes.Replace(good, []byte("END SSH"), []byte("END SSX"), 1), ErrBadSignature, "armor"},
		{"bad base64", []byte("-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n"), ErrBadSignature, "armor"},
		{"empty blob", []byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"), ErrBadSignature, "corrupt"},
		{"blob with trailing byte", long, ErrBadSignature, "corrupt"},
		{"signature with trailing data", sshsig.Armor(withRest), ErrBadSignature, "trailing data"},
		{"huge", append(bytes.Clone(good), bytes.Repeat([]byte("\n"), maxSignatureSize)...), ErrBadSignature, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Verify(stmt, tc.sig, []*Key{k.pub})
			if s != nil {
				t.Fatalf("verified: %+v", s)
			}
			wantErr(t, err, tc.want, tc.msg)
		})
	}
}

// Every truncation and every one-byte change of a signature fails, and fails with a sentinel.
func TestCorruptSignatures(t *testing.T) {
	stmt := testStatement.Marshal()
	k, m := ed25519Key(t), newMinisignKey(t)
	pinned := []*Key{k.pub, m.pub}
	sshSig, err := SignSSH(stmt, k.pem, nil)
	if err != nil {
		t.Fatal(err)
	}
	miniSig, err := SignMinisign(stmt, m.secret, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sig  []byte
		// Bytes that may change without consequence: the minisign untrusted comment is not signed.
		free func(i int) bool
		// Truncations at or after keep still verify (pem accepts a missing final newline).
		keep int
	}{
		{"ssh", sshSig, func(int) bool { return false }, len(sshSig) - 1},
		{"minisign", miniSig, func(i int) bool {
			return i >= len("untrusted comment: ") && i < bytes.IndexByte(miniSig, '\n')
		}, len(miniSig)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n < tc.keep; n++ {
				if s, err := Verify(stmt, tc.sig[:n], pinned); err == nil || !wrapsSentinel(err) {
					t.Fatalf("truncated to %d bytes: %v, %v", n, s, err)
				}
			}
			for i := range tc.sig {
				if tc.free(i) {
					continue
				}
				bad := flip(tc.sig, i)
				if s, err := Verify(stmt, bad, pinned); err == nil || !wrapsSentinel(err) {
					t.Fatalf("byte %d changed (%q): %v, %v", i, bad, s, err)
				}
			}
		})
	}
	// An unsigned comment may say anything without affecting the result.
	lines := strings.SplitN(string(miniSig), "\n", 2)
	if _, err := Verify(stmt, []byte("untrusted comment: anything at all\n"+lines[1]), pinned); err != nil {
		t.Errorf("changed untrusted comment: %v", err)
	}
}

func TestVerifyMinisignRejects(t *testing.T) {
	stmt := testStatement.Marshal()
	m := newMinisignKey(t)
	good, err := SignMinisign(stmt, m.secret, "")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(good), "\n")
	for _, tc := range []struct {
		name, sig, msg string
	}{
		{"no final newline", strings.TrimSuffix(string(good), "\n"), "truncated"},
		{"missing line", strings.Join(append(lines[:3:3], ""), "\n"), "3 lines"},
		{"extra line", string(good) + "x\n", "5 lines"},
		{"blank line at the end", string(good) + "\n", "5 lines"},
		{"no trusted comment", strings.Join([]string{lines[0], lines[1], "comment: x", lines[3], ""}, "\n"), "trusted comment"},
		{"changed trusted comment", strings.Join([]string{lines[0], lines[1], lines[2] + "x", lines[3], ""}, "\n"), "statement was changed"},
		{"bad base64", strings.Join([]string{lines[0], "RU!!", lines[2], lines[3], ""}, "\n"), "corrupt"},
		{"short signature", strings.Join([]string{lines[0], lines[1][:20], lines[2], lines[3], ""}, "\n"), "corrupt"},
		{"unknown algorithm", strings.Join([]string{lines[0], "AA" + lines[1][2:], lines[2], lines[3], ""}, "\n"), "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(stmt, []byte(tc.sig), []*Key{m.pub})
			wantErr(t, err, ErrBadSignature, tc.msg)
		})
	}
}

func TestUnknownSigner(t *testing.T) {
	stmt := testStatement.Marshal()
	signer, pinnedSSH := ed25519Key(t), ed25519Key(t)
	signerMini, pinnedMini := newMinisignKey(t), newMinisignKey(t)
	sshSig, err := SignSSH(stmt, signer.pem, nil)
	if err != nil {
		t.Fatal(err)
	}
	miniSig, err := SignMinisign(stmt, signerMini.secret, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, pinned := range [][]*Key{nil, {pinnedSSH.pub}, {pinnedSSH.pub, pinnedMini.pub}} {
		_, err := Verify(stmt, sshSig, pinned)
		wantErr(t, err, ErrUnknownSigner, signer.pub.Fingerprint, "ssh-ed25519")
		_, err = Verify(stmt, miniSig, pinned)
		wantErr(t, err, ErrUnknownSigner, "minisign key ID "+signerMini.pub.Fingerprint)
	}
	// A signature with a key pinned under the other kind is still unknown.
	_, err = Verify(stmt, miniSig, []*Key{signer.pub})
	wantErr(t, err, ErrUnknownSigner)
}

// A minisign key ID is only a hint: a pinned key that claims the signer's ID but holds another
// Ed25519 key does not verify.
func TestMinisignKeyIDIsNotTrusted(t *testing.T) {
	stmt := testStatement.Marshal()
	signer, impostor := newMinisignKey(t), newMinisignKey(t)
	sig, err := SignMinisign(stmt, signer.secret, "")
	if err != nil {
		t.Fatal(err)
	}
	raw := mustB64(t, strings.Split(strings.TrimSpace(string(impostor.pubFile)), "\n")[1])
	copy(raw[2:10], mustB64(t, strings.Split(strings.TrimSpace(string(signer.pubFile)), "\n")[1])[2:10])
	k, err := ParseKey("impostor", base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	if k.Fingerprint != signer.pub.Fingerprint {
		t.Fatalf("ID not copied: %s vs %s", k.Fingerprint, signer.pub.Fingerprint)
	}
	_, err = Verify(stmt, sig, []*Key{k})
	wantErr(t, err, ErrBadSignature, "impostor")
}

// A signature that names a refused kind of key is reported as such, not as an unknown signer.
func TestVerifyUnsupportedSigner(t *testing.T) {
	stmt := testStatement.Marshal()
	short, err := ssh.NewSignerFromKey(rsaKey(t, 1024))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(stmt, rawSSHSig(t, stmt, short, sshsig.HashSHA512, Namespace), nil)
	wantErr(t, err, ErrUnsupportedKey, "RSA key of 1024 bits", ssh.FingerprintSHA256(short.PublicKey()))

	// A DSA key in the signature: the signature bytes do not matter, the key type is refused.
	dsaPub, err := ssh.ParsePublicKey(mustB64(t, strings.Fields(dsaLine())[1]))
	if err != nil {
		t.Fatal(err)
	}
	dsaSig := sshsig.Armor(&sshsig.Signature{Version: 1, PublicKey: dsaPub, Namespace: Namespace,
		HashAlgorithm: sshsig.HashSHA512, Signature: &ssh.Signature{Format: keyAlgoDSA, Blob: make([]byte, 40)}})
	_, err = Verify(stmt, dsaSig, nil)
	wantErr(t, err, ErrUnsupportedKey, "DSA")
}

// Verify checks the signed bytes as a statement only after the signature, and says who signed.
func TestVerifyInvalidStatement(t *testing.T) {
	k := ed25519Key(t)
	signer, err := ssh.NewSignerFromKey(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("not a statement\n")
	_, err = Verify(msg, rawSSHSig(t, msg, signer, sshsig.HashSHA512, Namespace), []*Key{k.pub})
	wantErr(t, err, ErrInvalidStatement, "signed by", k.pub.Fingerprint)

	big := bytes.Repeat([]byte("x"), MaxStatementSize+1)
	_, err = Verify(big, rawSSHSig(t, big, signer, sshsig.HashSHA512, Namespace), []*Key{k.pub})
	wantErr(t, err, ErrInvalidStatement, "more than")
}

func TestSignSSHKeys(t *testing.T) {
	stmt := testStatement.Marshal()
	k := ed25519Key(t)
	enc, err := ssh.MarshalPrivateKeyWithPassphrase(k.priv, "c", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	encPEM := pem.EncodeToMemory(enc)

	_, err = SignSSH(stmt, encPEM, nil)
	wantErr(t, err, ErrPassphrase, "encrypted")
	_, err = SignSSH(stmt, encPEM, []byte("wrong"))
	wantErr(t, err, ErrPassphrase, "wrong passphrase")
	sig, err := SignSSH(stmt, encPEM, []byte("secret"))
	if err != nil {
		t.Fatalf("SignSSH with the passphrase: %v", err)
	}
	if _, err := Verify(stmt, sig, []*Key{k.pub}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// A passphrase for an unencrypted key is not needed and does no harm.
	if _, err := SignSSH(stmt, k.pem, []byte("unused")); err != nil {
		t.Errorf("unencrypted key with a passphrase: %v", err)
	}

	block, err := ssh.MarshalPrivateKey(rsaKey(t, 1024), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = SignSSH(stmt, pem.EncodeToMemory(block), nil)
	wantErr(t, err, ErrUnsupportedKey, "1024 bits")
	_, err = SignSSH(stmt, []byte(k.line), nil)
	wantErr(t, err, ErrUnsupportedKey, "not a usable SSH private key")
	_, err = SignSSH(stmt, newMinisignKey(t).secret, nil)
	wantErr(t, err, ErrUnsupportedKey)
	_, err = SignSSH(stmt, bytes.Repeat([]byte("A"), maxPrivateKeySize+1), nil)
	wantErr(t, err, ErrUnsupportedKey, "more than")
	_, err = SignSSH([]byte("{}\n"), k.pem, nil)
	wantErr(t, err, ErrInvalidStatement, "refusing to sign")

	// Private and public halves that do not belong together: the self-check catches it.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	mixed := append(ed25519.PrivateKey{}, k.priv.(ed25519.PrivateKey)[:32]...)
	mixed = append(mixed, other[32:]...)
	if block, err := ssh.MarshalPrivateKey(mixed, ""); err == nil {
		_, err = SignSSH(stmt, pem.EncodeToMemory(block), nil)
		wantErr(t, err, ErrUnsupportedKey, "corrupt key file")
	}
}

func TestSignMinisignKeys(t *testing.T) {
	stmt := testStatement.Marshal()
	m := newMinisignKey(t)
	enc := encryptMinisign(t, m.secret, "secret")

	_, err := SignMinisign(stmt, enc, "")
	wantErr(t, err, ErrPassphrase, "encrypted")
	_, err = SignMinisign(stmt, enc, "wrong")
	wantErr(t, err, ErrPassphrase, "wrong password")
	sig, err := SignMinisign(stmt, enc, "secret")
	if err != nil {
		t.Fatalf("SignMinisign with the password: %v", err)
	}
	if _, err := Verify(stmt, sig, []*Key{m.pub}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The bare base64 line works as well as the file; a password for an unencrypted key is ignored.
	bare := strings.Split(strings.TrimSpace(string(m.secret)), "\n")[1]
	if _, err := SignMinisign(stmt, []byte(bare), "unused"); err != nil {
		t.Errorf("bare unencrypted key: %v", err)
	}

	// Limits above what minisign writes are refused before any key derivation runs.
	raw := mustB64(t, strings.Split(strings.TrimSpace(string(enc)), "\n")[1])
	raw[53] = 0xff // top byte of the memory limit
	_, err = SignMinisign(stmt, []byte(base64.StdEncoding.EncodeToString(raw)), "secret")
	wantErr(t, err, ErrUnsupportedKey, "scrypt limits")
	raw = mustB64(t, bare)
	raw[2] = 'X' // unknown KDF
	_, err = SignMinisign(stmt, []byte(base64.StdEncoding.EncodeToString(raw)), "")
	wantErr(t, err, ErrUnsupportedKey, "key derivation")

	for _, bad := range [][]byte{nil, []byte("hello"), m.pubFile, ed25519Key(t).pem, []byte(bare[:100]), append(bytes.Clone(m.secret), "x\ny\n"...)} {
		_, err = SignMinisign(stmt, bad, "")
		wantErr(t, err, ErrUnsupportedKey)
	}
	_, err = SignMinisign([]byte("{}\n"), m.secret, "")
	wantErr(t, err, ErrInvalidStatement, "refusing to sign")
}

// fuzzKeys are fixed keys, so that the fuzzer's corpus stays meaningful between runs.
func fuzzKeys(t testing.TB) (ed25519.PrivateKey, *Key, *miniTestKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	k := newSSHKey(t, "fuzz", priv)
	pub, mpriv, err := minisign.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	return priv, k.pub, minisignKeyFrom(t, pub, mpriv)
}

// FuzzVerify feeds arbitrary signature bytes for a fixed statement and fixed pinned keys. The
// corpus holds signatures by those keys, but over another statement, and in the wrong namespace:
// close to valid, so the fuzzer explores the parsers deeply, yet nothing may ever verify.
func FuzzVerify(f *testing.F) {
	priv, sshKey, mini := fuzzKeys(f)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	stmt := testStatement.Marshal()
	other := testStatement
	other.Version = "6.6.6"
	otherStmt := other.Marshal()
	f.Add(rawSSHSig(f, otherStmt, signer, sshsig.HashSHA512, Namespace))
	f.Add(rawSSHSig(f, otherStmt, signer, sshsig.HashSHA256, Namespace))
	f.Add(rawSSHSig(f, stmt, signer, sshsig.HashSHA512, "file"))
	rsaSigner, err := ssh.NewSignerFromKey(rsaKey(f, 2048))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rawSSHSig(f, otherStmt, rsaSigner, sshsig.HashSHA512, Namespace))
	f.Add(minisign.SignWithComments(mini.priv, otherStmt, "timestamp:1", "c"))
	r := minisign.NewReader(bytes.NewReader(otherStmt))
	if _, err := io.Copy(io.Discard, r); err != nil {
		f.Fatal(err)
	}
	f.Add(r.SignWithComments(mini.priv, "timestamp:1\tfile:statement.json\thashed", "signature from minisign secret key"))
	f.Add([]byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"))
	f.Add([]byte("untrusted comment: \n\ntrusted comment: \n\n"))
	pinned := []*Key{sshKey, mini.pub}
	f.Fuzz(func(t *testing.T, sig []byte) {
		s, err := Verify(stmt, sig, pinned)
		if err == nil {
			t.Fatalf("verified %+v with signature %q", s, sig)
		}
		if s != nil || !wrapsSentinel(err) {
			t.Fatalf("Verify = %v, %v", s, err)
		}
	})
}

func TestVerifyErrorsAreDistinct(t *testing.T) {
	for i, a := range sentinels {
		for j, b := range sentinels {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v is %v", a, b)
			}
		}
	}
}
