// Package scan is skillrun's static scanner: it reads a skill folder and reports what its files say
// they will do, before anything runs.
//
// A registry scans a skill once, when it is published; skillrun scans it on the developer's machine
// when it is approved and again whenever its digest changes, so a payload added in an update is seen
// before the new version runs. The rules (see [Rules]) follow the attack classes of real incidents
// against agent skills (ClawHavoc, Shai-Hulud, s1ngularity and the agent-settings CVEs):
//
//   - hidden-exec: download-and-run one-liners, decoded payloads piped into a shell, reverse
//     shells, password-protected archives
//   - credentials: tokens and private keys written into the skill
//   - redirection: model API base URLs, proxies, agent settings files, /etc/hosts, shell rc files
//   - persistence: cron, systemd and autostart entries, git hooks, agent hooks, memory files
//   - exfiltration: paste, webhook and tunnel services, bare IP addresses, credential uploads
//   - obfuscation: base64 and hex blobs, invisible Unicode, homoglyph commands, binaries, archives
//   - social-engineering: SKILL.md asking the user to paste a command into a terminal
//   - consistency: what the code does against what skillrun.yaml declares
//
// # Use
//
//	root, err := os.OpenRoot(dir)
//	...
//	m, err := scan.LoadManifest(root.FS()) // nil when the skill has none
//	rep, err := scan.Scan(root.FS(), scan.Options{Manifest: m})
//	if rep.Count(scan.High) > 0 { ... }
//	rep.WriteText(os.Stdout, isTerminal)
//
// # Limits
//
// Static analysis only sees what is written down: a remote second stage, a behaviour described in
// plain words or an unknown encoding can score clean. The scanner is a review aid at approval time;
// the sandbox is what stops a skill at run time.
//
// Archives (tar, gzip, zip) are opened in memory and their entries scanned like files, under the
// name "archive!inner/path" (see archive.go for the bounds). Findings of the command rules in
// documentation weigh one severity step less than in code (see weigh.go for what counts as which).
//
// Scan is bounded: files larger than [Options.MaxFileSize] are listed in [Report.Skipped] and not
// read, and the walk stops at [Options.MaxTotal] bytes or [Options.MaxFiles] files, saying so.
// Symlinks are never followed. Every pattern is a regular expression (linear time) applied only to
// lines where one of its keywords occurs, found by a single Aho-Corasick pass over each file.
//
// The package is pure: it reads only through the fs.FS it is given and imports nothing that touches
// the system itself (a test enforces the import rule), so the CLI passes (*os.Root).FS and tests pass
// a testing/fstest.MapFS.
package scan
