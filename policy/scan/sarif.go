package scan

import (
	"encoding/json"
	"io"
	"net/url"
	"strings"
)

// SARIF 2.1.0, the format code-scanning services read. Only the fields they need are written.

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           sarifRuleProps `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags []string `json:"tags"`
	// SecuritySeverity is the 0-10 score code-scanning services rank security alerts by.
	SecuritySeverity string `json:"security-severity"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int        `json:"startLine"`
	Snippet   *sarifText `json:"snippet,omitempty"`
}

// sarifLevel maps severities to SARIF levels: critical and high are errors, medium a warning,
// low and info notes.
func sarifLevel(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s == Medium:
		return "warning"
	}
	return "note"
}

var securitySeverity = map[Severity]string{Critical: "9.5", High: "8.0", Medium: "5.5", Low: "3.0", Info: "1.0"}

// WriteSARIF writes the report as a SARIF 2.1.0 log with every rule in the driver, so that a
// code-scanning service can show rules that found nothing too.
func (r *Report) WriteSARIF(w io.Writer, toolVersion string) error {
	rules := Rules()
	index := map[string]int{}
	drv := sarifDriver{Name: "skillrun", Version: toolVersion, Rules: make([]sarifRule, 0, len(rules))}
	for i, rl := range rules {
		index[rl.ID] = i
		drv.Rules = append(drv.Rules, sarifRule{
			ID:                   rl.ID,
			Name:                 ruleName(rl),
			ShortDescription:     sarifText{rl.Title},
			DefaultConfiguration: sarifConfig{sarifLevel(rl.Severity)},
			Properties:           sarifRuleProps{Tags: []string{"security", rl.Class}, SecuritySeverity: securitySeverity[rl.Severity]},
		})
	}
	results := make([]sarifResult, 0, len(r.Findings))
	for _, f := range r.Findings {
		loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(f.File)}}
		if f.Line > 0 {
			loc.Region = &sarifRegion{StartLine: f.Line}
			if f.Excerpt != "" {
				loc.Region.Snippet = &sarifText{f.Excerpt}
			}
		}
		results = append(results, sarifResult{
			RuleID:    f.Rule.ID,
			RuleIndex: index[f.Rule.ID],
			Level:     sarifLevel(f.Rule.Severity),
			Message:   sarifText{f.Message},
			Locations: []sarifLocation{{PhysicalLocation: loc}},
		})
	}
	log := sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{{Tool: sarifTool{Driver: drv}, Results: results}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// ruleName is a PascalCase name derived from the ID, as SARIF's rule name field expects.
func ruleName(r Rule) string {
	var sb strings.Builder
	for _, p := range strings.Split(strings.ToLower(r.ID), "-") {
		if p == "" {
			continue
		}
		sb.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return sb.String()
}

// fileURI escapes a relative slash path as a URI reference.
func fileURI(p string) string {
	u := (&url.URL{Path: p}).EscapedPath()
	if first, _, _ := strings.Cut(u, "/"); strings.Contains(first, ":") {
		u = "./" + u // a colon in the first segment would read as a scheme
	}
	return u
}
