package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/policy/learn"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/netproxy"
)

var learnCommand = &cli.Command{
	Name:      "learn",
	Usage:     "run a skill's command in the learning view and propose the smallest manifest that lets it work",
	UsageText: "skillrun learn [--skill NAME | --skill-dir DIR] [--allow-hosts] [--write] -- CMD [ARGS...] | -c STRING",
	Description: "The command runs with the learn profile (skillrun profiles show learn): the workspace read-write,\n" +
		"the toolchains' locations read-only, the floor as always; hosts go through the egress proxy, which\n" +
		"records them and refuses them unless --allow-hosts. What it reads, writes and runs is recorded, and\n" +
		"the proposal is printed as a diff against the skill's skillrun.yaml with the evidence for every line.\n" +
		"--write saves it into the skill's folder (merged with what is there). Learning never approves.\n\n" +
		"EXAMPLE:\n" +
		"   skillrun learn --skill pdf-tools -- python3 ~/.claude/skills/pdf-tools/extract.py docs/a.pdf\n" +
		"   skillrun learn --write --skill-dir ./my-skill -c './my-skill/build.sh'",
	Flags: append(learnRunFlags(),
		&cli.BoolFlag{Name: "allow-hosts", Usage: "let the command reach host names on ports 80 and 443 for this run (they are recorded either way)"},
		&cli.BoolFlag{Name: "write", Usage: "save the proposal as the skill's skillrun.yaml (atomically; the folder is unchanged otherwise)"}),
	Action: learnAction,
}

// learnRunFlags are the run flags without --profile: learning has its own view.
func learnRunFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range runFlags() {
		if f.Names()[0] != "profile" {
			out = append(out, f)
		}
	}
	return out
}

func learnAction(c *cli.Context) (err error) {
	rec := startRecord(c)
	defer func() { rec.finish(err) }()
	req, err := buildRequest(c, false)
	rec.req = &req
	if errors.Is(err, policy.ErrInvalid) {
		return withHints(exitFailed, err, "fix the manifest, or move it aside and learn again: learn merges what it sees into the manifest it finds")
	}
	if err != nil {
		return err
	}
	if req.Skill == nil {
		return withHints(exitFailed, errors.New("learn needs a skill, and this command names none"),
			"name it: skillrun learn --skill NAME -- CMD, or skillrun learn --skill-dir DIR -- CMD")
	}
	manifestFile := filepath.Join(req.Skill.Source, policy.ManifestFile)
	current, err := os.ReadFile(manifestFile)
	if errors.Is(err, os.ErrNotExist) {
		current, err = nil, nil
	}
	if err != nil {
		return withHints(exitFailed, fmt.Errorf("cannot read the skill's manifest: %v", err))
	}
	if c.Bool("write") {
		if err := unix.Access(req.Skill.Source, unix.W_OK); err != nil {
			return withHints(exitFailed, fmt.Errorf("cannot write the skill's folder %s: %v", req.Skill.Source, err),
				"make it writable, or leave out --write to print the proposal only")
		}
	}
	req.Learning = true
	plan, err := compile(req)
	rec.plan = plan
	if err != nil {
		return err
	}
	// The skill's ${CACHE} is shown when it exists; learn does not make it (nothing outside the
	// workspace changes but the manifest with --write), and writes to it are recorded either way.
	in, out, errw := stdio(c)
	eg := &learnEgress{plan: plan, allowAll: c.Bool("allow-hosts")}
	recorder := sandbox.NewRecorder(0)
	start := time.Now()
	res, err := sandbox.Run(plan, sandbox.Options{Stdin: in, Stdout: out, Stderr: errw, Egress: eg.serve, Record: recorder})
	if errors.Is(err, sandbox.ErrUserNamespace) {
		return withHints(exitFailed, err, "see what this machine can enforce with: skillrun doctor", sysctlHint,
			"learn needs the namespaces of a normal run: degraded mode cannot record")
	}
	rec.res = res
	if err != nil {
		return err
	}
	if eg.err != nil {
		fmt.Fprintf(errw, "skillrun: error: egress proxy: %v\n", eg.err)
	}
	// Refused syscalls and masked reads are reported as after any run; refused hosts are in
	// the notes below, and every refusal is in the audit record.
	rec.denials = append(rec.denials, reportSyscalls(errw, res.Denials, c.Bool("quiet"))...)
	rec.denials = append(rec.denials, reportMaskedReads(errw, plan, req, res.MaskedReads, c.Bool("quiet"))...)
	uses := eg.uses()
	for _, u := range uses {
		if !u.Allowed {
			rec.denials = append(rec.denials, audit.Denial{Kind: audit.DenialNetwork, Host: u.Target, Count: u.Count, Rule: "network: " + u.Reason})
		}
	}
	li := learnInput(req, plan, res, recorder.Log(), uses, current)
	li.CreatedDuring = func(p string) bool { return bornSince(p, start) }
	li.Unread = recorder.Unread()
	prop, err := learn.Propose(li)
	if err != nil {
		return withHints(exitFailed, err)
	}
	report := learnReport(prop, current, req)
	if c.Bool("write") {
		if err := writeManifest(manifestFile, prop); err != nil {
			fmt.Fprint(errw, report)
			return withHints(exitFailed, err, "the skill's folder is unchanged; the proposal is printed above")
		}
		report += fmt.Sprintf("skillrun: learn: wrote %s; review and approve it: skillrun approve %s\n", manifestFile, req.Skill.Dir)
	} else if len(prop.Added) > 0 {
		report += fmt.Sprintf("skillrun: learn: save it with --write, then review and approve it: skillrun approve %s\n", req.Skill.Dir)
	}
	fmt.Fprint(errw, report)
	if res.TimedOut {
		fmt.Fprintf(errw, "skillrun: error: timed out after %s; the sandbox was stopped, and the proposal covers what ran until then\n", time.Duration(plan.Limits.Timeout))
	}
	if res.ExitCode != 0 {
		return exitStatus(res.ExitCode)
	}
	return nil
}

