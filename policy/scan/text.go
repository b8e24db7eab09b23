package scan

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// kind is what a file is for, which decides the rules that apply: the consistency rules look at
// code only, the social-engineering rules at documentation only.
type kind uint8

const (
	kindCode kind = 1 << iota
	kindDoc
	kindConfig
	kindOther
	kindAny = kindCode | kindDoc | kindConfig | kindOther
)

var (
	docExts    = setOf(".md", ".markdown", ".mdx", ".txt", ".rst", ".adoc", ".asciidoc", ".org", ".text")
	configExts = setOf(".json", ".jsonc", ".json5", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".xml", ".plist", ".desktop", ".service", ".timer", ".properties", ".lock", ".env", ".gitconfig")
	codeExts   = setOf(".sh", ".bash", ".zsh", ".fish", ".ksh", ".csh", ".py", ".pyw", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx",
		".go", ".rb", ".pl", ".pm", ".php", ".ps1", ".psm1", ".psd1", ".bat", ".cmd", ".lua", ".rs", ".java", ".kt", ".kts", ".swift", ".c", ".h",
		".cc", ".cpp", ".hpp", ".cs", ".r", ".scala", ".groovy", ".applescript", ".vbs", ".tcl", ".awk", ".sed", ".mk", ".ipynb", ".vue", ".svelte",
		".html", ".htm", ".command")
	codeNames = setOf("makefile", "dockerfile", "justfile", "rakefile", "gemfile", "procfile", "vagrantfile", "containerfile")
)

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// fileKind decides by name, then by a shebang.
func fileKind(p string, data []byte) kind {
	base := strings.ToLower(path.Base(p))
	ext := path.Ext(base)
	switch {
	case len(data) > 2 && data[0] == '#' && data[1] == '!':
		return kindCode
	case codeNames[base] || codeExts[ext]:
		return kindCode
	case docExts[ext]:
		return kindDoc
	case configExts[ext] || base == ".env" || strings.HasPrefix(base, ".env."):
		return kindConfig
	}
	return kindOther
}

// check is a group of rules run on the lines where one of its keywords occurs.
type check struct {
	keywords []string // lower-case ASCII
	kinds    kind
	run      func(c *fileCtx, u unit)
}

// unit is the text a check looks at: a logical line (continuation lines joined) or, in a very long
// line, a window around the keyword.
type unit struct {
	text string
	line int // 1-based line where findings go
}

const (
	longLine    = 4096 // lines longer than this are looked at in windows
	window      = 512  // bytes either side of a keyword in a long line
	maxJoin     = 8    // continuation lines joined into one logical line
	maxDecodeAt = 2    // nesting of decoded or cleaned text that is scanned again
	// workFactor bounds the text the checks may look at, as a multiple of the file's size (plus
	// workSlack). Ordinary files use well under one; text stuffed with keywords (minified code,
	// or an attempt to slow the scanner down) stops there, with a note in Report.Skipped.
	workFactor = 4
	workSlack  = 64 << 10
)

var (
	acOnce sync.Once
	ac     *automaton
)

// automatonForChecks builds the keyword matcher once.
func automatonForChecks() *automaton {
	acOnce.Do(func() {
		idx := map[string]int{}
		var kws []string
		var ids [][]uint16
		for i, ch := range allChecks() {
			for _, k := range ch.keywords {
				if k == "" || k != strings.ToLower(k) {
					panic("scan: keyword must be lower-case and not empty: " + k)
				}
				j, ok := idx[k]
				if !ok {
					j = len(kws)
					idx[k] = j
					kws = append(kws, k)
					ids = append(ids, nil)
				}
				ids[j] = mergeIDs(ids[j], []uint16{uint16(i)})
			}
		}
		ac = newAutomaton(kws, ids)
	})
	return ac
}

// fileCtx is one text being scanned: a file, or text found inside one (a line cleaned of invisible
// characters, a decoded base64 payload), whose findings then go to the line it came from.
type fileCtx struct {
	s      *collector
	name   string
	kind   kind
	data   string
	starts []int // offset of each line
	depth  int
	// fixedLine and note are set for text found inside a file.
	fixedLine  int
	note       string
	lastEnd    []int // per check: offset up to which it has seen the text
	work       int   // bytes of text the checks have looked at
	overBudget bool  // work went over its bound

	// outer is the file that text found inside one comes from, for the weight of its lines.
	outer                                 *fileCtx
	docDone                               bool
	docLines                              []bool
	fetchedDone, downloadsDone, setupDone bool
	setup                                 []bool
	bannerUntil                           int
	vars                                  map[string]string
	fetched                               map[string]int
	downloads                             map[string]int
}

