package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
)

// prepareClientFiles creates the files an agent client's wrapper writes through the sandbox: the
// plan binds them, and a bind needs an existing file. Claude Code's cwd file lives in the host's
// /tmp, where another user could have planted a link: it must be a regular file of the caller's,
// with no other name (a hard link to ~/.bashrc would otherwise become writable).
func prepareClientFiles(req *policy.Request, plan *policy.Plan) error {
	f := policy.ClaudeCwdFile(req)
	if f == "" || plan.Profile != policy.ClaudeCodeProfile {
		return nil
	}
	fd, err := unix.Open(f, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot prepare Claude Code's cwd file %s: %v", f, err),
			"remove it if it is not yours, then rerun: rm "+f)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot prepare Claude Code's cwd file %s: %v", f, err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Getuid() || st.Nlink != 1 {
		return withHints(exitFailed, fmt.Errorf("refusing Claude Code's cwd file %s: not a regular file of yours with one name", f),
			"remove it if it is not yours, then rerun: rm "+f)
	}
	return nil
}

// ownBinaries are the paths of this skillrun binary: the file itself and the name it was
// started by, when that is a link.
func ownBinaries() []string {
	var out []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			out = append(out, real)
		}
		if !slices.Contains(out, exe) {
			out = append(out, exe)
		}
	}
	if filepath.IsAbs(os.Args[0]) && !slices.Contains(out, os.Args[0]) {
		out = append(out, os.Args[0])
	}
	return out
}

// gitIndirection finds a workspace's .git that is not a plain folder: a symlink, or a "gitdir:"
// file (worktrees, submodules). The link itself and the real git folder's control files are
// protected like .git/hooks and .git/config are.
func gitIndirection(ws string) (links, dirs []string) {
	dotgit := filepath.Join(ws, ".git")
	fi, err := os.Lstat(dotgit)
	if err != nil || fi.IsDir() {
		return nil, nil
	}
	var gitdir string
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		gitdir, err = filepath.EvalSymlinks(dotgit)
	case fi.Mode().IsRegular() && fi.Size() < 4096:
		var b []byte
		if b, err = os.ReadFile(dotgit); err == nil {
			line, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
			if !ok {
				return []string{dotgit}, nil
			}
			gitdir = strings.TrimSpace(line)
			if !filepath.IsAbs(gitdir) {
				gitdir = filepath.Join(ws, gitdir)
			}
			gitdir, err = filepath.EvalSymlinks(gitdir)
		}
	default:
		return []string{dotgit}, nil
	}
	if err != nil {
		return []string{dotgit}, nil
	}
	dirs = append(dirs, gitdir)
	if b, err := os.ReadFile(filepath.Join(gitdir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitdir, common)
		}
		if c, err := filepath.EvalSymlinks(common); err == nil && c != gitdir {
			dirs = append(dirs, c)
		}
	}
	return []string{dotgit}, dirs
}

// clientCheck collects what decides whether an agent client runs its shell commands through
// skillrun: the hook entry in its settings, the binary the entry names, and the client's own
// switches and views.
type clientCheck struct {
	name, path string
	in         integration
	root       *jsonObject // the settings file (nil when it cannot be read)
	hook       hookEntry
	getenv     func(string) string
	ok         []string // what was confirmed
	problems   []checkProblem
}

type checkProblem struct {
	what       string
	hints      []string
	unverified bool // the client could not be asked; nothing known to be wrong
}

func (c *clientCheck) fail(what string, hints ...string) {
	c.problems = append(c.problems, checkProblem{what: what, hints: hints})
}

// hookEntry is skillrun's hook in a settings file: where it is and what it runs.
type hookEntry struct {
	found          bool
	group, handler int // positions in hooks[event] and in the group's hooks
	command        string
	matcher        string
	timeout        int // seconds, for Codex's hash (0: none given)
}

