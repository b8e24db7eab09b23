package scan

import (
	"strings"
)

// Social engineering: ClawHavoc's skills did not carry the payload in code. SKILL.md had a
// "Prerequisites" section ("IMPORTANT: OpenClawProvider Required … extract the archive (pass:
// openclaw) … Copy and execute the following command in your terminal"), and the user or the agent
// did the rest. These rules read documentation, where that happens.

var (
	reSetupHeading = lazyRegexp(`(?i)\b(?:pre-?requisites?|requirements?|required|setup|set[- ]up|install(?:ation|ing)?|getting started|before (?:you|using|use)|dependencies|quick ?start|first run)\b`)
	reBanner       = lazyRegexp(`(?i)\b(?:important|attention|warning|note)\b.{0,80}\b(?:required|must install|needed)\b`)
	reDownloadRun  = lazyRegexp(`(?i)\b(?:download|get|grab|fetch|obtain)\b.{0,200}?\b(?:run|execute|launch|open|install|double[- ]click|extract|unzip|unpack)\b|\b(?:run|execute|launch|open|extract)\b.{0,80}?\b(?:download(?:ed)?|installer)\b`)
	reExecFile     = lazyRegexp(`(?i)(?:https?://\S+|\b[\w.-]+)\.(?:exe|msi|dmg|pkg|zip|7z|rar|sh|ps1|bat|cmd|scr|appimage|deb|rpm|jar|command|tgz|tar\.gz|app)\b`)
	reArchivePass  = lazyRegexp(`(?i)\b(?:password|passcode|passphrase|pass|pwd)\b\s*(?:is\s*)?[:=]\s*["'` + "`" + `*]*[^\s"'` + "`" + `)*]{2,}|\bpassword[- ]protected\s+(?:zip|archive|installer|rar|7z)\b|\b(?:zip|archive|rar|7z)\b[^.]{0,60}\bpassword\b`)
	reArchiveWord  = lazyRegexp(`(?i)\b(?:zip|archive|extract|unzip|unpack|rar|7z|7-zip|winrar|installer)\b`)
	reTerminal     = lazyRegexp(`(?i)\b(?:copy|paste|run|execute|enter|type)\b[^.!?]{0,80}?\b(?:in|into|on|from|using)\s+(?:a\s+|your\s+|the\s+)?(?:terminal|command[- ]line|shell|console|powershell|command prompt|cmd)\b|\b(?:ask|tell|instruct|have)\s+the\s+user\s+to\s+(?:copy|paste|run|execute|open)\b|\bopen\s+(?:a\s+|your\s+|the\s+)?terminal\b`)
	reRiskyCmd     = lazyRegexp(`(?i)\b(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod|invoke-expression|iex|osascript|xattr)\b|\bbase64\b|/dev/tcp|powershell(?:\.exe)?\s+-(?:e|enc|encodedcommand)\b|chmod\s+\+x|\|\s*(?:sudo\s+)?(?:ba|z)?sh\b`)
	reSendSecrets  = lazyRegexp(`(?i)\b` + sendVerbs + `\b[^.!?\n]{0,100}?` + secretThings + `|` + secretThings + `[^.!?\n]{0,100}?\b` + sendVerbs + `\b`)
	reNegation     = lazyRegexp(`(?i)\b(?:never|don't|do not|must not|should not|shouldn't|avoid|not use|without|instead of|refuse)\b`)
	reFence        = lazyRegexp("^\\s*(?:```|~~~)")
	reHeading      = lazyRegexp(`^\s{0,3}(#{1,6})\s+(.*)$`)
)

const (
	sendVerbs    = `(?:include|send|upload|post|attach|forward|share|transmit|exfiltrate|paste|append)`
	secretThings = `(?:\.env(?:$|[^\w.])|~/\.ssh|\.ssh/|\.aws/|\bid_rsa\b|\bid_ed25519\b|\.git-credentials|\.npmrc|~/\.config/solana|\bseed phrases?\b|\bprivate keys?\b|\bwallet files?\b|\bkeychain\b|\bbrowser (?:cookies|passwords))`
)

// negated reports an instruction that says not to do the thing (before the match, on its line).
func negated(text string, at int) bool {
	return reNegation.MatchString(text[:at])
}

// setupSections marks the lines (0-based) that lie in a setup section: under a heading such as
// "Prerequisites" or "Installation", down to the next heading of the same or a higher level. It
// looks only at lines that start with "#" or a code fence, so it costs little on long documents.
func (c *fileCtx) setupSections() []bool {
	if c.setupDone {
		return c.setup
	}
	c.setupDone = true
	c.setup = make([]bool, c.nlines())
	level := 0
	inFence := false
	for i := range c.setup {
		l := strings.TrimLeft(c.lineText(i), " \t")
		if strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~") {
			inFence = !inFence
		} else if !inFence && strings.HasPrefix(l, "#") {
			if m := reHeading.FindStringSubmatch(l); m != nil {
				switch {
				case reSetupHeading.MatchString(m[2]):
					level = len(m[1])
				case level > 0 && len(m[1]) <= level:
					level = 0
				}
			}
		}
		c.setup[i] = level > 0
	}
	return c.setup
}

// inSetup reports whether line (1-based) is in a setup section or follows a "… Required" banner.
func (c *fileCtx) inSetup(line int) bool {
	if line <= c.bannerUntil {
		return true
	}
	s := c.setupSections()
	return line-1 < len(s) && s[line-1]
}

