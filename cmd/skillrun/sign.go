package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/signing"
)

var signCommand = &cli.Command{
	Name:      "sign",
	Usage:     "sign a skill folder's content as its publisher (SSH or minisign key)",
	UsageText: "skillrun sign --key KEY [--version V] [--source URL] NAME|DIR",
	Description: "The statement {name, digest, manifest digest, version, source} and its signature are\n" +
		"written to DIR/.skillrun/, which the digest excludes. An encrypted key's passphrase is read\n" +
		"from SKILLRUN_SIGN_PASSPHRASE.\n\nEXAMPLE:\n" +
		"   skillrun sign --key ~/.ssh/id_ed25519 ./pdf-tools\n" +
		"   skillrun sign --key ~/.minisign/minisign.key --version 1.2.0 ./pdf-tools",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "key", Required: true, Usage: "OpenSSH or minisign private key `FILE`"},
		&cli.StringFlag{Name: "version", Usage: "the skill's version, recorded in the statement"},
		&cli.StringFlag{Name: "source", Usage: "where the skill is published (a URL), recorded in the statement"},
	},
	Action: signAction,
}

func signAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return withHints(exitFailed, errors.New("sign takes one skill name or folder"), "skillrun sign --key KEY DIR")
	}
	// A publisher signs a folder in their own tree, so a name is looked up only when the
	// argument is not written as a folder.
	var found []policy.FoundSkill
	if !isDirArg(c.Args().First()) {
		var err error
		if _, _, _, found, err = inventory(c); err != nil {
			return err
		}
	}
	f, err := resolveSkill("sign --key KEY", c.Args().First(), found)
	if err != nil {
		return err
	}
	dir := f.Source
	listing, err := hashSkill(dir)
	if err != nil {
		return err
	}
	st := signing.Statement{Name: f.Name, Digest: listing.Digest(), Version: c.String("version"), Source: c.String("source")}
	if man, err := os.ReadFile(filepath.Join(dir, policy.ManifestFile)); err == nil {
		if m, err := policy.ParseManifest(filepath.Join(dir, policy.ManifestFile), man); err != nil {
			return err
		} else if m.Name != st.Name {
			return withHints(exitFailed, fmt.Errorf("%s names the skill %q but its folder is %q", policy.ManifestFile, m.Name, st.Name))
		}
		sum := sha256.Sum256(man)
		st.ManifestDigest = "sha256:" + hex.EncodeToString(sum[:])
	}
	key, err := os.ReadFile(c.String("key"))
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot read the key: %v", err))
	}
	stmt := st.Marshal()
	pass := os.Getenv("SKILLRUN_SIGN_PASSPHRASE")
	var sig []byte
	sigFile, other := signing.SSHSigFile, signing.MinisignFile
	if bytes.Contains(key, []byte("OPENSSH PRIVATE KEY")) {
		var p []byte
		if pass != "" {
			p = []byte(pass)
		}
		sig, err = signing.SignSSH(stmt, key, p)
	} else {
		sigFile, other = other, sigFile
		sig, err = signing.SignMinisign(stmt, key, pass)
	}
	if errors.Is(err, signing.ErrPassphrase) {
		return withHints(exitFailed, fmt.Errorf("the key %s is encrypted", c.String("key")), "give its passphrase in SKILLRUN_SIGN_PASSPHRASE")
	}
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot sign with %s: %v", c.String("key"), err))
	}
	out := filepath.Join(dir, signing.Dir)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(out, signing.StatementFile), stmt); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(out, sigFile), sig); err != nil {
		return err
	}
	// Published files: readable by whoever installs the skill.
	for _, f := range []string{signing.StatementFile, sigFile} {
		if err := os.Chmod(filepath.Join(out, f), 0o644); err != nil {
			return err
		}
	}
	os.Remove(filepath.Join(out, other))
	_, w, _ := stdio(c)
	fmt.Fprintf(w, "signed %s (%s, %d files) into %s\n", st.Name, st.Digest, listing.Files(), out)
	return nil
}
