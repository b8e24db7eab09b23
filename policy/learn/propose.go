package learn

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/skillrun/skillrun/policy"
)

// ErrLearn wraps this package's errors.
var ErrLearn = errors.New("learn")

// Toolchains are the built-in profiles a proposal may extend instead of naming their paths.
var Toolchains = []string{"python", "node", "go", "rust", "git"}

// maxHosts bounds the hosts one run proposes: a skill that needs more is not one to approve
// from a learned list.
const maxHosts = 32

// maxFolders bounds the folders proposed below one anchor for one access: past it the anchor
// itself is proposed (the workspace, the cache) or the rest is only reported (elsewhere).
const maxFolders = 16

// HostUse is one host:port the command asked the egress proxy for.
type HostUse struct {
	Target  string // host:port as a manifest spells it
	Count   int
	Allowed bool // let through (skillrun learn --allow-hosts)
	// Reason is why the proxy refused it, in words.
	Reason string
}

// ViewPath is one mount of the learning view.
type ViewPath struct {
	Path  string
	Tmpfs bool // shows nothing of the host below it (the empty home, the private /tmp)
}

// Input is everything a proposal is made from.
type Input struct {
	Skill string
	Log   *Log
	Hosts []HostUse
	// ExitCode is the command's status.
	ExitCode int
	// Vars are the values of ${WORKSPACE}, ${SKILL_DIR}, ${HOME}, ${CACHE} and ${TMPDIR} (the
	// sandbox's /tmp) in this run.
	Vars map[string]string
	// View is the learning view's mounts.
	View []ViewPath
	// NeverRead and NeverWrite are the floor's paths for this run, expanded; the last element
	// may be a glob.
	NeverRead, NeverWrite []string
	// Exists looks a path up on the host: a path the command tried that exists nowhere was a
	// lookup (a search path, a probe), not a need.
	Exists func(string) bool
	// Current is the skill's manifest now, nil when it has none.
	Current *policy.Manifest
	// Cwd is where the command started: a plan refuses to run in a folder it does not show.
	Cwd string
	// CreatedDuring says a path that exists now was made during the run (its birth time), true
	// when that cannot be known. A mkdir -p of a folder that was already there, or a rename onto
	// a path that no longer exists, changed nothing and asks for nothing.
	CreatedDuring func(string) bool
	// Unread counts the calls whose path the recorder could not read.
	Unread int
}

// Line is one capability the proposal adds, with what the command did that asks for it.
type Line struct {
	// Section is "extends", "filesystem.read", "filesystem.write", "filesystem.exec" or
	// "network.allow".
	Section  string
	Value    string
	Evidence string
}

// Proposal is the learned manifest: the current one plus what this run needed.
type Proposal struct {
	Manifest Doc
	Added    []Line
	// Notes say in plain words what learn saw and would not propose.
	Notes []string
	// Toolchains are the toolchains the command ran, e.g. "python (python3, 2 runs)".
	Toolchains []string
	// Programs are the programs it ran, the most frequent first, e.g. "python3 2x".
	Programs []string
}

// anchors are the variables a path is written with, most specific first.
var anchors = []string{"SKILL_DIR", "CACHE", "WORKSPACE", "TMPDIR", "HOME"}

type need struct{ read, write, exec bool }

// group gathers the paths proposed under one folder.
type group struct {
	section, anchor string
	dirs            [][]string // each path's folder, as elements below the anchor
	files           int
	example         string
	bad             bool // a name was cut because it cannot be written in a manifest
}

type proposer struct {
	in       Input
	base     map[string][]string // access -> expanded paths of the base profile
	tools    map[string]map[string][]string
	current  map[string][]string // the current manifest's paths (and its profiles'), by access
	extends  map[string][]string // profile -> evidence
	groups   map[string]*group
	notes    noteSet
	created  map[string]bool
	cwdGroup *group   // the group of the starting folder, whose evidence says so
	homeOnly []string // writes that stayed in the run's private home
}