// findHook finds skillrun's hook for client in root.hooks[event].
func findHook(root *jsonObject, in integration, client string) hookEntry {
	hooks, err := root.object("hooks")
	if err != nil {
		return hookEntry{}
	}
	groups, err := hooks.list(in.event)
	if err != nil {
		return hookEntry{}
	}
	for gi, g := range groups {
		var group struct {
			Matcher *string           `json:"matcher"`
			Hooks   []json.RawMessage `json:"hooks"`
		}
		if json.Unmarshal(g, &group) != nil {
			continue
		}
		for hi, h := range group.Hooks {
			var entry struct {
				Command string `json:"command"`
				Timeout int    `json:"timeout"`
			}
			if json.Unmarshal(h, &entry) == nil && isSkillrunHook(entry.Command, client) {
				e := hookEntry{found: true, group: gi, handler: hi, command: entry.Command, timeout: entry.Timeout}
				if group.Matcher != nil {
					e.matcher = *group.Matcher
				}
				return e
			}
		}
	}
	return hookEntry{}
}

// canExec reports whether this user can execute path (tests name binaries that are not there).
var canExec = func(path string) error { return unix.Access(path, unix.X_OK) }

// runCheck reports whether client's shell commands are routed through skillrun.
func runCheck(name string, in integration, path string) *clientCheck {
	c := &clientCheck{name: name, path: path, in: in, getenv: os.Getenv}
	fix := "skillrun integrate " + name
	data, err := os.ReadFile(path)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		c.fail(fmt.Sprintf("cannot read %s: %v", path, err))
		return c
	}
	if c.root, err = parseObject(data); err != nil {
		c.fail(fmt.Sprintf("%s is not plain JSON (%v)", path, err))
		return c
	}
	c.hook = findHook(c.root, in, name)
	if !c.hook.found && name == "claude" && c.claudePrefix() {
		checkClaude(c)
		return c
	}
	switch {
	case missing:
		c.fail(path+" does not exist: no skillrun hook", "add it: "+fix)
		return c
	case !c.hook.found:
		c.fail(fmt.Sprintf("%s has no skillrun hook under hooks.%s", path, in.event), "add it: "+fix)
		return c
	}
	if !strings.HasSuffix(strings.TrimSpace(c.hook.command), "|| exit 2") {
		c.fail("the hook command lets the call run unsandboxed when the skillrun binary is missing: "+c.hook.command,
			"rewrite it: "+fix)
	}
	if c.hook.matcher != in.matcher && c.hook.matcher != "Bash" {
		c.fail(fmt.Sprintf("the hook's matcher is %q, not %q", c.hook.matcher, in.matcher), "rewrite it: "+fix)
	}
	prog := hookProgram(c.hook.command)
	if err := canExec(prog); err != nil || !filepath.IsAbs(prog) {
		c.fail(fmt.Sprintf("the hook runs %s, which cannot be run (%v): every shell command is blocked", prog, err),
			"point the hook at the installed binary: /path/to/skillrun integrate "+name)
	} else {
		c.ok = append(c.ok, fmt.Sprintf("%s runs %s", path, c.hook.command))
	}
	in.check(c)
	return c
}

// reportCheck prints a check's result: status 0 when commands are routed through skillrun.
func reportCheck(w io.Writer, c *clientCheck) error {
	for _, s := range c.ok {
		fmt.Fprintf(w, "%s: ok: %s\n", c.name, s)
	}
	if len(c.problems) == 0 {
		fmt.Fprintf(w, "%s: shell commands are routed through skillrun\n", c.name)
		return nil
	}
	for _, p := range c.problems[1:] {
		fmt.Fprintf(w, "%s: problem: %s\n", c.name, p.what)
		for _, h := range p.hints {
			fmt.Fprintf(w, "%s:   fix: %s\n", c.name, h)
		}
	}
	p := c.problems[0]
	if p.unverified && len(c.problems) == 1 {
		return withHints(1, fmt.Errorf("%s: cannot confirm that shell commands are routed through skillrun: %s", c.name, p.what), p.hints...)
	}
	return withHints(1, fmt.Errorf("%s: shell commands are NOT routed through skillrun: %s", c.name, p.what), p.hints...)
}