// learnInput gathers what the proposal is made from.
func learnInput(req policy.Request, plan *policy.Plan, res *sandbox.Result, log *learn.Log, hosts []learn.HostUse, current []byte) learn.Input {
	vars := map[string]string{"WORKSPACE": req.Workspace, "HOME": req.Home, "SKILL_DIR": req.Skill.Dir,
		"TMPDIR": policy.SandboxTmp, "CONFIG": req.ConfigDir, "STATE": req.StateDir}
	if req.CacheDir != "" {
		vars["CACHE"] = filepath.Join(req.CacheDir, "skillrun", req.Skill.Name)
	}
	in := learn.Input{Skill: req.Skill.Name, Log: log, Cwd: plan.Cwd, Hosts: hosts, ExitCode: res.ExitCode, Vars: vars,
		Exists: func(p string) bool { _, err := os.Lstat(p); return err == nil }}
	for _, m := range plan.Mounts {
		in.View = append(in.View, learn.ViewPath{Path: m.Path, Tmpfs: m.Access == policy.Tmpfs})
	}
	if floor, err := policy.LoadFloor(); err == nil {
		in.NeverRead, in.NeverWrite = learn.FloorPaths(floor, vars)
	}
	in.NeverWrite = append(append(in.NeverWrite, plan.Protect...), req.SkillRoots...)
	in.NeverRead = append(in.NeverRead, plan.Mask...)
	if current != nil {
		in.Current, _ = policy.ParseManifest(policy.ManifestFile, current)
	}
	return in
}

// learnReport is what learn prints after the command: the toolchains, the diff, the notes.
func learnReport(prop *learn.Proposal, current []byte, req policy.Request) string {
	var b strings.Builder
	name := req.Skill.Name
	if len(prop.Programs) > 0 {
		fmt.Fprintf(&b, "skillrun: learn: %s ran the programs %s\n", name, strings.Join(prop.Programs, ", "))
	}
	if len(prop.Toolchains) > 0 {
		fmt.Fprintf(&b, "skillrun: learn: %s used the toolchains %s\n", name, strings.Join(prop.Toolchains, ", "))
	}
	if len(prop.Added) == 0 && current != nil {
		fmt.Fprintf(&b, "skillrun: learn: %s's manifest already covers this run; nothing to add\n", name)
	} else if diff, err := prop.Diff(current); err == nil {
		fmt.Fprintf(&b, "skillrun: learn: the smallest manifest that lets this run of %s work:\n%s", name, diff)
	} else {
		fmt.Fprintf(&b, "skillrun: error: %v\n", err)
	}
	for _, n := range prop.Notes {
		fmt.Fprintf(&b, "skillrun: learn: note: %s\n", n)
	}
	return b.String()
}

// writeManifest saves the proposal next to SKILL.md: a temporary file in the same folder,
// synced, then renamed over skillrun.yaml, so the folder holds either the old manifest or the
// whole new one, never part of it.
func writeManifest(file string, prop *learn.Proposal) (err error) {
	data, err := prop.Manifest.Render()
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, ".skillrun.yaml.learn-*")
	if err != nil {
		return fmt.Errorf("cannot write the skill's folder %s: %v", dir, errors.Unwrap(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %v", tmp.Name(), err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %v", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("cannot replace %s: %v", file, errors.Unwrap(err))
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// learnEgress serves the learning run's proxy: every host is recorded; names on 80 and 443 pass
// with --allow-hosts, everything else is refused as in any run without hosts.
type learnEgress struct {
	plan     *policy.Plan
	allowAll bool
	records  []netproxy.Record
	err      error
}

// network is what the proxy decides by: the plan's (no hosts, the developer's denies), or with
// --allow-hosts every host name on ports 80 and 443. "*" matches names only: IP literals stay
// refused, and the proxy still refuses names that resolve to loopback, private or metadata
// addresses.
func (e *learnEgress) network() policy.Network {
	network := e.plan.Network
	if e.allowAll {
		network.Allow = []string{"*"}
	}
	return network
}

func (e *learnEgress) serve(l net.Listener) func() {
	p, err := netproxy.New(e.network(), netproxy.Options{})
	if err != nil {
		e.err = err
		l.Close()
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Serve(l)
	}()
	return func() {
		p.Close()
		<-done
		e.records = p.Records()
	}
}

// uses totals the proxy's records by host:port.
func (e *learnEgress) uses() []learn.HostUse {
	byTarget := map[string]*learn.HostUse{}
	for _, r := range e.records {
		t := r.Target()
		if t == "" {
			continue
		}
		u := byTarget[t]
		if u == nil {
			u = &learn.HostUse{Target: t, Allowed: r.Allowed}
			if !r.Allowed {
				u.Reason = r.Reason.Text()
			}
			byTarget[t] = u
		}
		u.Count++
	}
	var out []learn.HostUse
	for _, u := range byTarget {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// bornSince says p was made at or after t, by its birth time; true when the file system does not
// keep one.
func bornSince(p string, t time.Time) bool {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME, &st); err != nil || st.Mask&unix.STATX_BTIME == 0 {
		return true
	}
	return !time.Unix(st.Btime.Sec, int64(st.Btime.Nsec)).Before(t.Add(-time.Second)) // a coarse clock's slack
}
