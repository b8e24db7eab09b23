package learn

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/skillrun/skillrun/policy"
)

// Doc is a manifest as learn writes it: the schema's fields in the schema's order.
type Doc struct {
	Version     int                   `yaml:"version"`
	Name        string                `yaml:"name"`
	Description string                `yaml:"description,omitempty"`
	Extends     []string              `yaml:"extends,omitempty,flow"`
	Filesystem  policy.FilesystemCaps `yaml:"filesystem,omitempty"`
	Network     policy.NetworkCaps    `yaml:"network,omitempty"`
	Env         policy.EnvCaps        `yaml:"env,omitempty"`
	Limits      policy.LimitCaps      `yaml:"limits,omitempty"`
}

func docOf(m *policy.Manifest) Doc {
	c := m.Capabilities
	return Doc{Version: m.Version, Name: m.Name, Description: m.Description, Extends: append([]string(nil), m.Extends...),
		Filesystem: policy.FilesystemCaps{Read: append([]string(nil), c.Filesystem.Read...),
			Write: append([]string(nil), c.Filesystem.Write...), Exec: append([]string(nil), c.Filesystem.Exec...)},
		Network: policy.NetworkCaps{Allow: append([]string(nil), c.Network.Allow...)},
		Env:     c.Env, Limits: c.Limits}
}

func (d *Doc) list(section string) *[]string {
	switch section {
	case "filesystem.read":
		return &d.Filesystem.Read
	case "filesystem.write":
		return &d.Filesystem.Write
	case "filesystem.exec":
		return &d.Filesystem.Exec
	}
	return &d.Network.Allow
}

// Render prints the manifest as YAML and checks that it parses back as a valid manifest: learn
// never writes a file that skillrun itself would refuse.
func (d Doc) Render() ([]byte, error) {
	b, err := yaml.MarshalWithOptions(d, yaml.IndentSequence(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLearn, err)
	}
	if _, err := policy.ParseManifest(policy.ManifestFile, b); err != nil {
		return nil, fmt.Errorf("%w: the proposed manifest does not parse: %v", ErrLearn, err)
	}
	return b, nil
}

// Diff prints the proposal against the current manifest's text (nil when there is none), in
// unified-diff style: every line of the proposal, "+" on those this run added, each with its
// evidence as a comment.
func (p *Proposal) Diff(current []byte) (string, error) {
	newText, err := p.Manifest.Render()
	if err != nil {
		return "", err
	}
	var oldLines []string
	if current != nil {
		// The current file as learn would write it, so only what changed shows.
		m, err := policy.ParseManifest(policy.ManifestFile, current)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrLearn, err)
		}
		old, err := docOf(m).Render()
		if err != nil {
			return "", err
		}
		oldLines = lines(old)
	}
	newLines := lines(newText)
	evidence := map[string]string{}
	var extendsEv []string
	for _, l := range p.Added {
		if l.Section == "extends" {
			extendsEv = append(extendsEv, l.Value+": "+l.Evidence)
			continue
		}
		evidence[l.Value] = l.Evidence
	}
	var b strings.Builder
	b.WriteString("--- " + policy.ManifestFile + " (now)\n+++ " + policy.ManifestFile + " (learned)\n")
	for _, op := range diffLines(oldLines, newLines) {
		b.WriteString(op.mark + op.text)
		if op.mark == "+" {
			if strings.HasPrefix(op.text, "extends:") && len(extendsEv) > 0 {
				b.WriteString("   # " + strings.Join(extendsEv, "; "))
			} else if ev, ok := evidence[itemValue(op.text)]; ok {
				b.WriteString("   # " + ev)
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

func lines(b []byte) []string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// itemValue returns a list item's value: `  - "x"` gives x.
func itemValue(line string) string {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "- ") {
		return ""
	}
	t = strings.TrimSpace(t[2:])
	if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
		t = t[1 : len(t)-1]
	}
	return t
}

type diffOp struct{ mark, text string }

// maxDiffCells bounds the longest-common-subsequence table (a hand-written manifest may be long).
const maxDiffCells = 1 << 20

// diffLines is a longest-common-subsequence diff; past maxDiffCells it marks the lines of b that
// a does not hold and lists the lines of a that b lacks (learning never removes any).
func diffLines(a, b []string) []diffOp {
	n, m := len(a), len(b)
	if (n+1)*(m+1) > maxDiffCells {
		in := map[string]int{}
		for _, l := range a {
			in[l]++
		}
		var out []diffOp
		for _, l := range b {
			if in[l] > 0 {
				in[l]--
				out = append(out, diffOp{" ", l})
			} else {
				out = append(out, diffOp{"+", l})
			}
		}
		for _, l := range a {
			if in[l] > 0 {
				in[l]--
				out = append(out, diffOp{"-", l})
			}
		}
		return out
	}
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, diffOp{" ", b[j]})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, diffOp{"+", b[j]})
			j++
		default:
			out = append(out, diffOp{"-", a[i]})
			i++
		}
	}
	return out
}

func parseAddr(s string) (netip.Addr, error) { return netip.ParseAddr(s) }
