package scan

import (
	"strings"
)

// Writes: where a line writes (shell redirection, tee, cp/mv/install, sed -i, open(…, "w"),
// writeFile, os.WriteFile, Path.write_text, …), with variables resolved from their assignments in
// the same file, so that `rc = os.path.expanduser("~/.bashrc")` … `open(rc, "a")` is seen.

var (
	reRedirect   = lazyRegexp(`(?:^|[^-=<>])>>?\s*("[^"]*"|'[^']*'|[^\s;|&<>()=]+)`)
	reTee        = lazyRegexp(`\btee\s+((?:-[a-z-]+\s+)*)("[^"]*"|'[^']*'|[^\s;|&)]+)`)
	reSedInPlace = lazyRegexp(`\bsed\s+(?:-[^\s]*\s+)*-i`)
	reDDOut      = lazyRegexp(`\bdd\b.*\bof=("[^"]*"|'[^']*'|[^\s;|&)]+)`)
	reOpenCall   = lazyRegexp(`(?:\b(?:io\.|codecs\.|os\.|fs\.)?f?open(?:Sync)?|\bFile\.open)\s*\(`)
	reRecvOpen   = lazyRegexp(`\.open\s*\(\s*(?:mode\s*=\s*)?["'][wax]`)
	reRecvWrite  = lazyRegexp(`\.(?:write_text|write_bytes|touch|symlink_to|mkdir)\s*\(`)
	reArg0Write  = lazyRegexp(`\b(?:writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|outputFile|outputFileSync|outputJson|outputJsonSync|writeJson|writeJsonSync|file_put_contents|os\.WriteFile|os\.Create|os\.OpenFile|os\.Mkdir|os\.MkdirAll|ioutil\.WriteFile|os\.makedirs|os\.mkdir|File\.write|mkdirSync)\s*\(`)
	reArg1Write  = lazyRegexp(`\b(?:copyFile|copyFileSync|rename|renameSync|symlink|symlinkSync|cpSync|os\.rename|os\.replace|os\.symlink|os\.link|shutil\.copy\w*|shutil\.move|os\.Rename|os\.Symlink|os\.Link)\s*\(`)
	rePSWrite    = lazyRegexp(`(?i)\b(?:Set-Content|Add-Content|Out-File|New-Item|Copy-Item)\b[^|;]*?\s-(?:Path|FilePath|Destination)\s+("[^"]*"|'[^']*'|[^\s;|]+)`)
	reWriteMode  = lazyRegexp(`[wax+]|O_WRONLY|O_RDWR|O_APPEND|O_CREAT`)
)

var fileCommands = setOf("cp", "mv", "install", "ln", "rsync")

// writeTargets returns the expressions s writes to, as written.
func writeTargets(s string) []string {
	var out []string
	// Each syntax is looked for only where its marker occurs: most lines that reach this far write
	// nothing, and the checks run on every line that opens a file.
	if strings.IndexByte(s, '>') >= 0 {
		for _, m := range reRedirect.FindAllStringSubmatch(s, 8) {
			out = append(out, m[1])
		}
	}
	if strings.Contains(s, "tee") {
		for _, m := range reTee.FindAllStringSubmatch(s, 4) {
			out = append(out, m[2])
		}
	}
	if strings.Contains(s, "of=") {
		if m := reDDOut.FindStringSubmatch(s); m != nil {
			out = append(out, m[1])
		}
	}
	if strings.Contains(s, "cp ") || strings.Contains(s, "mv ") || strings.Contains(s, "install ") || strings.Contains(s, "ln ") || strings.Contains(s, "rsync ") || strings.Contains(s, "sed ") {
		out = append(out, fileCommandTargets(s)...)
	}
	if strings.IndexByte(s, '(') < 0 {
		return append(out, psTargets(s)...)
	}
	out = append(out, callTargets(s)...)
	return append(out, psTargets(s)...)
}

// psTargets finds PowerShell's -Path arguments.
func psTargets(s string) []string {
	if !strings.Contains(s, "-") {
		return nil
	}
	var out []string
	for _, m := range rePSWrite.FindAllStringSubmatch(s, 4) {
		out = append(out, m[1])
	}
	return out
}