// Propose makes the proposal for one learned run.
func Propose(in Input) (*Proposal, error) {
	if in.Log == nil || in.Vars["WORKSPACE"] == "" || in.Vars["SKILL_DIR"] == "" {
		return nil, fmt.Errorf("%w: a proposal needs a log, the workspace and the skill's folder", ErrLearn)
	}
	if in.Exists == nil {
		in.Exists = func(string) bool { return true }
	}
	if in.CreatedDuring == nil {
		in.CreatedDuring = func(string) bool { return true }
	}
	p := &proposer{in: in, extends: map[string][]string{}, groups: map[string]*group{}, created: map[string]bool{},
		tools: map[string]map[string][]string{}, current: map[string][]string{}}
	var err error
	if p.base, err = p.profilePaths("base"); err != nil {
		return nil, err
	}
	for _, t := range Toolchains {
		if p.tools[t], err = p.profilePaths(t); err != nil {
			return nil, err
		}
	}
	if c := in.Current; c != nil {
		for _, e := range c.Extends {
			pp, err := p.profilePaths(e)
			if err != nil {
				return nil, err
			}
			for k, v := range pp {
				p.current[k] = append(p.current[k], v...)
			}
		}
		w := p.expandHost(c.Filesystem.Write)
		p.current["read"] = append(p.current["read"], append(p.expandHost(c.Filesystem.Read), w...)...)
		p.current["write"] = append(p.current["write"], w...)
		p.current["exec"] = append(p.current["exec"], p.expandHost(c.Filesystem.Exec)...)
	}
	entries := in.Log.Entries()
	for _, e := range entries {
		if e.Access&(Create|Write) != 0 {
			p.created[e.Path] = true
		}
	}
	if in.Cwd != "" {
		p.workingDir(in.Cwd)
	}
	programs := map[string]int{}
	for _, e := range entries {
		if e.Access&Exec != 0 {
			programs[path.Base(e.Path)] += e.Count
		}
		p.entry(e)
	}
	prop := &Proposal{Toolchains: toolchainsRun(programs), Programs: programList(programs)}
	doc := p.manifest(prop)
	p.hosts(&doc, prop)
	prop.Manifest = doc
	p.finalNotes()
	prop.Notes = p.notes.list
	if _, err := doc.Render(); err != nil {
		return nil, err
	}
	return prop, nil
}

func (p *proposer) profilePaths(name string) (map[string][]string, error) {
	prof, err := policy.LoadProfile(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLearn, err)
	}
	fs := prof.Filesystem
	w := p.expandHost(fs.Write)
	return map[string][]string{
		"read":  append(append(p.expandHost(fs.Read), p.expandHost(fs.Exec)...), w...),
		"write": w,
		"exec":  p.expandHost(fs.Exec),
	}, nil
}

// expand replaces the anchors' variables; a path with another variable expands to nothing.
func (p *proposer) expand(s string) string {
	for _, v := range append(anchors, "CONFIG", "STATE") {
		s = strings.ReplaceAll(s, "${"+v+"}", p.in.Vars[v])
	}
	if strings.Contains(s, "${") || !path.IsAbs(s) {
		return ""
	}
	return path.Clean(s)
}