// claudePrefix reports whether Claude Code's shell prefix (from the environment, or "env" in
// its settings) runs every command through skillrun: `skillrun -c` or `skillrun-sh`.
func (c *clientCheck) claudePrefix() bool {
	prefix, from := c.getenv("CLAUDE_CODE_SHELL_PREFIX"), "the environment"
	if env, err := c.root.object("env"); err == nil {
		if v, ok := env.get("CLAUDE_CODE_SHELL_PREFIX"); ok && jsonString(v, &prefix) == nil {
			from = c.path
		}
	}
	prog, rest := firstWord(strings.TrimSpace(prefix))
	rest = strings.TrimSpace(rest)
	switch {
	case prefix == "":
		return false
	case !((filepath.Base(prog) == "skillrun" && rest == "-c") || (filepath.Base(prog) == shellName && rest == "")):
		c.fail(fmt.Sprintf("CLAUDE_CODE_SHELL_PREFIX in %s is %q, not skillrun -c or skillrun-sh", from, prefix),
			"set it to: /path/to/skillrun -c")
		return true
	case canExec(prog) != nil || !filepath.IsAbs(prog):
		c.fail(fmt.Sprintf("CLAUDE_CODE_SHELL_PREFIX in %s runs %s, which cannot be run: every command fails", from, prog),
			"point it at the installed binary: /path/to/skillrun -c")
		return true
	}
	c.ok = append(c.ok, fmt.Sprintf("CLAUDE_CODE_SHELL_PREFIX in %s runs every command through %s", from, prog))
	return true
}

// checkClaude: hooks switched off in the settings, or only managed hooks allowed.
func checkClaude(c *clientCheck) {
	if v, ok := c.root.get("disableAllHooks"); ok && string(v) == "true" {
		c.fail(c.path+" sets disableAllHooks: Claude Code runs no hooks", "remove disableAllHooks from "+c.path)
	}
	for _, m := range []string{"/etc/claude-code/managed-settings.json"} {
		if b, err := os.ReadFile(m); err == nil {
			if o, err := parseObject(b); err == nil {
				if v, ok := o.get("allowManagedHooksOnly"); ok && string(v) == "true" {
					c.fail(m+" sets allowManagedHooksOnly: Claude Code ignores the hook in "+c.path,
						"ask the machine's administrator to add the hook to "+m)
				}
				if v, ok := o.get("disableAllHooks"); ok && string(v) == "true" {
					c.fail(m+" sets disableAllHooks: Claude Code runs no hooks", "ask the machine's administrator")
				}
			}
		}
	}
	c.ok = append(c.ok, "Claude Code loads hooks at start: restart running sessions (or review them with /hooks)")
}

// checkGemini: hooksConfig.enabled false or the hook disabled by name, in the user's or the
// system's settings.
func checkGemini(c *clientCheck) {
	files := []string{c.path}
	sys := "/etc/gemini-cli/settings.json"
	if p := c.getenv("GEMINI_CLI_SYSTEM_SETTINGS_PATH"); filepath.IsAbs(p) {
		sys = p
	}
	files = append(files, sys)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		o, err := parseObject(b)
		if err != nil {
			continue
		}
		hc, err := o.object("hooksConfig")
		if err != nil {
			continue
		}
		if v, ok := hc.get("enabled"); ok && string(v) == "false" {
			c.fail(f+" sets hooksConfig.enabled to false: Gemini CLI runs no hooks",
				"set hooksConfig.enabled to true in "+f+" (or /settings, Enable Hooks System), then restart Gemini CLI")
		}
		var disabled []string
		if v, ok := hc.get("disabled"); ok && json.Unmarshal(v, &disabled) == nil {
			for _, d := range disabled {
				if d == "skillrun" || d == c.hook.command {
					c.fail(f+" lists the skillrun hook in hooksConfig.disabled", "remove it from hooksConfig.disabled in "+f)
				}
			}
		}
	}
	c.ok = append(c.ok, "Gemini CLI loads hooks at start: restart running sessions")
}

// codexFeaturesOff finds a [features] table in Codex's config.toml that switches hooks off.
var codexFeaturesOff = regexp.MustCompile(`(?m)^\s*\[features\]\s*(?:#.*)?$(?:\n[^\[].*$)*?\n\s*(?:codex_hooks|hooks)\s*=\s*false\b`)