// fileCommandTargets finds the last argument of cp, mv, install, ln, rsync and sed -i.
func fileCommandTargets(s string) []string {
	var out []string
	for _, cmd := range splitCommands(s) {
		for _, seg := range splitPipes(cmd) {
			w := strings.Fields(seg)
			for len(w) > 0 && (w[0] == "sudo" || strings.HasPrefix(w[0], "-") && len(w) > 1 && w[0] != "-") {
				w = w[1:]
			}
			if len(w) < 3 {
				continue
			}
			first := w[0]
			if i := strings.LastIndexAny(first, "\"'(`"); i >= 0 {
				first = first[i+1:] // a command inside a code string: os.system("cp …")
			}
			if i := strings.LastIndexByte(first, '/'); i >= 0 {
				first = first[i+1:]
			}
			if fileCommands[first] || (first == "sed" && reSedInPlace.MatchString(seg)) {
				last := w[len(w)-1]
				if !strings.HasPrefix(last, "-") {
					out = append(out, strings.TrimRight(last, `"');`))
				}
			}
		}
	}
	return out
}

// callTargets finds the paths function calls write to.
func callTargets(s string) []string {
	var out []string
	if strings.Contains(s, "open") {
		for _, loc := range reOpenCall.FindAllStringIndex(s, 4) {
			args := callArgs(s, loc[1])
			if len(args) >= 2 {
				mode := args[1]
				for _, a := range args[1:] {
					if strings.HasPrefix(strings.TrimSpace(a), "mode") || strings.HasPrefix(strings.TrimSpace(a), "flags") {
						mode = a
					}
				}
				if isWriteMode(mode) {
					out = append(out, args[0])
				}
			}
		}
		for _, loc := range reRecvOpen.FindAllStringIndex(s, 4) {
			out = append(out, receiverBefore(s, loc[0]))
		}
	}
	if containsAny(s, ".write_", ".touch", ".mkdir", ".symlink_to") {
		for _, loc := range reRecvWrite.FindAllStringIndex(s, 4) {
			out = append(out, receiverBefore(s, loc[0]))
		}
	}
	if containsAny(s, "writeFile", "WriteFile", "appendFile", "createWriteStream", "outputFile", "outputJson", "writeJson", "file_put_contents", "os.Create",
		"os.OpenFile", "os.Mkdir", "os.makedirs", "os.mkdir", "File.write", "mkdirSync") {
		for _, loc := range reArg0Write.FindAllStringIndex(s, 4) {
			if args := callArgs(s, loc[1]); len(args) >= 1 {
				out = append(out, args[0])
			}
		}
	}
	if containsAny(s, "copyFile", "ename", "ymlink", "cpSync", "shutil.", "os.replace", "os.link", "os.Link") {
		for _, loc := range reArg1Write.FindAllStringIndex(s, 4) {
			if args := callArgs(s, loc[1]); len(args) >= 2 {
				out = append(out, args[1])
			}
		}
	}
	return out
}

// isWriteMode reads the mode argument of an open call.
func isWriteMode(m string) bool {
	m = strings.TrimSpace(m)
	if i := strings.IndexByte(m, '='); i >= 0 && (strings.HasPrefix(m, "mode") || strings.HasPrefix(m, "flags")) {
		m = strings.TrimSpace(m[i+1:])
	}
	if strings.Contains(m, "O_") {
		return reWriteMode.MatchString(m)
	}
	if len(m) < 2 || (m[0] != '"' && m[0] != '\'') {
		return false
	}
	return strings.ContainsAny(strings.Trim(m, `"'`), "wax+")
}

// callArgs splits the arguments of a call whose "(" ends at open, at top-level commas.
func callArgs(s string, open int) []string {
	var args []string
	depth, start := 0, open
	var quote byte
	for i := open; i < len(s) && i < open+2048; i++ {
		ch := s[i]
		switch {
		case quote != 0:
			if ch == '\\' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'' || ch == '`':
			quote = ch
		case ch == '(' || ch == '[' || ch == '{':
			depth++
		case ch == ')' || ch == ']' || ch == '}':
			if depth == 0 {
				return append(args, strings.TrimSpace(s[start:i]))
			}
			depth--
		case ch == ',' && depth == 0:
			args = append(args, strings.TrimSpace(s[start:i]))
			start = i + 1
			if len(args) >= 8 {
				return args
			}
		}
	}
	return append(args, strings.TrimSpace(s[start:min(len(s), open+2048)]))
}

// receiverBefore returns the expression whose method is called at dot (s[dot] == '.').
func receiverBefore(s string, dot int) string {
	depth := 0
	i := dot - 1
	for ; i >= 0 && dot-i < 512; i-- {
		ch := s[i]
		switch {
		case ch == ')' || ch == ']':
			depth++
		case ch == '(' || ch == '[':
			if depth == 0 {
				return s[i+1 : dot]
			}
			depth--
		case depth == 0 && (ch == ' ' || ch == '\t' || ch == '=' || ch == ',' || ch == ';' || ch == ':'):
			return s[i+1 : dot]
		}
	}
	return s[i+1 : dot]
}

