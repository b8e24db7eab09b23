package scan

import (
	"strconv"
	"strings"
)

// Exfiltration endpoints: request catchers, paste sites and tunnels (exfilDomains), chat webhooks,
// bare IP addresses (the ClawHavoc droppers fetched from one), and credential files uploaded.

// exfilDomain finds the services of exfilDomains as host names (EXFIL-001).
func exfilDomain(c *fileCtx, u unit) {
	for _, d := range exfilDomains {
		for i := 0; ; {
			j := strings.Index(u.text[i:], d)
			if j < 0 {
				break
			}
			j += i
			i = j + len(d)
			if hostAt(u.text, j, j+len(d), strings.HasSuffix(d, ".sh") || strings.HasSuffix(d, ".run")) {
				c.add(ruleExfilDomain, u.line, hostContext(u.text, j, j+len(d)), d)
				return
			}
		}
	}
}

// hostAt reports whether text[a:b] stands as a host name (or the end of one) rather than as part of
// a longer name or a file name. strict asks for URL context, for names that also look like files.
func hostAt(text string, a, b int, strict bool) bool {
	if b < len(text) {
		n := text[b]
		if isIdent(n) || n == '-' || (n == '.' && b+1 < len(text) && isIdent(text[b+1])) {
			return false
		}
	}
	return hostStart(text, a, strict)
}

// hostStart reports whether a host name can start at text[a].
func hostStart(text string, a int, strict bool) bool {
	if a == 0 {
		return !strict
	}
	p := text[a-1]
	switch {
	case p == '.':
		// A subdomain: the label before must itself be part of a host.
		return true
	case p == '/' && a >= 2 && text[a-2] == '/', p == '@':
		return true
	case strict:
		return false
	case p == ' ' || p == '\t' || p == '"' || p == '\'' || p == '`' || p == '(' || p == '<' || p == '=' || p == '[' || p == ',':
		return true
	}
	return false
}

// hostContext returns the URL or word around a host for the excerpt.
func hostContext(text string, a, b int) string {
	for a > 0 && !strings.ContainsRune(" \t\"'`()<>[],", rune(text[a-1])) {
		a--
	}
	for b < len(text) && !strings.ContainsRune(" \t\"'`()<>[],", rune(text[b])) {
		b++
	}
	return text[a:b]
}

// chatWebhook finds Discord and Slack webhooks and the Telegram bot API (EXFIL-002).
func chatWebhook(c *fileCtx, u unit) {
	low := strings.ToLower(u.text)
	for _, w := range chatWebhooks {
		if j := strings.Index(low, w); j >= 0 && hostStart(low, j, false) {
			c.add(ruleChatWebhook, u.line, hostContext(u.text, j, j+len(w)), strings.SplitN(w, "/", 2)[0])
			return
		}
	}
}

var (
	reURLIP  = lazyRegexp(`(?i)\b[a-z][a-z0-9+.-]*://(?:[^/@\s"']*@)?(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?(?:[/\s"'?#)\]>,;|]|$)`)
	reToolIP = lazyRegexp(`(?i)\b(?:curl|wget|nc|ncat|netcat|telnet|ssh|scp|iwr|irm)\b[^|;&\n]*?(?:^|\s|["'@])(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?(?:[/\s"':|;&)]|$)`)
)

// bareIP finds URLs and downloads addressed to an IP literal (EXFIL-003). Loopback and the
// unspecified address are local services; every other literal is a host with no name to vet.
func bareIP(c *fileCtx, u unit) {
	if !hasDottedQuad(u.text) {
		return
	}
	for _, re := range []*lazyRE{reURLIP, reToolIP} {
		for _, m := range re.FindAllStringSubmatch(u.text, 4) {
			if ip := m[1]; validPublicish(ip) {
				c.add(ruleBareIP, u.line, strings.TrimRight(m[0], " \t\"'|;&)]>,"), ip)
				return
			}
		}
	}
}

func validPublicish(ip string) bool {
	parts := strings.Split(ip, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 || (len(p) > 1 && p[0] == '0') {
			return false
		}
	}
	return !strings.HasPrefix(ip, "127.") && ip != "0.0.0.0" && ip != "255.255.255.255"
}

var (
	reSensitivePath = lazyRegexp(`(?i)(?:^|[/~"'\s=@(:])(?:\.ssh(?:/|\b)|\.aws(?:/|\b)|\.gnupg\b|\.kube/config|\.netrc\b|\.npmrc\b|\.pypirc\b|\.git-credentials\b|\.docker/config\.json|\.config/gcloud|\.config/gh\b|\.azure\b|\.env(?:\.local|\.production)?(?:$|[^\w.-])|\.bash_history|\.zsh_history|\.claude(?:\.json|/)|\.openclaw/|\.clawdbot/|/etc/shadow|/etc/passwd|id_rsa|id_ed25519|id_ecdsa|id_dsa|Login Data|key4\.db|logins\.json|wallet\.dat|exodus\.wallet|\.config/solana|Keychains/)`)
	reCurlUpload    = lazyRegexp(`(?i)\bcurl\b.*?(?:\s(?:-d|--data(?:-binary|-raw|-urlencode|-ascii)?|-F|--form)\s*["']?(?:[\w.-]+=)?@|\s(?:-T|--upload-file)[=\s]*)["']?([^\s"';|&)]+)`)
	reWgetUpload    = lazyRegexp(`(?i)\bwget\b.*?--(?:post|body)-file[=\s]["']?([^\s"';|&)]+)`)
	rePipeToNet     = lazyRegexp(`(?i)\b(?:cat|tar|zip|base64|gzip)\b([^|]*)\|\s*(?:nc|ncat|netcat|curl|wget)\b`)
	reNetRedirectIn = lazyRegexp(`(?i)\b(?:nc|ncat|netcat)\b[^<|;]*<\s*["']?([^\s"';|&)]+)`)
	reCodePost      = lazyRegexp(`(?i)\b(?:requests|httpx|session|client|axios)\.(?:post|put|patch)\s*\(|\bfetch\s*\(.*\bmethod\s*:\s*["'](?:POST|PUT)|\burlopen\s*\(.*\bdata\s*=|\bhttp\.Post\s*\(|\bscp\b.*\s\S+:\S*\s*$|\brsync\b.*\s\S+@\S+:`)
)

// uploadSecret finds credential files sent over the network (EXFIL-004).
func uploadSecret(c *fileCtx, u unit) {
	t := u.text
	if !containsAny(t, ".ssh", ".aws", ".gnupg", ".kube", ".netrc", ".npmrc", ".pypirc", ".git-credentials", ".docker", "gcloud", "/gh", ".azure", ".env",
		"_history", ".claude", ".openclaw", ".clawdbot", "/etc/", "id_rsa", "id_ed25519", "id_ecdsa", "id_dsa", "Login Data", "key4.db", "logins.json",
		"wallet", "solana", "Keychains") {
		return
	}
	for _, re := range []*lazyRE{reCurlUpload, reWgetUpload, rePipeToNet, reNetRedirectIn} {
		if m := re.FindStringSubmatch(t); m != nil && reSensitivePath.MatchString(" "+m[1]) {
			c.add(ruleUploadSecret, u.line, m[0], "sends "+strings.TrimSpace(m[1]))
			return
		}
	}
	if reCodePost.MatchString(t) {
		if p := reSensitivePath.FindString(t); p != "" {
			c.add(ruleUploadSecret, u.line, t, "sends "+strings.Trim(p, " \"'=@(:"))
		}
	}
}