// checkCodex asks Codex itself (codex app-server, hooks/list) whether it will run the hook:
// Codex skips a hook it does not trust, silently.
func checkCodex(c *clientCheck) {
	dir := filepath.Dir(c.path)
	toml := filepath.Join(dir, "config.toml")
	if b, err := os.ReadFile(toml); err == nil && codexFeaturesOff.Match(b) {
		c.fail(toml+" switches hooks off under [features]", "remove that line from "+toml)
	}
	entries, err := codexHooksList(dir)
	if err != nil {
		c.problems = append(c.problems, checkProblem{what: "cannot ask Codex whether it runs the hook: " + err.Error(),
			hints: []string{"put codex on PATH, then check again: skillrun integrate --check codex"}, unverified: true})
		return
	}
	e, ok := codexEntry(entries, c.path, c.hook)
	switch {
	case !ok:
		c.fail("Codex does not list the hook in " + c.path + " (codex app-server, hooks/list)")
	case !e.Enabled:
		c.fail("the hook is disabled in Codex", "enable it in Codex with /hooks, or remove enabled = false under [hooks.state.\""+e.Key+"\"] in "+toml)
	case e.TrustStatus != "trusted" && e.TrustStatus != "managed":
		c.fail(fmt.Sprintf("Codex does not trust the hook (%s), so it skips it: every command runs unsandboxed", e.TrustStatus),
			"record the trust: skillrun integrate codex", "or review it in Codex with /hooks")
	default:
		c.ok = append(c.ok, fmt.Sprintf("Codex lists the hook as %s and enabled (%s)", e.TrustStatus, e.Key))
	}
}

// codexHook is one entry of Codex's hooks/list answer.
type codexHook struct {
	Key         string `json:"key"`
	EventName   string `json:"eventName"`
	Command     string `json:"command"`
	Matcher     string `json:"matcher"`
	SourcePath  string `json:"sourcePath"`
	Enabled     bool   `json:"enabled"`
	CurrentHash string `json:"currentHash"`
	TrustStatus string `json:"trustStatus"`
}

// codexEntry finds skillrun's hook in Codex's list.
func codexEntry(entries []codexHook, path string, h hookEntry) (codexHook, bool) {
	for _, e := range entries {
		if e.EventName == "preToolUse" && e.Command == h.command && e.SourcePath == path {
			return e, true
		}
	}
	return codexHook{}, false
}

// codexProgram finds the codex binary (tests name another).
var codexProgram = func() (string, error) { return exec.LookPath("codex") }