var (
	reVarRef  = lazyRegexp(`\$\{(\w+)\}|\$(\w+)|\{(\w+)\}`)
	reSlashes = lazyRegexp(`/{2,}`)
)

// normTarget turns a written path expression into a plain path where it can: home directory forms
// become ~, path joins and concatenations become /, variables assigned in the file are replaced.
func (c *fileCtx) normTarget(e string) string {
	return c.normDepth(e, 0)
}

func (c *fileCtx) normDepth(e string, depth int) string {
	e = strings.TrimSpace(e)
	if depth > 2 || len(e) > 512 {
		return e
	}
	e = homeSpellings.Replace(e)
	e = flattenPath(e)
	// Variables: the whole expression, its first path element, and ${x}, $x or {x} anywhere.
	if isIdentString(e) {
		if v, ok := c.varValue(e); ok {
			return c.normDepth(v, depth+1)
		}
		return e
	}
	if i := strings.IndexByte(e, '/'); i > 0 && isIdentString(e[:i]) {
		if v, ok := c.varValue(e[:i]); ok {
			e = c.normDepth(v, depth+1) + e[i:]
		}
	}
	if strings.ContainsAny(e, "${") {
		e = reVarRef.ReplaceAllStringFunc(e, func(m string) string {
			name := strings.Trim(m, "${}")
			if v, ok := c.varValue(name); ok {
				return c.normDepth(v, depth+1)
			}
			return m
		})
	}
	if strings.Contains(e, "//") {
		e = reSlashes.ReplaceAllString(e, "/")
	}
	return e
}

// homeSpellings are the ways code names the home folder, and the path methods that do not change
// which file is meant.
var homeSpellings = strings.NewReplacer(
	"pathlib.Path.home()", "~", "Path.home()", "~", "os.homedir()", "~", "os.UserHomeDir()", "~", "Dir.home", "~",
	"${HOME}", "~", "$HOME", "~", "$env:HOME", "~", "$env:USERPROFILE", "~", "%USERPROFILE%", "~",
	`os.environ["HOME"]`, "~", `os.environ['HOME']`, "~", `os.getenv("HOME")`, "~", `os.getenv('HOME')`, "~",
	`os.environ.get("HOME")`, "~", `os.environ.get('HOME')`, "~", "process.env.HOME", "~", `os.Getenv("HOME")`, "~",
	`ENV["HOME"]`, "~", ".expanduser()", "", ".resolve()", "", ".absolute()", "",
)

// flattenPath reads a path expression as the path it builds: quotes, spaces and concatenation go,
// call arguments become path elements (os.path.join(a, "b") is a/b), and the name of a call
// (Path(…), expanduser(…), join(…)) is dropped.
func flattenPath(e string) string {
	b := make([]byte, 0, len(e))
	for i := 0; i < len(e); i++ {
		switch ch := e[i]; ch {
		case '"', '\'', '`', ' ', '\t', ')', '+':
			// String prefixes of Python (f"…", r"…", b"…") go with their quote.
			if (ch == '"' || ch == '\'') && len(b) > 0 && strings.IndexByte("frb", b[len(b)-1]) >= 0 && (len(b) == 1 || !isIdent(b[len(b)-2])) {
				b = b[:len(b)-1]
			}
		case ',':
			b = append(b, '/')
		case '(':
			for len(b) > 0 && (isIdent(b[len(b)-1]) || b[len(b)-1] == '.') {
				b = b[:len(b)-1]
			}
		default:
			b = append(b, ch)
		}
	}
	return string(b)
}

func isIdentString(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdent(s[i]) {
			return false
		}
	}
	return true
}

// varValue returns what a variable was last assigned in this text. Only lines that mention the
// name are parsed.
func (c *fileCtx) varValue(name string) (string, bool) {
	if v, ok := c.vars[name]; ok {
		return v, v != ""
	}
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	val := ""
	for _, i := range c.assignLines(name) {
		l := c.lineText(i)
		if len(l) > longLine || !strings.Contains(l, "=") {
			continue
		}
		if m := reAssign.FindStringSubmatch(l); m != nil && m[1] == name && !strings.HasPrefix(m[2], "=") {
			val = m[2]
		}
	}
	c.vars[name] = val
	return val, val != ""
}