// banner notes an "IMPORTANT: … Required" banner, which ClawHavoc used instead of a heading.
func banner(c *fileCtx, u unit) {
	if reBanner.MatchString(u.text) {
		c.bannerUntil = max(c.bannerUntil, u.line+15)
	}
}

// archivePassword finds the password of an archive handed out in documentation (SOC-001): there is
// no innocent reason for a skill's instructions to do that.
func archivePassword(c *fileCtx, u unit) {
	if loc := reArchivePass.FindStringIndex(u.text); loc != nil && !negated(u.text, loc[0]) && reArchiveWord.MatchString(c.around(u.line-1, 2)) {
		c.add(ruleSetupDownload, u.line, u.text, "password-protected archive")
	}
}

// setupDownload finds setup instructions to download and run a program (SOC-001).
func setupDownload(c *fileCtx, u unit) {
	if !c.inSetup(u.line) {
		return
	}
	near := c.around(u.line-1, 2)
	if !containsAny(strings.ToLower(near), ".exe", ".msi", ".dmg", ".pkg", ".zip", ".7z", ".rar", ".sh", ".ps1", ".bat", ".cmd", ".scr", ".appimage", ".deb", ".rpm", ".jar", ".command", ".tgz", ".tar.gz", ".app") {
		return
	}
	if loc := reDownloadRun.FindStringIndex(u.text); loc != nil && !negated(u.text, loc[0]) {
		if f := reExecFile.FindString(near); f != "" {
			c.add(ruleSetupDownload, u.line, u.text, "download and run "+quoteShort(f, 60))
		}
	}
}

// pasteTerminal finds instructions to run a risky command in a terminal (SOC-002).
func pasteTerminal(c *fileCtx, u unit) {
	if loc := reTerminal.FindStringIndex(u.text); loc != nil && !negated(u.text, loc[0]) {
		if cmd := c.followingCommand(u.line-1, loc[1], u.text); cmd != "" {
			c.add(rulePasteTerminal, u.line, u.text, "the command: "+quoteShort(cmd, 80))
		}
	}
}

// sendSecrets finds instructions to send credential files somewhere (SOC-004), the behavioural
// variant that no exec sandbox sees because the agent does it with its own tools.
func sendSecrets(c *fileCtx, u unit) {
	if loc := reSendSecrets.FindStringIndex(u.text); loc != nil && !negated(u.text, loc[0]) {
		c.add(ruleSendSecrets, u.line, u.text[loc[0]:loc[1]], "")
	}
}

// around returns lines i-k..i+k joined.
func (c *fileCtx) around(i, k int) string {
	var sb strings.Builder
	for j := max(0, i-k); j <= i+k && j < c.nlines(); j++ {
		t := c.lineText(j)
		if len(t) > longLine {
			t = t[:longLine]
		}
		sb.WriteString(t)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// followingCommand returns the risky command an instruction on line i points to: the rest of the
// line, or the next lines up to the end of the first code block (at most 12 lines, not past a
// heading).
func (c *fileCtx) followingCommand(i, from int, rest string) string {
	if from < len(rest) {
		rest = rest[from:]
	} else {
		rest = ""
	}
	if m := reRiskyCmd.FindStringIndex(rest); m != nil {
		return rest
	}
	inFence := false
	for j := i + 1; j < c.nlines() && j <= i+12; j++ {
		t := c.lineText(j)
		if reHeading.MatchString(t) && !inFence {
			return ""
		}
		if reFence.MatchString(t) {
			if inFence {
				return ""
			}
			inFence = true
			continue
		}
		if reRiskyCmd.MatchString(t) {
			return t
		}
	}
	return ""
}

var reDisable = lazyRegexp(`(?i)--dangerously-skip-permissions\b|--dangerously-bypass-approvals-and-sandbox\b|--yolo(?:$|[^\w-])|--trust-all-tools\b|--allow-all-tools\b|\bbypassPermissions\b|--permission-mode[=\s]+bypass|["']?enableAllProjectMcpServers["']?\s*:\s*true|\bspctl\s+--master-disable\b|\bxattr\b[^|;&\n]*(?:com\.apple\.quarantine|\s-c[r]?\s)|\bSet-MpPreference\b[^|;\n]*-Disable|\bAdd-MpPreference\b[^|;\n]*-Exclusion|\bsetenforce\s+0\b|\bcsrutil\s+disable\b|\bufw\s+disable\b|\b(?:disable|turn off|deactivate|bypass)\s+(?:your\s+|the\s+)?(?:antivirus|anti-virus|firewall|gatekeeper|windows defender|defender|smartscreen|system integrity protection|edr|endpoint protection|security software|real-?time protection)\b`)

// disableSafety finds instructions and commands that switch off the agent's permission prompts or
// the system's protections (SOC-003); the s1ngularity payload ran `claude
// --dangerously-skip-permissions`, `gemini --yolo` and `q --trust-all-tools`.
func disableSafety(c *fileCtx, u unit) {
	loc := reDisable.FindStringIndex(u.text)
	if loc == nil || negated(u.text, loc[0]) {
		return
	}
	c.add(ruleDisableSafety, u.line, u.text[loc[0]:loc[1]], "")
}