// codexHooksList runs `codex app-server` with codexHome and asks it hooks/list (JSON-RPC, one
// message per line on stdin and stdout).
func codexHooksList(codexHome string) ([]codexHook, error) {
	prog, err := codexProgram()
	if err != nil {
		return nil, errors.New("codex is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, "app-server")
	cmd.Env = append(os.Environ(), "CODEX_HOME="+codexHome)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s app-server: %v", prog, err)
	}
	defer func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	fmt.Fprintf(stdin, "%s\n%s\n%s\n",
		`{"id":1,"method":"initialize","params":{"clientInfo":{"name":"skillrun","version":"1"}}}`,
		`{"method":"initialized"}`,
		`{"id":2,"method":"hooks/list","params":{}}`)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<16), 16<<20)
	for sc.Scan() {
		var msg struct {
			ID     *int `json:"id"`
			Result *struct {
				Data []struct {
					Hooks []codexHook `json:"hooks"`
				} `json:"data"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil || msg.ID == nil {
			continue
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("%s app-server: %s", prog, msg.Error.Message)
		}
		if *msg.ID != 2 || msg.Result == nil {
			continue
		}
		var out []codexHook
		for _, d := range msg.Result.Data {
			out = append(out, d.Hooks...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s app-server gave no hooks/list answer: %s", prog, oneLine(strings.TrimSpace(stderr.String())))
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// codexHookKey is how Codex names a hook in its trust records: the file, the event, and the
// hook's positions in the event's list and in its group.
func codexHookKey(path string, h hookEntry) string {
	return fmt.Sprintf("%s:pre_tool_use:%d:%d", path, h.group, h.handler)
}

// codexHookHash is the hash Codex (0.171) trusts a command hook by: SHA-256 of the canonical
// JSON (keys sorted, no spaces) of the event's name and the hook's group with just this handler,
// absent fields left out and the timeout filled in (600 seconds by default).
func codexHookHash(matcher, command string, timeout int) string {
	if timeout <= 0 {
		timeout = 600
	}
	type handler struct { // keys in sorted order
		Async   bool   `json:"async"`
		Command string `json:"command"`
		Timeout int    `json:"timeout"`
		Type    string `json:"type"`
	}
	id := struct {
		EventName string    `json:"event_name"`
		Hooks     []handler `json:"hooks"`
		Matcher   string    `json:"matcher,omitempty"` // Codex leaves out a group without one
	}{"pre_tool_use", []handler{{false, command, timeout, "command"}}, matcher}
	b, _ := marshalNoEscape(id)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// trustCodexHook records in Codex's config.toml that the hook skillrun wrote is trusted, with
// the key and hash Codex itself reports when codex is installed (else as Codex 0.171 computes
// them), so Codex does not skip it. Re-running integrate after the binary moved updates it.
func trustCodexHook(w io.Writer, path string, root *jsonObject, in integration) error {
	h := findHook(root, in, "codex")
	if !h.found {
		return withHints(exitFailed, fmt.Errorf("%s: the skillrun hook is missing after writing it", path))
	}
	dir := filepath.Dir(path)
	key, hash := codexHookKey(path, h), codexHookHash(h.matcher, h.command, h.timeout)
	if entries, err := codexHooksList(dir); err == nil {
		if e, ok := codexEntry(entries, path, h); ok {
			key, hash = e.Key, e.CurrentHash
			if e.TrustStatus == "trusted" {
				return nil
			}
		}
	}
	toml := filepath.Join(dir, "config.toml")
	data, err := os.ReadFile(toml)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return withHints(exitFailed, fmt.Errorf("cannot read %s: %v", toml, err))
	}
	updated, err := setCodexTrust(data, key, hash)
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("%s: %v; it was left as it is", toml, err),
			"review the hook in Codex with /hooks and trust it",
			fmt.Sprintf("or add these two lines to %s: [hooks.state.%s] and trusted_hash = %q", toml, tomlString(key), hash))
	}
	if string(updated) == string(data) {
		return nil
	}
	backup, err := replaceFile(toml, updated, backupName(toml, time.Now()))
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot write %s: %v", toml, err))
	}
	fmt.Fprintf(w, "recorded in %s that Codex may run the hook (%s)\n", toml, hash)
	if backup != "" {
		fmt.Fprintf(w, "the previous version is in %s\n", backup)
	}
	return nil
}

// tomlString quotes s as a TOML basic string (JSON's escapes are TOML's).
func tomlString(s string) string {
	b, _ := marshalNoEscape(s)
	return string(b)
}

// setCodexTrust sets trusted_hash in the [hooks.state."KEY"] table of a config.toml, adding the
// table at the end when it is not there. Anything it cannot edit safely line by line (the key
// written another way, or inside an inline table) is an error: a duplicate key would stop Codex
// from starting.
func setCodexTrust(data []byte, key, hash string) ([]byte, error) {
	header := "[hooks.state." + tomlString(key) + "]"
	line := "trusted_hash = " + tomlString(hash)
	text := string(data)
	lines := strings.SplitAfter(text, "\n")
	at := -1
	for i, l := range lines {
		if strings.TrimSpace(stripTOMLComment(l)) == header {
			if at >= 0 {
				return nil, fmt.Errorf("the table %s is there twice", header)
			}
			at = i
		}
	}
	if at < 0 {
		if strings.Contains(text, key) {
			return nil, fmt.Errorf("the hook's trust state for %s is written in a form skillrun does not edit", key)
		}
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		if text != "" {
			text += "\n"
		}
		return []byte(text + header + "\n" + line + "\n"), nil
	}
	for i := at + 1; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if strings.HasPrefix(t, "[") {
			break
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == "trusted_hash" {
			nl := ""
			if strings.HasSuffix(lines[i], "\n") {
				nl = "\n"
			}
			lines[i] = line + nl
			return []byte(strings.Join(lines, "")), nil
		}
	}
	if !strings.HasSuffix(lines[at], "\n") {
		lines[at] += "\n"
	}
	lines[at] += line + "\n"
	return []byte(strings.Join(lines, "")), nil
}

// stripTOMLComment drops a trailing # comment from a table header line.
func stripTOMLComment(l string) string {
	if i := strings.LastIndex(l, "]"); i >= 0 {
		if rest := strings.TrimSpace(l[i+1:]); rest == "" || strings.HasPrefix(rest, "#") {
			return l[:i+1]
		}
	}
	return l
}