func newFileCtx(s *collector, name string, k kind, data string) *fileCtx {
	c := &fileCtx{s: s, name: name, kind: k, data: data}
	n := strings.Count(data, "\n")
	c.starts = make([]int, 1, n+1)
	for i := 0; i < len(data); {
		j := strings.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		c.starts = append(c.starts, i)
	}
	return c
}

// add reports a finding at line (1-based) of this text.
func (c *fileCtx) add(id string, line int, excerpt, detail string) {
	if c.fixedLine > 0 {
		line = c.fixedLine
		if c.note != "" {
			if detail != "" {
				detail += " "
			}
			detail += "(" + c.note + ")"
		}
	}
	at := c
	if c.outer != nil {
		at = c.outer
	}
	c.s.addWeighed(id, c.name, line, excerpt, detail, at.weighedAsDoc(rulesByID[id], line))
}

func (c *fileCtx) nlines() int { return len(c.starts) }

// lineText returns line i (0-based) without its newline.
func (c *fileCtx) lineText(i int) string {
	if i < 0 || i >= len(c.starts) {
		return ""
	}
	end := len(c.data)
	if i+1 < len(c.starts) {
		end = c.starts[i+1] - 1
	}
	return strings.TrimSuffix(c.data[c.starts[i]:end], "\r")
}

// run applies every rule to the text.
func (c *fileCtx) run() {
	c.keywordPass()
	if c.depth == 0 {
		c.unicodePass()
	}
	if c.depth < maxDecodeAt {
		c.blobPass()
	}
}

// inner scans text found inside this one (depth+1); its findings go to line.
func (c *fileCtx) inner(text string, line int, k kind, note string) {
	if c.depth+1 > maxDecodeAt || text == "" {
		return
	}
	if c.fixedLine > 0 {
		line = c.fixedLine
		note = c.note + ", " + note
	}
	in := newFileCtx(c.s, c.name, k, text)
	in.depth = c.depth + 1
	in.outer = c
	if c.outer != nil {
		in.outer = c.outer
	}
	in.fixedLine = line
	in.note = note
	in.run()
}

// keywordPass finds every keyword in one pass and runs the checks it triggers, once per logical
// line (or window) and check.
func (c *fileCtx) keywordPass() {
	a := automatonForChecks()
	checks := allChecks()
	c.lastEnd = make([]int, len(checks))
	cur := 0
	cachedLine := -1
	var cached unit
	var cachedEnd int
	budget := workFactor*len(c.data) + workSlack
	a.scan(c.data, func(end int, ids []uint16) {
		if c.work > budget {
			if !c.overBudget {
				c.overBudget = true
				c.s.note(fmt.Sprintf("%s: pattern matching stopped at line %d: the file is too dense with keywords to analyse fully", c.name, c.lineOf(end)))
			}
			return
		}
		for cur+1 < len(c.starts) && c.starts[cur+1] <= end {
			cur++
		}
		for _, id := range ids {
			ch := &checks[id]
			if ch.kinds&c.kind == 0 || end < c.lastEnd[id] {
				continue
			}
			var u unit
			var uEnd int
			if cachedLine == cur {
				u, uEnd = cached, cachedEnd
			} else {
				u, uEnd = c.unitAt(cur, end)
				if c.lineLen(cur) <= longLine {
					cachedLine, cached, cachedEnd = cur, u, uEnd
				}
			}
			c.lastEnd[id] = uEnd
			c.work += len(u.text)
			ch.run(c, u)
		}
	})
}

func (c *fileCtx) lineLen(i int) int {
	end := len(c.data)
	if i+1 < len(c.starts) {
		end = c.starts[i+1] - 1
	}
	return end - c.starts[i]
}

