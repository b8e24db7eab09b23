package scan

import (
	"path"
	"strings"
)

// Documentation weighs less than code. A script that runs `crontab` installs a cron job; a guide
// that mentions `crontab` does not, and an agent reads most of a skill's documentation only when it
// needs it, as reference. So a finding of a rule that looks for a command or a technique
// (hidden-exec, redirection, persistence, exfiltration, and SR-SOC-003, which turns protections
// off) is one severity step lower when it sits in documentation: critical becomes high (still
// refused at approval: a download-and-run written anywhere is refused), high becomes medium.
//
// What counts as documentation, and what as code that executes:
//
//   - code and configuration files weigh as code, always;
//   - SKILL.md is the agent's instructions, read on every use: its fenced code blocks and its
//     lines with inline code (`run this`) weigh as code, its other prose as documentation;
//   - any other documentation file (references, guides, READMEs, files in archives) weighs as
//     documentation throughout, code blocks included, unless a sentence of SKILL.md names the
//     file and tells the agent to run, execute, follow, apply, complete, install, source, copy or
//     set up from it: then its fenced code blocks weigh as code too.
//
// The rules about documentation itself (SR-SOC-001, SR-SOC-002, SR-SOC-004: instructions to
// download and run something, to paste a command into a terminal, to send credential files),
// credentials and the obfuscation rules (invisible characters, encoded commands) keep their weight
// everywhere: in documentation they are the attack.
const docWeightNote = "in documentation: one step below code"

// weighsAsCommand reports the rules that a mention in documentation weighs less for.
func weighsAsCommand(r *Rule) bool {
	switch r.Class {
	case ClassHiddenExec, ClassRedirection, ClassPersistence, ClassExfiltration:
		return true
	}
	return r.ID == ruleDisableSafety
}

// isSkillMD reports the skill's own SKILL.md (at the root, not one inside an archive or a folder).
func isSkillMD(name string) bool {
	return strings.EqualFold(name, "SKILL.md")
}

// docWeights marks the lines (0-based) of a documentation file that weigh as documentation.
func (c *fileCtx) docWeights() []bool {
	if c.docDone {
		return c.docLines
	}
	c.docDone = true
	skill := isSkillMD(c.name)
	run := !strings.Contains(c.name, "!") && (c.s.runDocs[c.name] || c.s.runDocs[path.Base(c.name)])
	c.docLines = make([]bool, c.nlines())
	fence := ""
	for i := range c.docLines {
		l := strings.TrimLeft(c.lineText(i), " \t")
		code := fence != ""
		switch {
		case fence != "" && strings.HasPrefix(l, fence):
			fence = ""
		case fence == "" && (strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~")):
			fence = l[:3]
			code = true
		}
		switch {
		case code:
			c.docLines[i] = !skill && !run
		case skill && strings.Count(l, "`") >= 2:
			c.docLines[i] = false
		default:
			c.docLines[i] = true
		}
	}
	return c.docLines
}

// weighedAsDoc reports whether a finding of rule r on line (1-based) is in documentation.
func (c *fileCtx) weighedAsDoc(r *Rule, line int) bool {
	if c.kind != kindDoc || !weighsAsCommand(r) || line < 1 {
		return false
	}
	w := c.docWeights()
	return line-1 < len(w) && w[line-1]
}

var (
	reDocRef  = lazyRegexp(`(?i)[\w./-]*[\w-]\.(?:md|markdown|mdx|txt|rst)\b`)
	reRunVerb = lazyRegexp(`(?i)\b(?:run|runs|running|execute|executes|exec|follow|following|apply|complete|install|source|copy|paste|set ?up|carry out|perform)\b`)
	// reSentenceEnd splits Markdown text into sentences: at ".", "!" or "?" before a space, at
	// blank lines, list items and headings.
	reSentenceEnd = lazyRegexp(`[.!?]+(?:\s|$)|\n\s*\n|\n\s*(?:[-*+]|\d+[.)]|#+)\s`)
)

// runDocs finds the documentation files SKILL.md tells the agent to run: names of .md, .txt or
// .rst files in a sentence with a verb of running. Both the path as written and its base name are
// returned, so that "follow SETUP.md" covers docs/SETUP.md.
func runDocs(skillMD string) map[string]bool {
	out := map[string]bool{}
	for _, s := range reSentenceEnd.Split(skillMD, -1) {
		refs := reDocRef.FindAllString(s, -1)
		if len(refs) == 0 || !reRunVerb.MatchString(s) {
			continue
		}
		for _, r := range refs {
			r = path.Clean(strings.TrimPrefix(r, "./"))
			out[r] = true
			out[path.Base(r)] = true
		}
	}
	return out
}
