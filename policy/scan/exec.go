package scan

import (
	"maps"
	"path"
	"strconv"
	"strings"
)

// Hidden command execution: the ClawHavoc droppers (`curl … | bash`, `echo … | base64 -D | bash`,
// `bash -c "$(curl …)"`), the polymarket reverse shell, second stages made executable, and
// password-protected archives that antivirus cannot open.

var (
	reDownloader = lazyRegexp(`(?i)(?:^|[^\w.-])(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod)(?:\.exe)?\b`)
	reDecoder    = lazyRegexp(`(?i)\bbase64\b[^|]*?\s(?:-d|-D|--decode|-di|-id)\b|\bopenssl\b[^|]*\bbase64\b[^|]*\s-d\b|\bopenssl\b[^|]*\s-d\b[^|]*\bbase64\b|\bxxd\b[^|]*\s-r\b|\bcertutil\b[^|]*-decode\b`)
	// An evaluator in front of a command substitution or process substitution of a download.
	reSubstDownload = lazyRegexp(`(?i)(?:\b(?:ba|z|k|da|fi)?sh\s+-c|\beval|\bsource|\bexec|\bpython[0-9.]*\s+-c|(?:^|[\s;&|(])\.)\s+["']?(?:\$\(|` + "`" + `)\s*(?:curl|wget)\b|(?:\b(?:ba|z|k|da)?sh|\bsource|(?:^|[\s;&|(])\.)\s+<\(\s*(?:curl|wget)\b`)
	reSubstDecode   = lazyRegexp(`(?i)(?:\b(?:ba|z|k|da|fi)?sh\s+-c|\beval)\s+["']?(?:\$\(|` + "`" + `)[^)` + "`" + `]*\bbase64\b[^)` + "`" + `]*\s(?:-d|-D|--decode)\b`)

	reEvalCall         = lazyRegexp(`(?:\bexec|\beval|\bnew\s+Function|\bFunction)\s*\(`)
	reDecodedData      = lazyRegexp(`(?i)\b(?:b64decode|b32decode|b16decode|a85decode|b85decode|decodebytes|decodestring|unhexlify|fromhex|base64_decode|decode64|gzinflate|str_rot13)\s*\(|\bzlib\.decompress\s*\(|\bmarshal\.loads\s*\(|\batob\s*\(|\bBuffer\.from\([^)]*["'](?:base64|hex)["']|\bcodecs\.decode\([^)]*["'](?:rot13|rot_13|hex|base64)`)
	reShellEvalDecoded = lazyRegexp(`(?i)\beval\b.{0,200}?\bbase64\b[^|]*?\s(?:-d|-D|--decode)\b`)
	reFetch            = lazyRegexp(`(?i)\b(?:requests|httpx|session|client)\.(?:get|post|request)\s*\(|\burlopen\s*\(|\burllib\.request\b|\burllib2\b|\bfetch\s*\(|\baxios(?:\.\w+)?\s*\(|\bhttps?\.get\s*\(|\bgot\s*\(|\bhttp\.(?:Get|Post)\s*\(|\burlretrieve\s*\(|\bDownloadString\b|\bNet\.WebClient\b|\bInvoke-(?:WebRequest|RestMethod)\b|\bOpen-URI\b|\bURI\.open\b`)
	reShellExec        = lazyRegexp(`(?i)\bos\.(?:system|popen)\s*\(|\bsubprocess\.\w+\s*\(.*\bshell\s*=\s*True|\bchild_process\b.*\bexec(?:Sync)?\s*\(|\bexecSync\s*\(|\bexec\.Command(?:Context)?\([^)]*"(?:ba|z|da)?sh"\s*,\s*"-c"|\bRuntime\.getRuntime\(\)\.exec\s*\(|(?:^|[^\w.])system\s*\(|(?:^|[^\w.])popen\s*\(|\bcommands\.getoutput\s*\(|\bshell_exec\s*\(|\bpassthru\s*\(`)
	reCurlWget         = lazyRegexp(`(?i)\b(?:curl|wget|iwr|irm)\b`)

	reReverseShell = lazyRegexp(`(?i)/dev/(?:tcp|udp)/[^\s/]+/\S+|\b(?:nc|ncat|netcat)\b[^|;&\n]*\s-[a-z]*[ec][a-z]*\s+\S*(?:sh|bash|cmd(?:\.exe)?|powershell)\b|\bsocat\b.*\bexec:|\bos\.dup2\(\s*\w+\.fileno\(\)|\bpty\.spawn\(\s*["'](?:/bin/)?(?:ba|z)?sh`)

	rePasswordArchive = lazyRegexp(`\bunzip\b[^|;&\n]*\s-P\s*["']?[^\s"'-]|\b7z[az]?\b[^|;&\n]*\s-p[^\s-]|\bunrar\b[^|;&\n]*\s-p[^\s-]|\bextract(?:all)?\s*\([^)]*\bpwd\s*=|\.setpassword\s*\(|(?i:expand-7zip\b.*-password\b)`)

	reChmodShell = lazyRegexp(`\bchmod\s+(?:-[A-Za-z]+\s+)*([ugoa]*\+[rwxXst]*x[rwxXst]*|[0-7]{3,4})\s+["']?([^\s;&|"')]+)`)
	reChmodCall  = lazyRegexp(`\b(?:os\.chmod|chmodSync|chmod|os\.Chmod|File\.chmod)\s*\(\s*([^,]+?)\s*,\s*([^)]+)\)`)

	reCurlOut    = lazyRegexp(`\bcurl\b.*?(?:\s-[a-zA-Z]*o\s*|\s--output[=\s]+)["']?([^\s;&|"')]+)`)
	reCurlRemote = lazyRegexp(`\bcurl\b.*?\s-[a-zA-Z]*O[a-zA-Z]*\s(?:.*?\s)?["']?(https?://[^\s;&|"')]+)`)
	reWgetOut    = lazyRegexp(`\bwget\b.*?(?:\s-[a-zA-Z]*O\s*|\s--output-document[=\s]+)["']?([^\s;&|"')]+)`)
	reWgetURL    = lazyRegexp(`\bwget\b(?:\s+-[^\s]+)*\s+["']?(https?://[^\s;&|"')]+)`)
	reRetrieve   = lazyRegexp(`\burlretrieve\s*\(\s*[^,]+,\s*([^),]+)|-OutFile\s+["']?([^\s"';)]+)|\bDownloadFile\s*\(\s*[^,]+,\s*([^)]+)\)`)
	reAssign     = lazyRegexp(`^\s*(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)*|const\s+|let\s+|var\s+|my\s+)?\$?([A-Za-z_]\w*)\s*(?::=|=)\s*(.+?)\s*;?\s*$`)
	reWithAs     = lazyRegexp(`\bas\s+([A-Za-z_]\w*)\s*:`)
)

