package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// sortFindings orders findings by severity (highest first), file, line and rule.
func (r *Report) sortFindings() {
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		switch {
		case a.Rule.Severity != b.Rule.Severity:
			return int(b.Rule.Severity) - int(a.Rule.Severity)
		case a.File != b.File:
			return strings.Compare(a.File, b.File)
		case a.Line != b.Line:
			return a.Line - b.Line
		}
		return strings.Compare(a.Rule.ID, b.Rule.ID)
	})
}

// Max returns the highest severity found, Info when there are no findings.
func (r *Report) Max() Severity {
	m := Info
	for _, f := range r.Findings {
		m = max(m, f.Rule.Severity)
	}
	return m
}

// Count returns the number of findings at or above min.
func (r *Report) Count(min Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Rule.Severity >= min {
			n++
		}
	}
	return n
}

// ANSI colours by severity, used only when the caller says the output is a terminal.
var severityColor = map[Severity]string{
	Critical: "\x1b[1;31m",
	High:     "\x1b[31m",
	Medium:   "\x1b[33m",
	Low:      "\x1b[36m",
	Info:     "\x1b[2m",
}

const colorReset = "\x1b[0m"

// WriteText writes the report for a person: findings grouped by class (the group with the most
// severe finding first), one line each as "SEVERITY RULE-ID file:line: message [excerpt]", then
// what was skipped and a summary line. color adds ANSI colours, for a terminal.
func (r *Report) WriteText(w io.Writer, color bool) error {
	ew := &errWriter{w: w}
	groups := map[string][]Finding{}
	for _, f := range r.Findings {
		groups[f.Rule.Class] = append(groups[f.Rule.Class], f)
	}
	order := slices.Clone(classOrder)
	for c := range groups {
		if !slices.Contains(order, c) {
			order = append(order, c)
		}
	}
	groupMax := func(c string) Severity {
		m := Info
		for _, f := range groups[c] {
			m = max(m, f.Rule.Severity)
		}
		return m
	}
	slices.SortStableFunc(order, func(a, b string) int { return int(groupMax(b)) - int(groupMax(a)) })
	first := true
	for _, c := range order {
		fs := groups[c]
		if len(fs) == 0 {
			continue
		}
		if !first {
			ew.printf("\n")
		}
		first = false
		title := classTitles[c]
		if title == "" {
			title = c
		}
		if color {
			ew.printf("\x1b[1m%s\x1b[0m (%s)\n", c, title)
		} else {
			ew.printf("%s (%s)\n", c, title)
		}
		for _, f := range fs {
			sev := strings.ToUpper(f.Rule.Severity.String())
			pad := strings.Repeat(" ", len("CRITICAL")-len(sev))
			if color {
				sev = severityColor[f.Rule.Severity] + sev + colorReset
			}
			ew.printf("  %s%s %s %s: %s", sev, pad, f.Rule.ID, location(f), f.Message)
			if f.Excerpt != "" {
				ew.printf(" [%s]", f.Excerpt)
			}
			ew.printf("\n")
		}
	}
	if len(r.Skipped) > 0 {
		if !first {
			ew.printf("\n")
		}
		ew.printf("skipped:\n")
		for _, s := range r.Skipped {
			ew.printf("  %s\n", s)
		}
	}
	if !first || len(r.Skipped) > 0 {
		ew.printf("\n")
	}
	ew.printf("%s\n", r.summary())
	return ew.err
}

// location is file:line, or file alone for findings about a whole file.
func location(f Finding) string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// summary is the last line of the text report.
func (r *Report) summary() string {
	var parts []string
	for s := Critical; s >= Info; s-- {
		n := 0
		for _, f := range r.Findings {
			if f.Rule.Severity == s {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	what := "no findings"
	switch len(r.Findings) {
	case 0:
	case 1:
		what = "1 finding (" + strings.Join(parts, ", ") + ")"
	default:
		what = fmt.Sprintf("%d findings (%s)", len(r.Findings), strings.Join(parts, ", "))
	}
	files := "files"
	if r.Files == 1 {
		files = "file"
	}
	s := fmt.Sprintf("%s in %d %s, %s", what, r.Files, files, humanBytes(int64(r.Bytes)))
	if r.Unpacked > 0 {
		s += fmt.Sprintf(" (%d of the files inside archives)", r.Unpacked)
	}
	if len(r.Skipped) > 0 {
		s += fmt.Sprintf("; %d skipped", len(r.Skipped))
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// jsonReport is the JSON form: the report plus its highest severity, so that a consumer need not
// recompute it.
type jsonReport struct {
	Max      Severity  `json:"max"`
	Findings []Finding `json:"findings"`
	Files    int       `json:"files"`
	Bytes    int       `json:"bytes"`
	Skipped  []string  `json:"skipped"`
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	j := jsonReport{Max: r.Max(), Findings: r.Findings, Files: r.Files, Bytes: r.Bytes, Skipped: r.Skipped}
	if j.Findings == nil {
		j.Findings = []Finding{}
	}
	if j.Skipped == nil {
		j.Skipped = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}
