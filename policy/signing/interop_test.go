package signing

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool returns the path of an external program, or skips the test saying why.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed, so interoperability with it is not tested: %v", name, err)
	}
	return p
}

// run runs a program with no agent and no terminal, stdin from in, and returns its output.
func run(t *testing.T, dir string, in []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = bytes.NewReader(in)
	return cmd.CombinedOutput()
}

func mustRun(t *testing.T, dir string, in []byte, name string, args ...string) []byte {
	t.Helper()
	out, err := run(t, dir, in, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Signatures made by ssh-keygen verify here, and signatures made here verify with ssh-keygen.
func TestInteropSSHKeygen(t *testing.T) {
	keygen := tool(t, "ssh-keygen")
	stmt := testStatement.Marshal()
	for _, kt := range [][]string{{"-t", "ed25519"}, {"-t", "ecdsa", "-b", "256"}, {"-t", "ecdsa", "-b", "384"}, {"-t", "ecdsa", "-b", "521"}, {"-t", "rsa", "-b", "3072"}} {
		name := strings.Join(kt[1:], "-")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			key := filepath.Join(dir, "key")
			mustRun(t, dir, nil, keygen, append(kt, "-q", "-N", "", "-C", "publisher@example.com", "-f", key)...)
			pubLine := readFile(t, key+".pub")
			pinned, err := ParseKey("publisher@example.com", string(pubLine))
			if err != nil {
				t.Fatalf("ParseKey(%s): %v", pubLine, err)
			}
			// Our fingerprint is the one ssh-keygen -l prints.
			if out := mustRun(t, dir, nil, keygen, "-l", "-E", "sha256", "-f", key+".pub"); !strings.Contains(string(out), " "+pinned.Fingerprint+" ") {
				t.Errorf("fingerprint %s, ssh-keygen -l says %s", pinned.Fingerprint, out)
			}
			stmtFile := filepath.Join(dir, StatementFile)
			writeFile(t, stmtFile, stmt)

			// ssh-keygen signs, Verify accepts.
			mustRun(t, dir, nil, keygen, "-Y", "sign", "-n", Namespace, "-f", key, stmtFile)
			s, err := Verify(stmt, readFile(t, stmtFile+".sig"), []*Key{pinned})
			if err != nil {
				t.Fatalf("Verify(ssh-keygen's signature): %v", err)
			}
			if s.Signer != pinned {
				t.Errorf("signer %v", s.Signer)
			}
			_, err = Verify(flip(stmt, 10), readFile(t, stmtFile+".sig"), []*Key{pinned})
			wantErr(t, err, ErrBadSignature)

			// SignSSH signs, ssh-keygen -Y verify accepts.
			sig, err := SignSSH(stmt, readFile(t, key), nil)
			if err != nil {
				t.Fatalf("SignSSH(ssh-keygen's key): %v", err)
			}
			sigFile := filepath.Join(dir, "ours.sig")
			writeFile(t, sigFile, sig)
			allowed := filepath.Join(dir, "allowed_signers")
			writeFile(t, allowed, []byte("publisher@example.com "+string(pubLine)))
			verify := []string{"-Y", "verify", "-n", Namespace, "-I", "publisher@example.com", "-s", sigFile, "-f", allowed}
			if out := mustRun(t, dir, stmt, keygen, verify...); !strings.Contains(string(out), "Good") {
				t.Errorf("ssh-keygen -Y verify: %s", out)
			}
			// ... and only for this namespace and these bytes, which shows it really checks.
			if out, err := run(t, dir, stmt, keygen, "-Y", "verify", "-n", "file", "-I", "publisher@example.com", "-s", sigFile, "-f", allowed); err == nil {
				t.Errorf("ssh-keygen accepted the signature for namespace file: %s", out)
			}
			if out, err := run(t, dir, flip(stmt, 10), keygen, verify...); err == nil {
				t.Errorf("ssh-keygen accepted a changed statement: %s", out)
			}

			// ssh-keygen's signature in another namespace is refused here. (ssh-keygen does not
			// overwrite an existing signature file.)
			if err := os.Remove(stmtFile + ".sig"); err != nil {
				t.Fatal(err)
			}
			mustRun(t, dir, nil, keygen, "-Y", "sign", "-n", "git", "-f", key, stmtFile)
			_, err = Verify(stmt, readFile(t, stmtFile+".sig"), []*Key{pinned})
			wantErr(t, err, ErrBadSignature, `namespace "git"`)
		})
	}

	t.Run("encrypted key", func(t *testing.T) {
		dir := t.TempDir()
		key := filepath.Join(dir, "key")
		mustRun(t, dir, nil, keygen, "-q", "-t", "ed25519", "-N", "correct horse", "-C", "", "-f", key)
		_, err := SignSSH(stmt, readFile(t, key), nil)
		wantErr(t, err, ErrPassphrase)
		_, err = SignSSH(stmt, readFile(t, key), []byte("wrong"))
		wantErr(t, err, ErrPassphrase, "wrong")
		sig, err := SignSSH(stmt, readFile(t, key), []byte("correct horse"))
		if err != nil {
			t.Fatalf("SignSSH: %v", err)
		}
		pinned, err := ParseKey("p", string(readFile(t, key+".pub")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(stmt, sig, []*Key{pinned}); err != nil {
			t.Errorf("Verify: %v", err)
		}
	})

	t.Run("short rsa", func(t *testing.T) {
		dir := t.TempDir()
		key := filepath.Join(dir, "key")
		if out, err := run(t, dir, nil, keygen, "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", key); err != nil {
			t.Skipf("this ssh-keygen does not make 1024-bit RSA keys: %s", out)
		}
		_, err := ParseKey("p", string(readFile(t, key+".pub")))
		wantErr(t, err, ErrUnsupportedKey, "1024 bits")
		_, err = SignSSH(stmt, readFile(t, key), nil)
		wantErr(t, err, ErrUnsupportedKey, "1024 bits")
		stmtFile := filepath.Join(dir, StatementFile)
		writeFile(t, stmtFile, stmt)
		mustRun(t, dir, nil, keygen, "-Y", "sign", "-n", Namespace, "-f", key, stmtFile)
		_, err = Verify(stmt, readFile(t, stmtFile+".sig"), nil)
		wantErr(t, err, ErrUnsupportedKey, "1024 bits")
	})

	t.Run("dsa", func(t *testing.T) {
		dir := t.TempDir()
		key := filepath.Join(dir, "key")
		if out, err := run(t, dir, nil, keygen, "-q", "-t", "dsa", "-N", "", "-f", key); err != nil {
			t.Skipf("this ssh-keygen does not make DSA keys: %s", out)
		}
		_, err := ParseKey("p", string(readFile(t, key+".pub")))
		wantErr(t, err, ErrUnsupportedKey, "DSA")
		// x/crypto cannot even read a DSA private key.
		_, err = SignSSH(stmt, readFile(t, key), nil)
		wantErr(t, err, ErrUnsupportedKey)
	})
}

// Signatures made by the minisign tool verify here, and signatures made here verify with it.
func TestInteropMinisign(t *testing.T) {
	mini := tool(t, "minisign")
	stmt := testStatement.Marshal()
	dir := t.TempDir()
	pubFile, secFile := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.key")
	mustRun(t, dir, nil, mini, "-G", "-W", "-p", pubFile, "-s", secFile)
	pinned, err := ParseKey("publisher", string(readFile(t, pubFile)))
	if err != nil {
		t.Fatalf("ParseKey: %v", err)
	}
	if !strings.Contains(string(readFile(t, pubFile)), pinned.Fingerprint) {
		t.Errorf("fingerprint %s is not the ID in\n%s", pinned.Fingerprint, readFile(t, pubFile))
	}
	stmtFile := filepath.Join(dir, StatementFile)
	writeFile(t, stmtFile, stmt)

	// minisign signs (prehashed by default, legacy with -l), Verify accepts.
	for _, legacy := range []bool{false, true} {
		args := []string{"-S", "-s", secFile, "-m", stmtFile}
		if legacy {
			args = append(args, "-l")
		}
		mustRun(t, dir, nil, mini, args...)
		sig := readFile(t, stmtFile+".minisig")
		if s, err := Verify(stmt, sig, []*Key{pinned}); err != nil || s.Signer != pinned {
			t.Fatalf("Verify(minisign's signature, legacy=%v): %v, %v", legacy, s, err)
		}
		_, err := Verify(flip(stmt, 10), sig, []*Key{pinned})
		wantErr(t, err, ErrBadSignature)
	}

	// SignMinisign signs with minisign's key file, minisign -V accepts.
	sig, err := SignMinisign(stmt, readFile(t, secFile), "")
	if err != nil {
		t.Fatalf("SignMinisign: %v", err)
	}
	sigFile := filepath.Join(dir, "ours.minisig")
	writeFile(t, sigFile, sig)
	mustRun(t, dir, nil, mini, "-V", "-H", "-p", pubFile, "-x", sigFile, "-m", stmtFile)
	writeFile(t, stmtFile, flip(stmt, 10))
	if out, err := run(t, dir, nil, mini, "-V", "-p", pubFile, "-x", sigFile, "-m", stmtFile); err == nil {
		t.Errorf("minisign accepted a changed statement: %s", out)
	}
	writeFile(t, stmtFile, stmt)

	// An encrypted key as minisign writes it: scrypt with 1 GiB, which takes seconds, and half a
	// minute under the race detector. TestSignMinisignKeys covers the same path with cheap limits.
	if testing.Short() || raceEnabled {
		t.Log("skipping minisign's own encrypted key (1 GiB scrypt) with -short or -race")
		return
	}
	encPub, encSec := filepath.Join(dir, "e.pub"), filepath.Join(dir, "e.key")
	mustRun(t, dir, []byte("pw\npw\n"), mini, "-G", "-p", encPub, "-s", encSec)
	_, err = SignMinisign(stmt, readFile(t, encSec), "")
	wantErr(t, err, ErrPassphrase)
	sig, err = SignMinisign(stmt, readFile(t, encSec), "pw")
	if err != nil {
		t.Fatalf("SignMinisign(encrypted): %v", err)
	}
	writeFile(t, sigFile, sig)
	mustRun(t, dir, nil, mini, "-V", "-p", encPub, "-x", sigFile, "-m", stmtFile)
}
