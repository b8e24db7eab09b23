package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skillrun/skillrun/policy"
)

// Defaults for [Options]: generous for a skill (text and a few assets), small enough that a
// hostile folder cannot make a scan slow.
const (
	DefaultMaxFileSize = 1 << 20
	DefaultMaxTotal    = 20 << 20
	DefaultMaxFiles    = 5000
)

const (
	maxDepth          = 64 // directories deeper than this are not walked
	maxPerRuleAndFile = 25 // findings of one rule in one file beyond this are counted, not listed
	maxFindings       = 5000
	maxExcerpt        = 120 // runes
)

// Options bound a scan and give it the skill's manifest.
type Options struct {
	// Manifest is the skill's skillrun.yaml, for the consistency rules. With nil, the only
	// consistency finding is an info that the skill has no manifest.
	Manifest *policy.Manifest
	// MaxFileSize skips larger files (listed in Report.Skipped). Zero means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxTotal stops the scan once this many bytes were read. Zero means DefaultMaxTotal.
	MaxTotal int64
	// MaxFiles stops the scan after this many files. Zero means DefaultMaxFiles.
	MaxFiles int
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxFileSize < 0 || o.MaxTotal < 0 || o.MaxFiles < 0 {
		return o, fmt.Errorf("%w: limits must not be negative (MaxFileSize %d, MaxTotal %d, MaxFiles %d)", ErrOptions, o.MaxFileSize, o.MaxTotal, o.MaxFiles)
	}
	if o.MaxFileSize == 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxTotal == 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	return o, nil
}

// Finding is one rule matching at one place.
type Finding struct {
	Rule Rule `json:"rule"`
	// File is the slash-separated path relative to the skill root.
	File string `json:"file"`
	// Line is 1-based; 0 when the finding is about the whole file.
	Line int `json:"line"`
	// Message is one line: the rule's title and what matched.
	Message string `json:"message"`
	// Excerpt is the matched text, at most 120 runes, with control and invisible characters shown
	// as \u{...}. Credentials are shortened so that a report never repeats a secret.
	Excerpt string `json:"excerpt,omitempty"`
	// Context is "documentation" when the finding sits in documentation and Rule.Severity is one
	// step below the rule's own (see the package documentation); empty for code.
	Context string `json:"context,omitempty"`
}

// Report is the result of a scan.
type Report struct {
	// Findings are sorted by severity (highest first), file, line and rule.
	Findings []Finding `json:"findings"`
	// Files and Bytes count what was read.
	Files int `json:"files"`
	Bytes int `json:"bytes"`
	// Unpacked counts the files of Files that were found inside archives.
	Unpacked int `json:"unpacked,omitempty"`
	// Skipped says what was not scanned and why, one entry per file or limit.
	Skipped []string `json:"skipped,omitempty"`
}

// LoadManifest reads and parses skillrun.yaml at the root of fsys. It returns nil and no error when
// the skill has none.
func LoadManifest(fsys fs.FS) (*policy.Manifest, error) {
	data, err := readLimited(fsys, policy.ManifestFile, DefaultMaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return policy.ParseManifest(policy.ManifestFile, data)
}

// readLimited reads a regular file of at most max bytes.
func readLimited(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: larger than %s", name, humanBytes(max))
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		// The file grew while it was read.
		return nil, fmt.Errorf("%s: larger than %s", name, humanBytes(max))
	}
	return data, nil
}

// Scan walks the skill folder at the root of fsys ("."), never following symlinks, and applies every
// rule. It returns an error only when the folder itself cannot be read (ErrRoot) or the options are
// invalid (ErrOptions); unreadable or oversized files are listed in Report.Skipped.
func Scan(fsys fs.FS, opts Options) (*Report, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if fsys == nil {
		return nil, fmt.Errorf("%w: no file system", ErrRoot)
	}
	st, err := fs.Stat(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRoot, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: not a directory", ErrRoot)
	}
	s := newScanner(fsys, opts)
	walkErr := fs.WalkDir(fsys, ".", s.visit)
	if walkErr != nil && !errors.Is(walkErr, fs.SkipAll) {
		return nil, fmt.Errorf("%w: %w", ErrRoot, walkErr)
	}
	s.findRunDocs()
	s.scanJobs()
	s.finishSkill()
	s.merge()
	s.rep.sortFindings()
	return s.rep, nil
}