// unitAt builds the unit around offset off on line i, and the offset where it ends.
func (c *fileCtx) unitAt(i, off int) (unit, int) {
	if c.lineLen(i) > longLine {
		ls := c.starts[i]
		le := ls + c.lineLen(i)
		ws, we := max(ls, off-window), min(le, off+window)
		for ws > ls && !utf8.RuneStart(c.data[ws]) {
			ws--
		}
		for we < le && !utf8.RuneStart(c.data[we]) {
			we++
		}
		return unit{text: c.data[ws:we], line: i + 1}, we
	}
	// Walk back over lines continued with a backslash, then forward over continuations and, in
	// code, unbalanced parentheses (a call spread over several lines).
	b := i
	for b > 0 && i-b < maxJoin && strings.HasSuffix(strings.TrimRight(c.lineText(b-1), " \t"), "\\") && c.lineLen(b-1) <= longLine {
		b--
	}
	e := i
	depth := 0
	for k := b; k <= e; k++ {
		depth += parenDelta(c.lineText(k))
	}
	for e+1 < c.nlines() && e-b < maxJoin && c.lineLen(e+1) <= longLine {
		t := strings.TrimRight(c.lineText(e), " \t")
		if !strings.HasSuffix(t, "\\") && !(depth > 0 && c.kind&(kindCode|kindConfig) != 0) {
			break
		}
		e++
		depth += parenDelta(c.lineText(e))
	}
	end := len(c.data)
	if e+1 < len(c.starts) {
		end = c.starts[e+1] - 1
	}
	if b == e {
		return unit{text: c.lineText(b), line: b + 1}, end
	}
	var sb strings.Builder
	for k := b; k <= e; k++ {
		t := strings.TrimRight(c.lineText(k), " \t")
		t = strings.TrimSuffix(t, "\\")
		if k > b {
			sb.WriteByte(' ')
			t = strings.TrimLeft(t, " \t")
		}
		sb.WriteString(t)
	}
	return unit{text: sb.String(), line: b + 1}, end
}

func parenDelta(s string) int {
	return strings.Count(s, "(") - strings.Count(s, ")")
}

// linesWith returns the lines (0-based, ascending, at most 10000) that contain one of the literals.
func (c *fileCtx) linesWith(subs ...string) []int {
	seen := map[int]bool{}
	var out []int
	for _, sub := range subs {
		if sub == "" {
			continue
		}
		for i := 0; len(out) < 10000; {
			j := strings.Index(c.data[i:], sub)
			if j < 0 {
				break
			}
			l := c.lineOf(i+j) - 1
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
			// Continue on the next line: one hit per line is enough.
			if l+1 >= len(c.starts) {
				break
			}
			i = c.starts[l+1]
		}
	}
	sort.Ints(out)
	return out
}

// makeExcerpt trims s to at most maxExcerpt runes and shows control and invisible characters as
// \u{...}, so that an excerpt never hides or reorders text on the reviewer's screen.
func makeExcerpt(s string) string {
	s = strings.TrimSpace(s)
	var sb strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := ""
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = `\u{fffd}`
		case r == '\t':
			piece = " "
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isInvisible(r):
			piece = fmt.Sprintf(`\u{%x}`, r)
		default:
			piece = s[i : i+size]
		}
		i += size
		pn := utf8.RuneCountInString(piece)
		if n+pn > maxExcerpt-1 && i < len(s) || n+pn > maxExcerpt {
			sb.WriteString("…")
			break
		}
		sb.WriteString(piece)
		n += pn
	}
	return sb.String()
}

// isInvisible reports characters that render as nothing: format characters (zero-width, bidi
// controls, BOM, tag characters), variation selectors beyond the emoji one, and Hangul fillers.
func isInvisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || (r >= 0xE0100 && r <= 0xE01EF) || r == 0x3164 || r == 0x115F || r == 0x1160 || r == 0xFFA0 || r == 0x180E
}

// oneLine makes a message a single safe line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	var sb strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || isInvisible(r) {
			fmt.Fprintf(&sb, `\u{%x}`, r)
			continue
		}
		sb.WriteRune(r)
	}
	out := sb.String()
	if utf8.RuneCountInString(out) > 300 {
		rs := []rune(out)
		out = string(rs[:299]) + "…"
	}
	return out
}

// quoteShort shows a fragment inside a message.
func quoteShort(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > n {
		rs := []rune(s)
		s = string(rs[:n-1]) + "…"
	}
	return `"` + s + `"`
}

func itoa(n int) string { return strconv.Itoa(n) }

// containsAny reports whether s contains one of the literals. Checks use it to skip a regular
// expression on text that cannot match: a literal search is far cheaper than a pattern with no
// literal prefix.
func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// hasDottedQuad reports whether s holds something shaped like an IPv4 address (n.n.n.n).
func hasDottedQuad(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || (i > 0 && s[i-1] >= '0' && s[i-1] <= '9') {
			continue
		}
		j, parts := i, 0
		for parts < 4 {
			k := j
			for k < len(s) && k-j < 3 && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k == j {
				break
			}
			parts++
			if parts == 4 || k >= len(s) || s[k] != '.' {
				j = k
				break
			}
			j = k + 1
		}
		if parts == 4 {
			return true
		}
	}
	return false
}
