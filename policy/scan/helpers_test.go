package scan

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/skillrun/skillrun/policy"
)

// Secrets in tests are generated, never written out, so that no file of the repository holds
// anything a secret scanner (or a person) could mistake for a live credential.

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// fakeRandom returns n deterministic random characters from alphabet.
func fakeRandom(seed uint64, alphabet string, n int) string {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// fakeBytes returns n deterministic random bytes.
func fakeBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

var (
	fakeAWS       = "AKIA" + fakeRandom(1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
	fakeGitHub    = "ghp_" + fakeRandom(2, alnum, 36)
	fakeGitHubPAT = "github_pat_" + fakeRandom(3, alnum, 22) + "_" + fakeRandom(4, alnum, 59)
	fakeGitLab    = "glpat-" + fakeRandom(5, alnum, 20)
	fakeSlack     = "xoxb-" + fakeRandom(6, "0123456789", 12) + "-" + fakeRandom(7, "0123456789", 13) + "-" + fakeRandom(8, alnum, 24)
	fakeOpenAI    = "sk-proj-" + fakeRandom(9, alnum+"-_", 64)
	fakeAnthropic = "sk-ant-api03-" + fakeRandom(10, alnum+"-_", 93) + "AA"
	fakeSecret    = fakeRandom(11, alnum, 32)
	fakeB64Blob   = base64.StdEncoding.EncodeToString(fakeBytes(12, 240))
	fakeHexBlob   = hex.EncodeToString(fakeBytes(13, 128))
)

// b64 encodes text the way droppers embed commands.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// tag spells s in invisible Unicode tag characters.
func tag(s string) string {
	var sb strings.Builder
	for _, r := range s {
		sb.WriteRune(0xE0000 + r)
	}
	return sb.String()
}

// escapedBytes writes b as \xNN escapes.
func escapedBytes(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteString(`\x`)
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

// exfilURL and webhookURL build attack endpoints from the rule table, the one place that names them.
func exfilURL(i int, path string) string { return "https://" + exfilDomains[i] + path }

func webhookURL(i int, rest string) string { return "https://" + chatWebhooks[i] + rest }

func webhookHost(i int) string { return strings.SplitN(chatWebhooks[i], "/", 2)[0] }

func mustManifest(t testing.TB, yaml string) *policy.Manifest {
	t.Helper()
	if yaml == "" {
		return nil
	}
	m, err := policy.ParseManifest("skillrun.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

func scanMap(t testing.TB, fsys fstest.MapFS, man *policy.Manifest) *Report {
	t.Helper()
	r, err := Scan(fsys, Options{Manifest: man})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return r
}

// ids lists the rule IDs of findings at or above min.
func ids(r *Report, min Severity) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Rule.Severity >= min {
			out = append(out, f.Rule.ID+" "+location(f)+": "+f.Message+" | "+f.Excerpt)
		}
	}
	return out
}

func hasRule(r *Report, id string) bool {
	for _, f := range r.Findings {
		if f.Rule.ID == id {
			return true
		}
	}
	return false
}