// scanner holds the state of one Scan. The walk is sequential and reads the files; their content
// is then scanned in parallel (files are independent), each into its own collector, and the
// results are merged in walk order, so the report never depends on timing.
type scanner struct {
	fsys            fs.FS
	opts            Options
	rep             *Report
	man             *manifestInfo
	walk            *collector // findings about the tree itself: links, names, the manifest
	jobs            []job
	total           int64
	entries         int
	hasManifestFile bool
	runDocs         map[string]bool
}

// job is one file read during the walk, scanned afterwards.
type job struct {
	path string
	data []byte
	out  *collector
}

// collector gathers findings, once per rule, file and line, and at most maxPerRuleAndFile per
// rule and file, so that a file full of one pattern cannot flood the report.
type collector struct {
	man      *manifestInfo
	runDocs  map[string]bool // documentation SKILL.md tells the agent to run (see weigh.go)
	findings []Finding
	seen     map[findingKey]bool
	perRule  map[ruleFileKey]int
	overflow map[ruleFileKey]int
	notes    []string
}

type findingKey struct {
	rule, file string
	line       int
}

type ruleFileKey struct{ rule, file string }

func newCollector(man *manifestInfo) *collector {
	return &collector{man: man, seen: map[findingKey]bool{}, perRule: map[ruleFileKey]int{}, overflow: map[ruleFileKey]int{}}
}

func newScanner(fsys fs.FS, opts Options) *scanner {
	man := newManifestInfo(opts.Manifest)
	return &scanner{
		fsys: fsys,
		opts: opts,
		rep:  &Report{Findings: []Finding{}},
		man:  man,
		walk: newCollector(man),
	}
}

func (s *scanner) skip(format string, args ...any) {
	s.rep.Skipped = append(s.rep.Skipped, fmt.Sprintf(format, args...))
}

func (k *collector) add(id, file string, line int, excerpt, detail string) {
	k.addWeighed(id, file, line, excerpt, detail, false)
}

// addWeighed adds a finding, one severity step lower when doc says it is in documentation.
func (k *collector) addWeighed(id, file string, line int, excerpt, detail string, doc bool) {
	r := rulesByID[id]
	if r == nil {
		panic("scan: unknown rule " + id)
	}
	fk := findingKey{id, file, line}
	if k.seen[fk] {
		return
	}
	k.seen[fk] = true
	rk := ruleFileKey{id, file}
	if k.perRule[rk] >= maxPerRuleAndFile {
		k.overflow[rk]++
		return
	}
	k.perRule[rk]++
	msg := r.Title
	if detail != "" {
		msg += ": " + detail
	}
	rule := *r
	where := ""
	if doc {
		rule.Severity = max(Info, rule.Severity-1)
		msg += " (" + docWeightNote + ")"
		where = "documentation"
	}
	k.findings = append(k.findings, Finding{
		Rule:    rule,
		Context: where,
		File:    file,
		Line:    line,
		Message: oneLine(msg),
		Excerpt: makeExcerpt(excerpt),
	})
}

// note records something that was not analysed, for Report.Skipped.
func (k *collector) note(s string) { k.notes = append(k.notes, s) }

// perFileOnce reports whether rule was already reported for file.
func (k *collector) perFileOnce(rule, file string) bool {
	return k.perRule[ruleFileKey{rule, file}] > 0
}

// parallelFrom is the amount of content from which files are scanned on several cores; below it
// starting goroutines costs more than it saves.
const parallelFrom = 256 << 10

// scanJobs scans the files read by the walk.
func (s *scanner) scanJobs() {
	workers := min(runtime.GOMAXPROCS(0), len(s.jobs))
	if s.total < parallelFrom || workers < 2 {
		for i := range s.jobs {
			s.jobs[i].run(s.man, s.runDocs)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(s.jobs) {
					return
				}
				s.jobs[i].run(s.man, s.runDocs)
			}
		})
	}
	wg.Wait()
}

func (j *job) run(man *manifestInfo, runDocs map[string]bool) {
	j.out = newCollector(man)
	j.out.runDocs = runDocs
	scanFile(j.out, j.path, j.data)
	j.data = nil
}

