package scan

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Encoded content: long base64 and hex runs are text a reviewer cannot read, and short ones are how
// the ClawHavoc droppers hid `/bin/bash -c "$(curl …)"`. Every run that decodes to readable text is
// scanned again as text, so the rules see the command it hides.

const (
	minBlob    = 200 // characters of base64 or hex that count as a blob
	minDecoded = 20  // shortest encoded run worth decoding
	maxDecode  = 8192
)

var b64Alphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return
}()

var reDecodedCmd = lazyRegexp(`(?i)\b(?:curl|wget|bash|sh\s+-c|zsh|powershell|iex|eval|exec|nc\s+-e|chmod|rm\s+-rf|python[0-9.]*\s+-c|osascript|base64)\b|/dev/tcp/|/bin/|https?://|\bimport\s+(?:os|subprocess|socket)\b|\bsubprocess\.|\bos\.system\b|\brequire\(\s*["']child_process`)

// blobPass finds runs of the base64 alphabet (and hex, a subset) and \xNN escape runs.
func (c *fileCtx) blobPass() {
	d := c.data
	for i := 0; i < len(d); {
		if !b64Alphabet[d[i]] {
			i++
			continue
		}
		j := i
		for j < len(d) && b64Alphabet[d[j]] {
			j++
		}
		k := j
		for k < len(d) && k-j < 2 && d[k] == '=' {
			k++
		}
		if j-i >= minDecoded {
			c.encodedRun(i, j, k)
		}
		i = k
		if i == j {
			i++
		}
	}
	c.escapeRuns()
}

// encodedRun looks at d[start:end] (end2 includes "=" padding).
func (c *fileCtx) encodedRun(start, end, end2 int) {
	run := c.data[start:end2]
	line := c.lineOf(start)
	var up, lo, dg, other bool
	allHex := true
	for i := start; i < end; i++ {
		switch b := c.data[i]; {
		case b >= 'A' && b <= 'Z':
			up = true
			if b > 'F' {
				allHex = false
			}
		case b >= 'a' && b <= 'z':
			lo = true
			if b > 'f' {
				allHex = false
			}
		case b >= '0' && b <= '9':
			dg = true
		default:
			other = true
			allHex = false
		}
	}
	if allHex && dg && (up || lo) && (end-start)%2 == 0 {
		raw, err := hex.DecodeString(c.data[start:min(end, start+2*maxDecode)])
		if err != nil {
			return
		}
		if end-start >= minBlob && magicKind(raw) != magicMedia {
			c.add(ruleHexBlob, line, run, itoa(end-start)+" hex characters")
		}
		c.decodedText(raw, line, run, "hex")
		return
	}
	if !(up && lo) || !(dg || other || end2 > end) {
		return // words, identifiers and paths, not base64
	}
	if strings.HasPrefix(run, "/") && !dg {
		return
	}
	raw := decodeB64(c.data[start:min(end2, start+4*maxDecode/3)])
	if raw == nil {
		return
	}
	if dataURIMedia(c.data, start) {
		return // an inline image or font
	}
	if end-start >= minBlob && magicKind(raw) != magicMedia && !sshPublicKey(c.data, start) {
		c.add(ruleBase64Blob, line, run, itoa(end-start)+" base64 characters")
	}
	c.decodedText(raw, line, run, "base64")
}

// decodeB64 decodes with or without padding, or returns nil.
func decodeB64(s string) []byte {
	s = strings.TrimRight(s, "=")
	if len(s)%4 == 1 {
		s = s[:len(s)-1] // a cut-off run: one character cannot encode a byte
	}
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return raw
}

// sshPublicKey reports an OpenSSH public key ("ssh-ed25519 AAAA…"), which is long base64 but
// public by design.
func sshPublicKey(d string, start int) bool {
	pre := d[max(0, start-40):start]
	return strings.HasPrefix(d[start:], "AAAA") && (strings.Contains(pre, "ssh-") || strings.Contains(pre, "ecdsa-"))
}

// dataURIMedia reports a run that is the payload of an image or font data: URI.
func dataURIMedia(d string, start int) bool {
	pre := strings.ToLower(d[max(0, start-48):start])
	i := strings.LastIndex(pre, "data:")
	if i < 0 || !strings.HasSuffix(pre, "base64,") {
		return false
	}
	t := pre[i+len("data:"):]
	return strings.HasPrefix(t, "image/") || strings.HasPrefix(t, "font/") || strings.HasPrefix(t, "application/font") || strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/")
}

// decodedText scans decoded bytes that are readable text: EncodedCmd when they hold a command or
// URL, and every other rule on the text itself.
func (c *fileCtx) decodedText(raw []byte, line int, run, enc string) {
	if len(raw) < 8 || !readable(raw) {
		return
	}
	text := string(raw)
	if m := reDecodedCmd.FindString(text); m != "" && !jsonLike(text) {
		c.add(ruleEncodedCmd, line, run, enc+" decodes to "+quoteShort(text, 100))
	}
	if c.depth+1 <= maxDecodeAt {
		c.inner(text, line, kindCode, "in "+enc+"-decoded text")
	}
}

// readable reports UTF-8 text that is mostly printable.
func readable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	printable := 0
	for _, r := range string(b) {
		if r >= 0x20 && r != 0x7f || r == '\n' || r == '\r' || r == '\t' {
			printable++
		}
	}
	return printable*100 >= utf8.RuneCount(b)*95
}

// escapeRuns finds "\x41\x42…" runs.
func (c *fileCtx) escapeRuns() {
	d := c.data
	for i := 0; ; {
		j := strings.Index(d[i:], `\x`)
		if j < 0 {
			return
		}
		start := i + j
		k := start
		var raw []byte
		for k+3 < len(d) && d[k] == '\\' && d[k+1] == 'x' && isHex(d[k+2]) && isHex(d[k+3]) {
			v, _ := hex.DecodeString(d[k+2 : k+4])
			raw = append(raw, v...)
			k += 4
		}
		n := len(raw)
		if n >= 16 {
			line := c.lineOf(start)
			if n >= 64 && magicKind(raw) != magicMedia {
				c.add(ruleHexBlob, line, d[start:k], itoa(n)+` \x escapes`)
			}
			c.decodedText(raw, line, d[start:k], "escaped")
		}
		i = max(k, start+2)
	}
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// lineOf returns the 1-based line of an offset.
func (c *fileCtx) lineOf(off int) int {
	lo, hi := 0, len(c.starts)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if c.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// jsonLike reports decoded JSON (a JWT's claims, a config): URLs in it are data, not commands.
func jsonLike(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")
}
