package scan

import (
	"strings"
)

// API traffic redirection and persistence: setting a model API's base URL (CVE-2026-21852 sent the
// API key to whatever host a repository's settings named), proxies, and writes to the files that
// run code or route traffic on every later session.

// envSetter is one syntax for setting a variable; name and value are submatches.
type envSetter struct {
	re          *lazyRE
	name, value int
}

// envNames compiles the setter syntaxes for a set of variable names (an alternation).
func envNames(names string, fold bool) []envSetter {
	f := ""
	if fold {
		f = "(?i)"
	}
	n := "(" + names + ")"
	mk := func(expr string) envSetter {
		return envSetter{re: lazyRegexp(f + expr), name: 1, value: 2}
	}
	return []envSetter{
		// shell, dotenv, docker -e, env VAR=x cmd
		mk(`(?:^|[^\w$.{\[/-])(?:export\s+|setenv\s+|declare\s+-x\s+)?` + n + `=("[^"]*"|'[^']*'|[^\s;&|]*)`),
		// assignment with spaces, a constant in code
		mk(`(?:^|[^\w$.{\[/-])` + n + `\s+:?=\s+([^=\s].*)`),
		// python
		mk(`\benviron\[\s*["']` + n + `["']\s*\]\s*=\s*([^=].*)`),
		mk(`\benviron\.setdefault\(\s*["']` + n + `["']\s*,\s*(.+)`),
		mk(`\bputenv\(\s*["']` + n + `["']\s*,\s*(.+)`),
		mk(`\bputenv\(\s*["']` + n + `=([^"']*)`),
		// go
		mk(`\bos\.Setenv\(\s*"` + n + `"\s*,\s*(.+)`),
		// javascript
		mk(`\bprocess\.env\.` + n + `\s*=\s*([^=].*)`),
		mk(`\bprocess\.env\[\s*["']` + n + `["']\s*\]\s*=\s*([^=].*)`),
		// powershell, fish
		mk(`\$env:` + n + `\s*=\s*(.+)`),
		mk(`\bset\s+-[gxU]+\s+` + n + `\s+(.+)`),
		// JSON or a dict literal, YAML
		mk(`["']` + n + `["']\s*:\s*(.+)`),
		mk(`^\s*-?\s*` + n + `\s*:\s+(.+)`),
		// "NAME=value" inside a string (an env list, docker -e)
		mk(`["']` + n + `=([^"']+)`),
	}
}

// setsEnv reports whether s gives one of the variables a value, ignoring reads, comparisons,
// unsets and values passed through from the caller ($NAME, os.environ).
func setsEnv(s string, setters []envSetter) (name, value, excerpt string, ok bool) {
	for _, st := range setters {
		for _, m := range st.re.FindAllStringSubmatchIndex(s, 4) {
			name = s[m[2*st.name]:m[2*st.name+1]]
			value = strings.TrimSpace(s[m[2*st.value]:m[2*st.value+1]])
			value = strings.TrimRight(value, ",;)} ")
			v := strings.Trim(value, `"'`+"`")
			switch {
			case v == "", v == "None", v == "null", v == "undefined", v == "nil",
				strings.HasPrefix(v, "$") && !strings.HasPrefix(v, "$("),
				strings.Contains(v, "environ"), strings.Contains(v, "getenv"), strings.Contains(v, "Getenv"), strings.Contains(v, "process.env"):
				continue
			}
			return name, v, strings.TrimLeft(s[m[0]:], "'\"`(;&| \t"), true
		}
	}
	return "", "", "", false
}

var (
	reBaseURLNames = envNames(`ANTHROPIC_BASE_URL|ANTHROPIC_API_URL|ANTHROPIC_BEDROCK_BASE_URL|ANTHROPIC_VERTEX_BASE_URL|OPENAI_BASE_URL|OPENAI_API_BASE|OPENAI_API_HOST|GOOGLE_GEMINI_BASE_URL|GEMINI_BASE_URL|GEMINI_API_BASE`, false)
	reSDKBase      = lazyRegexp(`\b(?:openai|anthropic)\.(?:api_base|base_url)\s*=\s*["']`)
	reProxyNames   = envNames(`HTTPS?_PROXY|ALL_PROXY|FTP_PROXY`, true)
	reProxyConfig  = lazyRegexp(`(?i)\bgit\s+config\s+(?:--\w+\s+)*https?\.proxy\s+["']?[^\s-]|\bnpm\s+config\s+set\s+(?:https-)?proxy\s+\S|\bnetworksetup\s+-setwebproxy\b`)
)