// merge puts every collector's findings into the report, in walk order, within maxFindings.
func (s *scanner) merge() {
	all := append([]*collector{s.walk}, make([]*collector, 0, len(s.jobs))...)
	for i := range s.jobs {
		all = append(all, s.jobs[i].out)
	}
	dropped := 0
	var notes []string
	for _, k := range all {
		for _, f := range k.findings {
			if len(s.rep.Findings) >= maxFindings {
				dropped++
				continue
			}
			s.rep.Findings = append(s.rep.Findings, f)
		}
		notes = append(notes, k.notes...)
		for rk, n := range k.overflow {
			notes = append(notes, fmt.Sprintf("%s: %d more %s findings not listed", rk.file, n, rk.rule))
		}
	}
	sort.Strings(notes)
	s.rep.Skipped = append(s.rep.Skipped, notes...)
	if dropped > 0 {
		s.skip("%d findings over the limit of %d not listed", dropped, maxFindings)
	}
}

func (s *scanner) visit(p string, d fs.DirEntry, err error) error {
	if err != nil {
		if p == "." {
			return err
		}
		s.skip("%s: %v", p, errText(err))
		if d != nil && d.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if p == "." {
		return nil
	}
	s.entries++
	if s.entries > 4*s.opts.MaxFiles {
		s.skip("%s: stopped after %d entries: it and everything after it was not scanned", p, 4*s.opts.MaxFiles)
		return fs.SkipAll
	}
	t := d.Type()
	switch {
	case t&fs.ModeSymlink != 0:
		s.symlink(p)
		return nil
	case d.IsDir():
		if p == ".skillrun" {
			s.skip(".skillrun: signature statement, not scanned")
			return fs.SkipDir
		}
		if path.Base(p) == ".git" {
			s.skip("%s: version-control data, not scanned", p)
			return fs.SkipDir
		}
		if strings.Count(p, "/")+1 > maxDepth {
			s.skip("%s: nested deeper than %d folders, not scanned", p, maxDepth)
			return fs.SkipDir
		}
		return nil
	case !t.IsRegular():
		s.skip("%s: %s, not scanned", p, typeName(t))
		return nil
	}
	if p == policyManifestName {
		s.hasManifestFile = true
	}
	if s.rep.Files >= s.opts.MaxFiles {
		s.skip("%s: stopped after %d files: it and the files after it were not scanned", p, s.opts.MaxFiles)
		return fs.SkipAll
	}
	info, err := d.Info()
	if err != nil {
		s.skip("%s: %v", p, errText(err))
		return nil
	}
	if info.Size() > s.opts.MaxFileSize {
		s.skip("%s: larger than %s, not scanned", p, humanBytes(s.opts.MaxFileSize))
		classifyByName(s.walk, p)
		return nil
	}
	if s.total+info.Size() > s.opts.MaxTotal {
		s.skip("%s: stopped at the %s total limit: it and the files after it were not scanned", p, humanBytes(s.opts.MaxTotal))
		return fs.SkipAll
	}
	data, err := readLimited(s.fsys, p, s.opts.MaxFileSize)
	if err != nil {
		s.skip("%s: %v", p, errText(err))
		return nil
	}
	s.total += int64(len(data))
	s.rep.Files++
	s.rep.Bytes += len(data)
	if s.unpackArchive(p, data) {
		return nil
	}
	s.jobs = append(s.jobs, job{path: p, data: data})
	return nil
}

// findRunDocs reads SKILL.md for the documentation it tells the agent to run.
func (s *scanner) findRunDocs() {
	for _, j := range s.jobs {
		if isSkillMD(j.path) {
			s.runDocs = runDocs(string(j.data))
			return
		}
	}
}

const policyManifestName = policy.ManifestFile

// errText drops the "open NAME: " prefix that fs errors repeat, since messages start with the path.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// symlink reports a link whose target leaves the skill folder; links are never followed, so the
// content behind any link is not scanned.
func (s *scanner) symlink(p string) {
	target, err := fs.ReadLink(s.fsys, p)
	if err != nil {
		s.skip("%s: symlink, not followed", p)
		return
	}
	s.skip("%s: symlink to %s, not followed", p, makeExcerpt(target))
	resolved := path.Join(path.Dir(p), target)
	if strings.HasPrefix(target, "/") || resolved == ".." || strings.HasPrefix(resolved, "../") {
		s.walk.add(ruleSymlinkEscape, p, 0, target, "points to "+makeExcerpt(target))
	}
}

// finishSkill adds the findings about the skill as a whole.
func (s *scanner) finishSkill() {
	if s.opts.Manifest == nil {
		if s.hasManifestFile {
			s.walk.add(ruleNoManifest, policyManifestName, 0, "", "skillrun.yaml was not loaded, so consistency checks were skipped")
		} else {
			s.walk.add(ruleNoManifest, policyManifestName, 0, "", "consistency checks skipped")
		}
	}
}

// scanFile classifies one file's content and scans it.
func scanFile(k *collector, p string, data []byte) {
	if classifyByName(k, p) {
		return
	}
	switch magicKind(data) {
	case magicArchive:
		k.add(ruleArchive, p, 0, "", "archive content")
		return
	case magicExecutable:
		k.add(ruleExecutable, p, 0, "", "executable content")
		return
	case magicMedia:
		// Images, PDFs and fonts are ordinary assets; they are not text, so no text rule applies.
		return
	}
	if bytes.IndexByte(data, 0) >= 0 {
		k.add(ruleBinary, p, 0, "", "contains NUL bytes")
		return
	}
	c := newFileCtx(k, p, fileKind(p, data), string(data))
	c.run()
}

// classifyByName reports archives and executables by their name, whatever their content, since a
// renamed file is extracted or run by name. It returns true when the file was reported.
func classifyByName(k *collector, p string) bool {
	base := strings.ToLower(path.Base(p))
	for _, ext := range archiveExts {
		if strings.HasSuffix(base, ext) {
			k.add(ruleArchive, p, 0, "", "archive by name ("+ext+")")
			return true
		}
	}
	for _, ext := range executableExts {
		if strings.HasSuffix(base, ext) || (ext == ".so" && strings.Contains(base, ".so.")) {
			k.add(ruleExecutable, p, 0, "", "executable by name ("+ext+")")
			return true
		}
	}
	return false
}

var archiveExts = []string{".zip", ".tar", ".tgz", ".tar.gz", ".gz", ".tbz2", ".bz2", ".txz", ".xz", ".zst", ".7z", ".rar", ".jar", ".war", ".whl", ".egg", ".deb", ".rpm", ".dmg", ".pkg", ".iso", ".cab", ".apk", ".msix", ".appimage"}

var executableExts = []string{".exe", ".dll", ".so", ".dylib", ".msi", ".scr", ".sys", ".ocx", ".pyd", ".node", ".elf", ".bundle"}

const (
	magicNone = iota
	magicArchive
	magicExecutable
	magicMedia
)

// magicKind recognises content by its first bytes.
func magicKind(b []byte) int {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch {
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"), has(0, "PK\x07\x08"), has(0, "\x1f\x8b"), has(0, "BZh") && has(4, "1AY&SY"),
		has(0, "\xfd7zXZ\x00"), has(0, "7z\xbc\xaf\x27\x1c"), has(0, "Rar!\x1a\x07"), has(257, "ustar"), has(0, "\x28\xb5\x2f\xfd"),
		has(0, "MSCF\x00"), has(0, "!<arch>\n"), has(0, "\xed\xab\xee\xdb"):
		return magicArchive
	case has(0, "\x7fELF"), has(0, "\xfe\xed\xfa\xce"), has(0, "\xfe\xed\xfa\xcf"), has(0, "\xce\xfa\xed\xfe"), has(0, "\xcf\xfa\xed\xfe"),
		has(0, "\xca\xfe\xba\xbe"), has(0, "\x00asm"):
		return magicExecutable
	case has(0, "MZ") && bytes.IndexByte(b, 0) >= 0:
		return magicExecutable
	case has(0, "\x89PNG\r\n\x1a\n"), has(0, "\xff\xd8\xff"), has(0, "GIF87a"), has(0, "GIF89a"), has(0, "RIFF") && has(8, "WEBP"),
		has(0, "\x00\x00\x01\x00"), has(0, "%PDF-"), has(0, "wOFF"), has(0, "wOF2"), has(0, "\x00\x01\x00\x00"), has(0, "OTTO"),
		has(0, "II*\x00"), has(0, "MM\x00*"), has(0, "ID3"), has(0, "OggS"), has(4, "ftyp"), has(0, "RIFF") && has(8, "WAVE"):
		return magicMedia
	}
	return magicNone
}

// humanBytes writes sizes the way limits are given: 1 MiB, 20 MiB, 512 B.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// typeName names a file type that is not scanned.
func typeName(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "not a regular file"
}