// downloadExec finds download or decode pipelines that end in a shell, and shells evaluating the
// output of a download (EXEC-001, -002, -003).
func downloadExec(c *fileCtx, u unit) {
	if strings.IndexByte(u.text, '|') >= 0 {
		downloadPipes(c, u)
	}
	if !containsAny(u.text, "$(", "`", "<(") {
		return
	}
	if m := reSubstDownload.FindString(u.text); m != "" {
		c.add(ruleShellSubstDL, u.line, excerptAround(u.text, m), "")
	}
	if m := reSubstDecode.FindString(u.text); m != "" {
		c.add(ruleBase64Shell, u.line, excerptAround(u.text, m), "")
	}
}

// downloadPipes finds pipelines from a download or a decoder into a shell.
func downloadPipes(c *fileCtx, u unit) {
	for _, cmd := range splitCommands(u.text) {
		segs := splitPipes(cmd)
		for i := 0; i+1 < len(segs); i++ {
			dl := reDownloader.MatchString(segs[i])
			dec := !dl && reDecoder.MatchString(segs[i])
			if !dl && !dec {
				continue
			}
			for j := i + 1; j < len(segs); j++ {
				sink, ok := shellSink(segs[j])
				if !ok {
					continue
				}
				ex := strings.Join(segs[i:j+1], "|")
				if dl {
					c.add(ruleCurlPipeShell, u.line, ex, "into "+sink)
				} else {
					c.add(ruleBase64Shell, u.line, ex, "into "+sink)
				}
				break
			}
		}
	}
}