// assignLines returns the lines (0-based) where name is followed by "=" or ":=" (not "=="): the
// candidates for its assignment, found without parsing every line that mentions it.
func (c *fileCtx) assignLines(name string) []int {
	var out []int
	d := c.data
	for i := 0; len(out) < 1000; {
		j := strings.Index(d[i:], name)
		if j < 0 {
			break
		}
		j += i
		i = j + len(name)
		if j > 0 && isIdent(d[j-1]) {
			continue
		}
		k := i
		for k < len(d) && (d[k] == ' ' || d[k] == '\t') {
			k++
		}
		if k < len(d) && d[k] == ':' {
			k++
		}
		if k < len(d) && d[k] == '=' && (k+1 == len(d) || d[k+1] != '=') {
			out = append(out, c.lineOf(j)-1)
		}
	}
	return out
}

// writePaths are the rules about what is written where, tried in order on each normalised target.
var writePaths = []struct {
	id   string
	lits []string // one of these occurs in every path the expression matches
	re   *lazyRE
}{
	{ruleAgentSettings, []string{".claude", ".codex", ".gemini", ".cursor", ".mcp.json", ".openclaw"}, lazyRegexp(`(?i)\.claude/settings(?:\.local)?\.json$|(?:^|/|~)\.claude\.json$|\.codex/config\.toml$|\.gemini/settings\.json$|\.cursor/(?:mcp|settings)\.json$|(?:^|/|~)\.mcp\.json$|\.openclaw/openclaw\.json$`)},
	{ruleEtcHosts, []string{"hosts"}, lazyRegexp(`(?i)^(?:/private)?/etc/hosts$|\\etc\\hosts$`)},
	{ruleShellRC, []string{"rc", "profile", "zlogin", "zshenv", "fish"}, lazyRegexp(`(?:^|/|~)\.(?:bashrc|bash_profile|bash_login|zshrc|zshenv|zprofile|zlogin|profile|kshrc|cshrc|tcshrc)$|/fish/config\.fish$`)},
	{ruleCron, []string{"cron"}, lazyRegexp(`^/var/spool/cron|^/etc/cron`)},
	{ruleSystemd, []string{"systemd"}, lazyRegexp(`systemd/user(?:/|$)|^/etc/systemd/|^/(?:usr/)?lib/systemd/`)},
	{ruleAutostart, []string{"utostart", "Launch", "Startup"}, lazyRegexp(`(?i)\.config/autostart(?:/|$)|/etc/xdg/autostart|Library/Launch(?:Agents|Daemons)(?:/|$)|\\Start Menu\\Programs\\Startup`)},
	{ruleGitHooks, []string{".git/hooks"}, lazyRegexp(`(?:^|/)\.git/hooks(?:/|$)`)},
	{ruleFolderOpen, []string{"tasks.json"}, lazyRegexp(`(?:^|/)\.vscode/tasks\.json$`)},
	{ruleAuthorizedKey, []string{"authorized_keys"}, lazyRegexp(`\.ssh/authorized_keys2?$`)},
	{ruleAgentMemory, []string{".md", "skills", "agents", "commands", ".openclaw"}, lazyRegexp(`(?:^|/|~)(?:SOUL|MEMORY|HEARTBEAT|CLAUDE|AGENTS|GEMINI)\.md$|\.(?:claude|agents|codex|gemini)/(?:skills|agents|commands)(?:/|$)|\.openclaw(?:/|$)`)},
}

var rePathSetup = lazyRegexp(`(?i)\bexport\s+PATH=|\bPATH=|\bfish_add_path\b|\bcompletion\b|\bsource\s+<\(`)

// writes checks every write target of the unit against the paths above and, in code with a
// manifest, against the paths the manifest declares (REDIR-003..005, PERSIST-001..008, CONS-006).
func writes(c *fileCtx, u unit) {
	for _, raw := range writeTargets(u.text) {
		t := c.normTarget(raw)
		if t == "" {
			continue
		}
		matched := false
		for _, wp := range writePaths {
			if !containsAny(t, wp.lits...) || !wp.re.MatchString(t) {
				continue
			}
			matched = true
			if wp.id == ruleShellRC && rePathSetup.MatchString(u.text) && !strings.Contains(u.text, "/tmp") {
				continue // adding a tool's bin folder to PATH is ordinary install advice
			}
			c.add(wp.id, u.line, u.text, "writes "+t)
			break
		}
		if !matched && c.kind == kindCode && c.s.man.present {
			if d := c.s.man.undeclaredWrite(t); d != "" {
				c.add(ruleUndeclaredWrite, u.line, u.text, d)
			}
		}
	}
}