// expandHost expands list, leaving out ${TMPDIR} paths: the sandbox's /tmp is its own, and a host
// path below /tmp (a workspace there, say) is not in it.
func (p *proposer) expandHost(list []string) []string {
	var out []string
	for _, s := range list {
		if !strings.HasPrefix(s, "${TMPDIR}") {
			if e := p.expand(s); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

func (p *proposer) expandAll(list []string) []string {
	var out []string
	for _, s := range list {
		if e := p.expand(s); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func within(p, base string) bool {
	return base != "" && (p == base || base == "/" || strings.HasPrefix(p, base+"/"))
}

func withinAny(p string, list []string) bool {
	for _, b := range list {
		if within(p, b) {
			return true
		}
	}
	return false
}

// withinFloor matches p against floor paths whose last element may be a glob.
func withinFloor(p string, list []string) (string, bool) {
	for _, f := range list {
		base := path.Base(f)
		if !strings.ContainsAny(base, "*?[") {
			if within(p, f) {
				return f, true
			}
			continue
		}
		dir := path.Dir(f)
		if !within(p, dir) || p == dir {
			continue
		}
		elem := strings.SplitN(strings.TrimPrefix(p, dir+"/"), "/", 2)[0]
		if ok, _ := path.Match(base, elem); ok {
			return f, true
		}
	}
	return "", false
}

// anchorOf returns the variable p is written with and p's elements below it ("" and the whole
// path for paths outside every anchor).
func (p *proposer) anchorOf(pth string) (string, string) {
	best := ""
	for _, a := range anchors {
		v := p.in.Vars[a]
		if v != "" && within(pth, v) && (best == "" || len(v) > len(p.in.Vars[best])) {
			best = a
		}
	}
	if best == "" {
		return "", strings.TrimPrefix(pth, "/")
	}
	return best, strings.TrimPrefix(strings.TrimPrefix(pth, p.in.Vars[best]), "/")
}

func (p *proposer) visible(pth string) bool {
	var best *ViewPath
	for i := range p.in.View {
		v := &p.in.View[i]
		if within(pth, v.Path) && (best == nil || len(v.Path) > len(best.Path)) {
			best = v
		}
	}
	return best != nil && (!best.Tmpfs || best.Path == pth)
}

func (p *proposer) entry(e Entry) {
	if !path.IsAbs(e.Path) {
		return // the recorder resolves every path; anything else was never a path
	}
	e.Path = path.Clean(e.Path)
	pth := e.Path
	for _, sys := range []string{"/proc", "/dev", "/sys"} {
		if within(pth, sys) {
			return
		}
	}
	n := need{read: e.Access&(Read|Dir|Cwd) != 0, write: e.Access&(Write|Create|Remove) != 0, exec: e.Access&Exec != 0}
	shown := safeText(p.display(pth))
	if f, ok := withinFloor(pth, p.in.NeverRead); ok {
		p.notes.add(fmt.Sprintf("the floor keeps %s from every command; it tried %s (not proposed: never readable)", p.display(f), shown))
		return
	}
	anchor, _ := p.anchorOf(pth)
	if anchor == "SKILL_DIR" {
		if n.write {
			p.notes.add(fmt.Sprintf("it tried to change its own folder (%s); a skill's folder is never writable", shown))
		}
		return // readable and executable in every run of the skill
	}
	if n.write && e.Access&(Write|Remove) == 0 && (!p.in.Exists(pth) || !p.in.CreatedDuring(pth)) {
		n.write = false // a creation that did not happen, or of what was already there
	}
	if n.write {
		if f, ok := withinFloor(pth, p.in.NeverWrite); ok {
			p.notes.add(fmt.Sprintf("the floor keeps %s unwritable; it tried to change %s (not proposed)", p.display(f), shown))
			n.write = false
		}
	}
	if anchor == "TMPDIR" {
		return // every run's private /tmp
	}
	if n.write {
		switch anchor {
		case "WORKSPACE", "CACHE":
			if !withinAny(pth, p.current["write"]) {
				p.add("filesystem.write", anchor, e)
			}
		case "HOME":
			if !p.visible(pth) {
				p.homeOnly = append(p.homeOnly, pth)
				break
			}
			fallthrough
		default:
			p.notes.add(fmt.Sprintf("it wrote %s, outside the workspace (not proposed: a skill writes only its workspace folders and its ${CACHE})", shown))
		}
	}
	if !n.read && !n.exec {
		return
	}
	if n.write && (anchor == "WORKSPACE" || anchor == "CACHE") || p.created[pth] {
		return // what it wrote it may read
	}
	if !p.in.Exists(pth) {
		return // a lookup that found nothing on the host either
	}
	if n.exec {
		p.cover("exec", anchor, e)
	}
	if n.read && !n.exec {
		p.cover("read", anchor, e)
	}
}

// workingDir makes sure the folder the command starts in is shown: skillrun refuses to start a
// command in a folder its plan does not show.
func (p *proposer) workingDir(cwd string) {
	anchor, _ := p.anchorOf(cwd)
	if anchor == "SKILL_DIR" || anchor == "TMPDIR" || withinAny(cwd, p.base["read"]) || withinAny(cwd, p.current["read"]) {
		return
	}
	for _, t := range Toolchains {
		if withinAny(cwd, p.tools[t]["read"]) {
			p.extends[t] = append(p.extends[t], "starts in "+p.display(cwd))
			return
		}
	}
	p.add("filesystem.read", anchor, Entry{Path: cwd, Access: Cwd | Dir, Count: 1})
	p.cwdGroup = p.groups["filesystem.read\x00"+anchor+"\x00"+firstElem(p.rel(cwd))]
}

func (p *proposer) rel(pth string) string {
	_, r := p.anchorOf(pth)
	return r
}

func firstElem(rel string) string {
	e, _, _ := strings.Cut(rel, "/")
	return e
}

// cover finds what gives access to a path: the base profile, the current manifest, a toolchain
// profile (proposed as extends:), or a new line.
func (p *proposer) cover(access, anchor string, e Entry) {
	pth := e.Path
	if withinAny(pth, p.base[access]) || withinAny(pth, p.current[access]) {
		return
	}
	for _, t := range Toolchains {
		if withinAny(pth, p.tools[t][access]) {
			verb := map[string]string{"read": "reads", "exec": "runs"}[access]
			p.extends[t] = append(p.extends[t], verb+" "+p.display(pth))
			return
		}
	}
	if anchor == "HOME" && p.visible(pth) {
		return // a toolchain path of the learning view the checks above already cover
	}
	p.add("filesystem."+access, anchor, e)
}

// add puts a path into its group: below its anchor, by the first folder under it.
func (p *proposer) add(section, anchor string, e Entry) {
	_, rel := p.anchorOf(e.Path)
	elems := splitElems(rel)
	dir := elems
	if e.Access&(Dir|Cwd) == 0 && len(elems) > 1 {
		// A file: its folder. A file right below an anchor stays itself: its folder would be
		// the whole workspace, home or root.
		dir = elems[:len(elems)-1]
	}
	if anchor == "CACHE" {
		dir = nil // the skill's own cache: only it ever sees it, so it is granted whole
	}
	bad := false
	for i, el := range dir {
		if !writable(el) {
			dir, bad = dir[:i], true
			break
		}
	}
	if bad && len(dir) == 0 {
		p.notes.add(fmt.Sprintf("it reached %s, whose name cannot be written in a manifest (control characters, invalid UTF-8 or pattern characters); not proposed", safeText(p.display(e.Path))))
		return
	}
	key := section + "\x00" + anchor + "\x00"
	if len(dir) > 0 {
		key += dir[0]
	}
	g := p.groups[key]
	if g == nil {
		g = &group{section: section, anchor: anchor}
		p.groups[key] = g
	}
	g.dirs = append(g.dirs, dir)
	if e.Access&(Dir|Cwd) == 0 || len(g.dirs) == 1 {
		if e.Access&(Dir|Cwd) == 0 {
			g.files++
		}
		if g.example == "" || g.files <= 1 && e.Access&(Dir|Cwd) == 0 || rel < g.example && e.Access&(Dir|Cwd) == 0 {
			g.example = rel
		}
	}
	g.bad = g.bad || bad
}

func splitElems(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// writable says a path element can be written in a manifest as it is: valid UTF-8, no control
// or invisible characters, nothing a pattern or variable would read (*?[]{}$\).
func writable(el string) bool {
	if el == "" || el == "." || el == ".." || !utf8.ValidString(el) || strings.ContainsAny(el, "*?[]{}$\\\"'") || strings.TrimSpace(el) != el {
		return false
	}
	for _, r := range el {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// safeText shows a path in a message: as it is when printable, quoted with escapes otherwise.
func safeText(s string) string {
	for _, el := range strings.Split(s, "/") {
		if el != "" && !writable(el) && !strings.HasPrefix(el, "${") {
			return strconv.Quote(s)
		}
	}
	return s
}

// display writes a path with the anchor it lies in.
func (p *proposer) display(pth string) string {
	anchor, rel := p.anchorOf(pth)
	if anchor == "" {
		return pth
	}
	if rel == "" {
		return "${" + anchor + "}"
	}
	return "${" + anchor + "}/" + rel
}

func commonPrefix(dirs [][]string) []string {
	if len(dirs) == 0 {
		return nil
	}
	out := dirs[0]
	for _, d := range dirs[1:] {
		n := 0
		for n < len(out) && n < len(d) && out[n] == d[n] {
			n++
		}
		out = out[:n]
	}
	return out
}

// manifest merges the current manifest with the groups and profiles this run needed.
func (p *proposer) manifest(prop *Proposal) Doc {
	doc := Doc{Version: 1, Name: p.in.Skill}
	if c := p.in.Current; c != nil {
		doc = docOf(c)
	}
	names := append([]string(nil), Toolchains...)
	sort.Strings(names) // the order extends: is written in, and the same run gives the same report
	for _, t := range names {
		ev, ok := p.extends[t]
		if ok && !contains(doc.Extends, t) {
			doc.Extends = append(doc.Extends, t)
			prop.Added = append(prop.Added, Line{Section: "extends", Value: t, Evidence: summarize(ev)})
		}
	}
	sort.Strings(doc.Extends)
	// Groups by section and anchor, so a crowded anchor can be proposed whole.
	type bucket struct {
		section, anchor string
		groups          []*group
	}
	buckets := map[string]*bucket{}
	for _, g := range p.groups {
		k := g.section + "\x00" + g.anchor
		if buckets[k] == nil {
			buckets[k] = &bucket{section: g.section, anchor: g.anchor}
		}
		buckets[k].groups = append(buckets[k].groups, g)
	}
	var lines []Line
	for _, b := range buckets {
		sort.Slice(b.groups, func(i, j int) bool { return b.groups[i].example < b.groups[j].example })
		verb := map[string]string{"filesystem.read": "reads", "filesystem.write": "writes", "filesystem.exec": "runs programs from"}[b.section]
		if len(b.groups) > maxFolders {
			if b.anchor == "WORKSPACE" || b.anchor == "CACHE" {
				files := 0
				for _, g := range b.groups {
					files += g.files
				}
				lines = append(lines, Line{Section: b.section, Value: "${" + b.anchor + "}",
					Evidence: fmt.Sprintf("%s %d folders of ${%s}, %d files, e.g. %s", verb, len(b.groups), b.anchor, files, safeText(b.groups[0].example))})
				continue
			}
			p.notes.add(fmt.Sprintf("it reached %d more folders below %s than learn proposes; add them by hand if the skill needs them", len(b.groups)-maxFolders, p.anchorText(b.anchor)))
			b.groups = b.groups[:maxFolders]
		}
		for _, g := range b.groups {
			folder := commonPrefix(g.dirs)
			value := p.anchorText(g.anchor)
			if len(folder) > 0 {
				if value == "/" {
					value = ""
				}
				value += "/" + strings.Join(folder, "/")
			}
			if value == "/" || g.anchor == "HOME" && len(folder) == 0 {
				p.notes.add(fmt.Sprintf("it %s files directly in %s (e.g. %s); learn does not propose a whole home or the root, add the files by hand if the skill needs them",
					verb, value, safeText(g.example)))
				continue
			}
			ev := fmt.Sprintf("%s %s: %d %s, e.g. %s", verb, value, g.files, plural(g.files, "file", "files"), safeText(g.example))
			if g.files == 0 {
				ev = fmt.Sprintf("%s %s: the folder itself (made, listed or entered), e.g. %s", verb, value, safeText(g.example))
			}
			if g == p.cwdGroup {
				ev = fmt.Sprintf("starts in %s, which must be shown to run there", p.display(p.in.Cwd))
				if g.files > 0 {
					ev += fmt.Sprintf("; reads %d %s below it, e.g. %s", g.files, plural(g.files, "file", "files"), safeText(g.example))
				}
			}
			if g.bad {
				ev += " (a name that cannot be written in a manifest was cut to its folder)"
			}
			if !p.visible(p.expand(value)) && g.section != "filesystem.write" {
				ev += "; outside the learning view, so the command did not see it: run learn again after adding it"
			}
			lines = append(lines, Line{Section: g.section, Value: value, Evidence: ev})
		}
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].Section != lines[j].Section {
			return lines[i].Section < lines[j].Section
		}
		return lines[i].Value < lines[j].Value
	})
	// A folder another proposed folder of the same access covers, or a read a write covers, goes.
	var kept []Line
	dropped := map[int]bool{}
	for i, l := range lines {
		for j, o := range lines {
			if i != j && !dropped[j] && (o.Section == l.Section || l.Section == "filesystem.read" && o.Section == "filesystem.write") &&
				within(p.expand(l.Value), p.expand(o.Value)) && (o.Value != l.Value || o.Section != l.Section) {
				dropped[i] = true
				lines[j].Evidence += "; " + l.Evidence // what it covers is evidence for it too
				break
			}
		}
	}
	for i, l := range lines {
		if !dropped[i] {
			kept = append(kept, l)
		}
	}
	for _, l := range kept {
		list := doc.list(l.Section)
		if !contains(*list, l.Value) {
			*list = append(*list, l.Value)
			prop.Added = append(prop.Added, l)
		}
	}
	return doc
}

func (p *proposer) anchorText(anchor string) string {
	if anchor == "" {
		return "/"
	}
	return "${" + anchor + "}"
}

// hosts proposes every host the command asked for that the manifest does not list yet.
func (p *proposer) hosts(doc *Doc, prop *Proposal) {
	var current *policy.HostMatcher
	if len(doc.Network.Allow) > 0 {
		current, _ = policy.NewHostMatcher(policy.Network{Allow: doc.Network.Allow})
	}
	uses := append([]HostUse(nil), p.in.Hosts...)
	sort.Slice(uses, func(i, j int) bool { return uses[i].Target < uses[j].Target })
	proposed := 0
	for _, h := range uses {
		if h.Target == "" {
			continue
		}
		if proposed == maxHosts {
			p.notes.add(fmt.Sprintf("it asked for more than %d hosts; the rest are not proposed (the audit record has them)", maxHosts))
			break
		}
		if !h.Allowed {
			why := "refused while learning"
			if h.Reason != "" {
				why = h.Reason
			}
			p.notes.add(fmt.Sprintf("%d %s to %s refused (%s); rerun with --allow-hosts to let host names through for one run",
				h.Count, plural(h.Count, "connection", "connections"), safeHost(h.Target), why))
		}
		if current != nil && coveredHost(current, h.Target) || contains(doc.Network.Allow, h.Target) {
			continue
		}
		if !validHost(h.Target) {
			p.notes.add(fmt.Sprintf("it asked for %s, which is not a host a manifest can name (not proposed)", safeHost(h.Target)))
			continue
		}
		proposed++
		doc.Network.Allow = append(doc.Network.Allow, h.Target)
		prop.Added = append(prop.Added, Line{Section: "network.allow", Value: h.Target,
			Evidence: fmt.Sprintf("asked the proxy for %s %d %s", h.Target, h.Count, plural(h.Count, "time", "times"))})
	}
}

// safeHost shows a target as it is when it could be a host:port, quoted otherwise.
func safeHost(target string) string {
	for _, r := range target {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]*_", r)) {
			return strconv.Quote(target)
		}
	}
	return target
}

func validHost(target string) bool {
	_, err := policy.NewHostMatcher(policy.Network{Allow: []string{target}})
	return err == nil && target != "*"
}

func coveredHost(m *policy.HostMatcher, target string) bool {
	i := strings.LastIndexByte(target, ':')
	if i < 0 {
		return false
	}
	port, err := strconv.Atoi(target[i+1:])
	if err != nil {
		return false
	}
	host := strings.Trim(target[:i], "[]")
	if ok, _ := m.MatchName(host, port); ok {
		return true
	}
	if a, err := parseAddr(host); err == nil {
		ok, _ := m.MatchAddr(a, port)
		return ok
	}
	return false
}

func (p *proposer) finalNotes() {
	l := p.in.Log
	if l.Truncated() {
		p.notes.add(fmt.Sprintf("the command reached more paths than learn keeps (%d accesses; %d known only by their folder, %d not kept): the proposal may miss some",
			l.Total, l.Folded, l.Dropped))
	}
	if n := p.in.Unread; n > 0 {
		p.notes.add(fmt.Sprintf("%d file %s named a path learn could not read (the process had ended, or it passed no string): not in the proposal",
			n, plural(n, "call", "calls")))
	}
	if n := len(p.homeOnly); n > 0 {
		p.notes.add(fmt.Sprintf("%d %s in the run's private, empty home, e.g. %s: discarded after every run, nothing to propose",
			n, plural(n, "write", "writes"), safeText(p.display(p.homeOnly[0]))))
	}
	if p.in.ExitCode != 0 {
		p.notes.add(fmt.Sprintf("the command exited with status %d: what it would have done after that was not seen; fix the cause and learn again", p.in.ExitCode))
	}
}

// maxPrograms bounds the programs a report names.
const maxPrograms = 12

func programList(programs map[string]int) []string {
	names := make([]string, 0, len(programs))
	for n := range programs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if programs[names[i]] != programs[names[j]] {
			return programs[names[i]] > programs[names[j]]
		}
		return names[i] < names[j]
	})
	var out []string
	for i, n := range names {
		if i == maxPrograms {
			out = append(out, fmt.Sprintf("and %d more", len(names)-i))
			break
		}
		out = append(out, fmt.Sprintf("%s %dx", safeText(n), programs[n]))
	}
	return out
}

func toolchainsRun(programs map[string]int) []string {
	names := map[string][]string{}
	for prog, n := range programs {
		t := toolchainOf(prog)
		if t == "" {
			continue
		}
		names[t] = append(names[t], fmt.Sprintf("%s %d %s", prog, n, plural(n, "run", "runs")))
	}
	var out []string
	for _, t := range Toolchains {
		if l := names[t]; len(l) > 0 {
			sort.Strings(l)
			out = append(out, t+" ("+strings.Join(l, ", ")+")")
		}
	}
	return out
}

func toolchainOf(prog string) string {
	switch {
	case strings.HasPrefix(prog, "python"), strings.HasPrefix(prog, "pip"), prog == "uv", prog == "poetry":
		return "python"
	case prog == "node", prog == "npm", prog == "npx", prog == "yarn", prog == "pnpm", prog == "bun", prog == "deno":
		return "node"
	case prog == "go", prog == "gofmt":
		return "go"
	case prog == "cargo", prog == "rustc", prog == "rustup":
		return "rust"
	case prog == "git":
		return "git"
	}
	return ""
}

func summarize(ev []string) string {
	sort.Strings(ev)
	if len(ev) <= 2 {
		return strings.Join(ev, ", ")
	}
	return fmt.Sprintf("%s, %s and %d more", ev[0], ev[1], len(ev)-2)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// noteSet keeps notes in order without repeats, at most a few dozen.
type noteSet struct {
	list []string
	seen map[string]bool
	more int
}

const maxNotes = 24

func (n *noteSet) add(s string) {
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if n.seen[s] {
		return
	}
	n.seen[s] = true
	if len(n.list) >= maxNotes {
		n.more++
		if n.more == 1 {
			n.list = append(n.list, "and more of the same kind (not shown)")
		}
		return
	}
	n.list = append(n.list, s)
}

// FloorPaths expands the floor's lists with a run's variables.
func FloorPaths(f *policy.FloorDoc, vars map[string]string) (neverRead, neverWrite []string) {
	p := &proposer{in: Input{Vars: vars}}
	return p.expandAll(f.NeverRead), p.expandAll(f.NeverWrite)
}