// findFetch returns what downloads in s, skipping the pattern when no marker occurs.
func findFetch(s string) string {
	if !containsAny(strings.ToLower(s), lowerFetchMarkers...) {
		return ""
	}
	return reFetch.FindString(s)
}

var lowerFetchMarkers = func() []string {
	out := make([]string, len(fetchMarkers))
	for i, m := range fetchMarkers {
		out[i] = strings.ToLower(m)
	}
	return out
}()

// splitCommands splits at ;, && and || (quotes are not tracked: commands sit inside code strings).
func splitCommands(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ';' || s[i] == '\n':
			out = append(out, s[start:i])
			start = i + 1
		case i+1 < len(s) && ((s[i] == '&' && s[i+1] == '&') || (s[i] == '|' && s[i+1] == '|')):
			out = append(out, s[start:i])
			start = i + 2
			i++
		}
	}
	return append(out, s[start:])
}

// splitPipes splits one command at single | characters.
func splitPipes(s string) []string {
	if !strings.Contains(s, "|") {
		return []string{s}
	}
	return strings.Split(s, "|")
}

var shells = setOf("sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "mksh", "tcsh", "csh", "iex", "invoke-expression")

var reInterp = lazyRegexp(`^(?i:python[0-9.]*|perl|ruby|node|php|osascript|pwsh|powershell(?:\.exe)?)$`)

// shellSink reports whether a pipeline stage runs what it reads as code, and names it.
func shellSink(seg string) (string, bool) {
	f := strings.Fields(strings.Trim(strings.TrimSpace(seg), `"'(`))
	for len(f) > 0 && (f[0] == "sudo" || f[0] == "exec" || f[0] == "nohup" || f[0] == "command" || f[0] == "env" || strings.HasPrefix(f[0], "-") || strings.Contains(f[0], "=")) {
		f = f[1:]
	}
	if len(f) == 0 {
		return "", false
	}
	w := strings.Trim(f[0], `"'();`+"`")
	w = path.Base(strings.ReplaceAll(w, `\`, "/"))
	lw := strings.ToLower(w)
	if shells[lw] {
		return w, true
	}
	if reInterp.MatchString(w) {
		// An interpreter reading its program from stdin: no arguments, or "-".
		rest := strings.Trim(strings.Join(f[1:], " "), ` "');`+"`")
		if rest == "" || rest == "-" || strings.HasPrefix(rest, "- ") {
			return w, true
		}
	}
	return "", false
}

// excerptAround returns m itself; it exists so that call sites read as intent.
func excerptAround(_ string, m string) string { return m }

// evalExec finds eval/exec of decoded or downloaded data, and shell commands built from fetched
// input (EXEC-004, -005, -007).
func evalExec(c *fileCtx, u unit) {
	t := u.text
	var loc []int
	if containsAny(t, "exec", "eval", "Function") {
		loc = reEvalCall.FindStringIndex(t)
	}
	if loc != nil {
		args := t[loc[1]:]
		if m := reDecodedData.FindString(args); m != "" {
			c.add(ruleEvalDecoded, u.line, t[loc[0]:], "")
		}
		if m := findFetch(args); m != "" {
			c.add(ruleEvalDownloaded, u.line, t[loc[0]:], "runs what "+strings.TrimSpace(strings.TrimSuffix(m, "("))+" returned")
		} else if v, line := c.taintedIn(args); v != "" {
			c.add(ruleEvalDownloaded, u.line, t[loc[0]:], v+" was downloaded on line "+strconv.Itoa(line))
		}
	}
	if m := reShellEvalDecoded.FindString(t); m != "" {
		c.add(ruleEvalDecoded, u.line, m, "")
	}
	if !containsAny(t, "system", "popen", "subprocess", "child_process", "execSync", "exec.Command", "getRuntime", "getoutput", "shell_exec", "passthru") {
		return
	}
	if loc := reShellExec.FindStringIndex(t); loc != nil {
		call := t[loc[0]:]
		switch {
		case reCurlWget.MatchString(call):
			c.add(ruleShellFetched, u.line, call, "the command downloads")
		case findFetch(call) != "":
			c.add(ruleShellFetched, u.line, call, "the command is fetched")
		default:
			if v, line := c.taintedIn(call[strings.IndexByte(call, '(')+1:]); v != "" {
				c.add(ruleShellFetched, u.line, call, v+" was downloaded on line "+strconv.Itoa(line))
			}
		}
	}
}

// taintedIn returns a variable mentioned in s that holds downloaded data, and where it was set.
func (c *fileCtx) taintedIn(s string) (string, int) {
	f := c.fetchedVars()
	if len(f) == 0 {
		return "", 0
	}
	best, bestLine := "", 0
	for name, line := range f {
		if containsWord(s, name) && (best == "" || name < best) {
			best, bestLine = name, line
		}
	}
	return best, bestLine
}

// fetchMarkers are literals one of which occurs on every line reFetch or a download matches.
var fetchMarkers = []string{"requests.", "httpx.", "session.", "client.", "urlopen", "urllib", "fetch", "axios", "http.get", "https.get", "got(", "http.Get",
	"http.Post", "urlretrieve", "DownloadString", "WebClient", "Invoke-", "URI", "curl", "wget"}

// fetchedVars finds variables assigned from a download (and, one step on, from such a variable).
// Only lines holding a fetch marker or a variable already found are parsed.
func (c *fileCtx) fetchedVars() map[string]int {
	if c.fetchedDone {
		return c.fetched
	}
	c.fetchedDone = true
	for _, i := range c.linesWith(fetchMarkers...) {
		l := c.lineText(i)
		if len(l) > longLine {
			continue
		}
		if m := reWithAs.FindStringSubmatch(l); m != nil && reFetch.MatchString(l) {
			c.setFetched(m[1], i+1)
			continue
		}
		if m := reAssign.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[2], "=") &&
			(reFetch.MatchString(m[2]) || reCurlWget.MatchString(m[2]) && strings.Contains(m[2], "$(")) {
			c.setFetched(m[1], i+1)
		}
	}
	// One step of propagation: text = resp.read().
	for v, line := range maps.Clone(c.fetched) {
		for _, i := range c.linesWith(v) {
			l := c.lineText(i)
			if m := reAssign.FindStringSubmatch(l); m != nil && m[1] != v && !strings.HasPrefix(m[2], "=") && containsWord(m[2], v) {
				c.setFetched(m[1], line)
			}
		}
	}
	return c.fetched
}

func (c *fileCtx) setFetched(name string, line int) {
	if c.fetched == nil {
		c.fetched = map[string]int{}
	}
	if _, ok := c.fetched[name]; !ok {
		c.fetched[name] = line
	}
}

// containsWord reports whether w occurs in s as a whole identifier.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isIdent(s[j-1])
		after := j+len(w) == len(s) || !isIdent(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isIdent(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// reverseShell finds /dev/tcp redirections, nc -e and sockets duplicated onto stdin (EXEC-006).
func reverseShell(c *fileCtx, u unit) {
	if !containsAny(u.text, "/dev/", "nc", "socat", "dup2", "pty.spawn") {
		return
	}
	if m := reReverseShell.FindString(u.text); m != "" {
		c.add(ruleReverseShell, u.line, m, "")
	}
}

// passwordArchive finds archives extracted with a password given on the command line (EXEC-009).
func passwordArchive(c *fileCtx, u unit) {
	if m := rePasswordArchive.FindString(u.text); m != "" {
		c.add(rulePasswordArchive, u.line, m, "")
	}
}

// chmodDownloaded finds a file made executable that the same file downloads (EXEC-008).
func chmodDownloaded(c *fileCtx, u unit) {
	var target, ex string
	if m := reChmodShell.FindStringSubmatch(u.text); m != nil && execMode(m[1]) {
		target, ex = m[2], m[0]
	} else if m := reChmodCall.FindStringSubmatch(u.text); m != nil && execMode(m[2]) {
		target, ex = m[1], m[0]
	} else {
		return
	}
	dl := c.downloadedFiles()
	for _, k := range targetKeys(target) {
		if line, ok := dl[k]; ok {
			c.add(ruleChmodDownloaded, u.line, ex, "downloaded on line "+strconv.Itoa(line))
			return
		}
	}
	if reCurlWget.MatchString(u.text) {
		c.add(ruleChmodDownloaded, u.line, u.text, "downloaded by the same command")
	}
}

// execMode reports whether a chmod mode adds an execute bit.
func execMode(m string) bool {
	m = strings.TrimSpace(m)
	if strings.Contains(m, "+") {
		return strings.Contains(m[strings.Index(m, "+"):], "x")
	}
	if strings.Contains(m, "S_IX") || strings.Contains(m, "S_IEXEC") || strings.Contains(m, "S_IRWX") {
		return true
	}
	m = strings.Trim(m, `"'`)
	m = strings.TrimPrefix(strings.TrimPrefix(m, "0o"), "0")
	if m == "" {
		return false
	}
	for _, d := range m[max(0, len(m)-3):] {
		if d < '0' || d > '7' {
			return false
		}
		if (d-'0')&1 == 1 {
			return true
		}
	}
	return false
}

// targetKeys are the names a path is known by: as written (without quotes and $), and its base.
func targetKeys(t string) []string {
	t = strings.Trim(strings.TrimSpace(t), `"'`+"`")
	t = strings.TrimPrefix(t, "$")
	t = strings.Trim(t, "{}")
	if t == "" {
		return nil
	}
	b := path.Base(t)
	if b == t {
		return []string{t}
	}
	return []string{t, b}
}

// downloadedFiles maps the names of files the text downloads to the line of the download.
func (c *fileCtx) downloadedFiles() map[string]int {
	if c.downloadsDone {
		return c.downloads
	}
	c.downloadsDone = true
	c.downloads = map[string]int{}
	add := func(name string, line int) {
		for _, k := range targetKeys(name) {
			if k == "-" || k == "" {
				continue
			}
			if _, ok := c.downloads[k]; !ok {
				c.downloads[k] = line
			}
		}
	}
	for _, i := range c.linesWith("curl", "wget", "urlretrieve", "OutFile", "DownloadFile") {
		l := c.lineText(i)
		if len(l) > longLine {
			continue
		}
		if m := reCurlOut.FindStringSubmatch(l); m != nil {
			add(m[1], i+1)
		}
		if m := reCurlRemote.FindStringSubmatch(l); m != nil {
			add(urlBase(m[1]), i+1)
		}
		if m := reWgetOut.FindStringSubmatch(l); m != nil {
			add(m[1], i+1)
		} else if m := reWgetURL.FindStringSubmatch(l); m != nil {
			add(urlBase(m[1]), i+1)
		}
		if m := reRetrieve.FindStringSubmatch(l); m != nil {
			for _, g := range m[1:] {
				if g != "" {
					add(g, i+1)
				}
			}
		}
	}
	return c.downloads
}

func urlBase(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return path.Base(u)
}

// loaderHook finds variables that make the next program load attacker code (EXEC-010).
func loaderHook(c *fileCtx, u unit) {
	if name, val, ex, ok := setsEnv(u.text, reLoaderNames); ok {
		if name == "NODE_OPTIONS" && !reNodeRequire.MatchString(val) {
			return
		}
		c.add(ruleLoaderHook, u.line, ex, name)
	}
}

var (
	reLoaderNames = envNames(`LD_PRELOAD|LD_AUDIT|DYLD_INSERT_LIBRARIES|BASH_ENV|PYTHONSTARTUP|PERL5OPT|RUBYOPT|GIT_SSH_COMMAND|PROMPT_COMMAND|NODE_OPTIONS`, false)
	reNodeRequire = lazyRegexp(`(?:--require|-r\s|--import|--loader|--experimental-loader)`)
)