// apiBaseURL finds model API base URLs being set (REDIR-001).
func apiBaseURL(c *fileCtx, u unit) {
	if name, val, ex, ok := setsEnv(u.text, reBaseURLNames); ok {
		c.add(ruleAPIBaseURL, u.line, ex, name+" = "+quoteShort(val, 60))
		return
	}
	if m := reSDKBase.FindString(u.text); m != "" {
		c.add(ruleAPIBaseURL, u.line, u.text, "")
	}
}

// proxyVar finds proxy variables and proxy settings being set (REDIR-002).
func proxyVar(c *fileCtx, u unit) {
	if name, val, ex, ok := setsEnv(u.text, reProxyNames); ok {
		c.add(ruleProxyVar, u.line, ex, name+" = "+quoteShort(val, 60))
		return
	}
	if m := reProxyConfig.FindString(u.text); m != "" {
		c.add(ruleProxyVar, u.line, m, "")
	}
}

var (
	reCronCmd    = lazyRegexp(`\|\s*(?:sudo\s+)?crontab\b|\bcrontab\s+(?:-u\s+\S+\s+)?-\s*(?:$|[;&|)"'])|\bcrontab\s+(?:-u\s+\S+\s+)?["']?(?:[$~/.]|\w+\.\w)[^\s;&|]*|["']crontab["']\s*,\s*["'](?:-|[^\-"'][^"']*)["']|\bCronTab\s*\(`)
	reSystemd    = lazyRegexp(`\bsystemctl\s+(?:--user\s+|--now\s+|--global\s+)*(?:enable|link|reenable|preset)\b|["']systemctl["']\s*,\s*(?:["']--user["']\s*,\s*)?["'](?:enable|link)["']|\bloginctl\s+enable-linger\b`)
	reAutostart  = lazyRegexp(`(?i)\blaunchctl\s+(?:load|bootstrap|submit|enable)\b|\bschtasks(?:\.exe)?\b.*\s/create\b|\breg(?:\.exe)?\s+add\b.*\\CurrentVersion\\Run|\bNew-ItemProperty\b.*\\CurrentVersion\\Run|\bmake\s+(?:new\s+)?login\s+item\b`)
	reHooksPath  = lazyRegexp(`(?i)\bgit\s+(?:-C\s+\S+\s+)?config\s+(?:--(?:global|local|system|worktree)\s+)?core\.hooksPath\s+["']?[^\s\-"']|\bgit\s+-c\s+core\.hooksPath=|["']core\.hooksPath["']\s*,\s*["'][^"']`)
	reAgentHook  = lazyRegexp(`["'](SessionStart|SessionEnd|UserPromptSubmit|PreToolUse|PostToolUse|PreCompact|SubagentStop)["']`)
	reFolderOpen = lazyRegexp(`(?i)["']?runOn["']?\s*:\s*["']folderOpen["']`)
)

// persistCommands finds commands that install something to run later (PERSIST-001 to -006).
func persistCommands(c *fileCtx, u unit) {
	t := u.text
	if m := reCronCmd.FindString(t); m != "" && !crontabListOnly(t) {
		c.add(ruleCron, u.line, m, "")
	}
	if m := reSystemd.FindString(t); m != "" {
		c.add(ruleSystemd, u.line, m, "")
	}
	if m := reAutostart.FindString(t); m != "" {
		c.add(ruleAutostart, u.line, m, "")
	}
	if m := reHooksPath.FindString(t); m != "" {
		c.add(ruleGitHooks, u.line, m, "core.hooksPath")
	}
	if m := reAgentHook.FindStringSubmatch(t); m != nil && c.mentionsHooks() {
		c.add(ruleAgentHooks, u.line, t, m[1]+" hook")
	}
	if m := reFolderOpen.FindString(t); m != "" {
		c.add(ruleFolderOpen, u.line, m, "")
	}
}

// crontabListOnly is true for `crontab -l` and `crontab -r` with nothing installed after them.
func crontabListOnly(t string) bool {
	i := strings.Index(t, "crontab")
	if i < 0 {
		return false
	}
	if strings.Contains(t, "| crontab") || strings.Contains(t, "|crontab") || strings.Contains(t, "CronTab") {
		return false
	}
	rest := strings.TrimSpace(t[i+len("crontab"):])
	return strings.HasPrefix(rest, "-l") || strings.HasPrefix(rest, "-r") || strings.HasPrefix(rest, "-e") || strings.HasPrefix(rest, "(")
}

// mentionsHooks is true when the text is about hooks at all, so that an event name alone (say, in
// a list of API names) does not count.
func (c *fileCtx) mentionsHooks() bool {
	return strings.Contains(c.data, "hooks") || strings.Contains(c.data, "Hooks")
}
