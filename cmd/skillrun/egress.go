package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/sandbox"
	"github.com/skillrun/skillrun/sandbox/netproxy"
)

// maxBlockedLines bounds the blocked-connection summary on stderr; the audit record has all.
const maxBlockedLines = 5

// egress runs the plan's egress proxy for one run and reports what it refused.
type egress struct {
	quiet   bool
	plan    *policy.Plan
	summary *netproxy.Summary
	err     error
}

func newEgress(plan *policy.Plan, quiet bool) *egress { return &egress{plan: plan, quiet: quiet} }

// serve is the sandbox's Egress: it serves the proxy on the listener that lives in the sandbox's
// network namespace until the command has ended.
func (e *egress) serve(l net.Listener) func() {
	p, err := netproxy.New(e.plan.Network, netproxy.Options{})
	if err != nil {
		// The plan's patterns were validated when it was compiled; refuse every connection
		// rather than run the command with a proxy that cannot decide.
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
		s := p.Summary()
		e.summary = &s
	}
}

// report prints one line per refused host (at most a few) with the policy line that would
// allow it, and returns the refusals for the audit record.
func (e *egress) report(w io.Writer, req policy.Request) []audit.Denial {
	if e.quiet {
		w = io.Discard
	}
	if e.err != nil {
		fmt.Fprintf(w, "skillrun: error: egress proxy: %v\n", e.err)
	}
	if e.summary == nil {
		return nil
	}
	whose := "agent commands"
	if req.Skill != nil {
		whose = "skill " + req.Skill.Name
	}
	var out []audit.Denial
	for i, b := range e.summary.Blocked {
		target := net.JoinHostPort(b.Host, strconv.Itoa(b.Port))
		out = append(out, audit.Denial{Kind: audit.DenialNetwork, Host: target, Count: b.Count,
			Rule: "network: " + b.Reason.Text(), Hint: b.Hint})
		if i >= maxBlockedLines {
			continue
		}
		what := "connection"
		if b.Count != 1 {
			what = "connections"
		}
		reason := b.Reason.Text() + " of " + whose
		if b.Rule != "" {
			reason += ": " + b.Rule
		}
		fmt.Fprintf(w, "skillrun: blocked: %d %s to %s (%s)\n", b.Count, what, target, reason)
		if b.Allow != "" {
			fmt.Fprintf(w, "skillrun: hint: %s\n", allowHint(req, b.Allow))
		}
	}
	if n := len(e.summary.Blocked) - maxBlockedLines; n > 0 {
		fmt.Fprintf(w, "skillrun: blocked: %d more hosts; see them with: skillrun log --denied\n", n)
	}
	return out
}

// allowHint names the policy line that would allow a host for this command.
func allowHint(req policy.Request, entry string) string {
	file := policyName(req)
	if req.Skill != nil {
		return fmt.Sprintf("if %s should reach it, its skillrun.yaml must ask for it and %s grant it: skills: {%s: {grant: {network: {allow: [%q]}}}}",
			req.Skill.Name, file, req.Skill.Name, entry)
	}
	return fmt.Sprintf("to allow it for agent commands, add to %s: agent: {network: {allow: [%q]}}", file, entry)
}

// reportSyscalls prints the refused syscalls the sandbox observed (at most a few lines) and
// returns them for the audit record.
func reportSyscalls(w io.Writer, denials []sandbox.Denial, quiet bool) []audit.Denial {
	var out []audit.Denial
	for i, d := range denials {
		out = append(out, audit.Denial{Kind: audit.DenialSyscall, Syscall: d.Syscall, Args: d.Args,
			Process: d.Process, PID: d.PID, Count: d.Count, Rule: "seccomp: " + d.Why})
		if quiet || i >= maxBlockedLines {
			continue
		}
		call := d.Syscall + "(" + d.Args + ")"
		by := ""
		if d.Process != "" {
			by = " by " + d.Process
		}
		times := timesSuffix(d.Count)
		fmt.Fprintf(w, "skillrun: blocked: %s%s%s (%s)\n", call, by, times, d.Why)
	}
	if n := len(denials) - maxBlockedLines; n > 0 && !quiet {
		fmt.Fprintf(w, "skillrun: blocked: %d more; see them with: skillrun log --denied\n", n)
	}
	return out
}

// reportMaskedReads prints the masked paths the command opened (at most a few lines), each with
// the line that masked it and what would lift it, and returns them for the audit record.
func reportMaskedReads(w io.Writer, plan *policy.Plan, req policy.Request, reads []sandbox.MaskedRead, quiet bool) []audit.Denial {
	var out []audit.Denial
	for i, r := range reads {
		origin, reason := pathWhy(plan, "masked", r.Entry, "never readable")
		hint := liftHint(req, origin, r.Entry)
		out = append(out, audit.Denial{Kind: audit.DenialPath, Path: r.Path, Access: "read", Count: r.Count,
			Rule: origin + ": " + reason, Hint: hint})
		if quiet || i >= maxBlockedLines {
			continue
		}
		times := timesSuffix(r.Count)
		fmt.Fprintf(w, "skillrun: blocked: read of %s%s (%s: %s; the command saw it empty)\n",
			tildePath(r.Path, req.Home), times, origin, reason)
		fmt.Fprintf(w, "skillrun: hint: %s\n", hint)
	}
	if n := len(reads) - maxBlockedLines; n > 0 && !quiet {
		fmt.Fprintf(w, "skillrun: blocked: %d more masked paths read; see them with: skillrun log --denied\n", n)
	}
	return out
}

// pathWhy is the origin and reason of the plan's line that decided entry (masked or protected),
// or the floor's with fallback when the plan names none.
func pathWhy(plan *policy.Plan, decision, entry, fallback string) (origin, reason string) {
	for _, d := range plan.Why {
		if d.Kind == "path" && d.Decision == decision && d.Subject == entry {
			return d.Origin, d.Reason
		}
	}
	return "floor", fallback
}

// timesSuffix is " N times" for a denial seen more than once.
func timesSuffix(count int) string {
	if count > 1 {
		return fmt.Sprintf(" %d times", count)
	}
	return ""
}

// liftHint names what would let a command read a masked path: an unsafe: line for the floor, or
// removing the developer's own deny.
func liftHint(req policy.Request, origin, entry string) string {
	return liftHintFor(req, origin, entry, "read")
}

// liftHintFor is liftHint for an access: read, or write.
func liftHintFor(req policy.Request, origin, entry, access string) string {
	file := policyName(req)
	if !floorOrigin(origin) {
		return fmt.Sprintf("it is denied by %s; remove that line if this command should %s it", origin, access)
	}
	if req.Skill != nil {
		return fmt.Sprintf("the floor keeps it from every command; only if %s must %s it, its skillrun.yaml must ask for it and %s lift it, loudly: skills: {%s: {unsafe: {filesystem: {%s: [%q]}}}}",
			req.Skill.Name, access, file, req.Skill.Name, access, entry)
	}
	return fmt.Sprintf("the floor keeps it from every command; only if agent commands must %s it, add to %s, loudly: unsafe: {filesystem: {%s: [%q]}}", access, file, access, entry)
}

// floorOrigin says a protection comes from the floor (its fixed lists, a tool's files, what git
// runs, the PATH folders, the top of a writable home): only an unsafe: line lifts it.
func floorOrigin(origin string) bool {
	switch origin {
	case "floor", "git", "PATH", "home":
		return true
	}
	return strings.HasPrefix(origin, "floor (")
}

// reportBlockedCreations prints what the command created at missing protected paths and the
// sandbox undid (at most a few lines), each with the line that protects it and what would allow
// it, and returns them for the audit record.
func reportBlockedCreations(w io.Writer, plan *policy.Plan, req policy.Request, blocked []sandbox.BlockedCreation, quiet bool) []audit.Denial {
	var out []audit.Denial
	for i, b := range blocked {
		origin, reason := pathWhy(plan, "protected", b.Entry, "never writable")
		hint := liftHintFor(req, origin, b.Entry, "write")
		what := "undone, kept in " + b.Kept
		if b.Kept == "" {
			what = "undone, " + b.Why
		} else if b.Why != "" {
			what += "; " + b.Why
		}
		rule := origin + ": " + reason
		if b.Link {
			rule = "a symlink on the way to " + tildePath(b.Entry, req.Home) + ", " + rule
		}
		out = append(out, audit.Denial{Kind: audit.DenialPath, Path: b.Path, Access: "create", Count: b.Count,
			Rule: rule, Hint: hint})
		if quiet || i >= maxBlockedLines {
			continue
		}
		times := timesSuffix(b.Count)
		fmt.Fprintf(w, "skillrun: blocked: creation of %s%s (%s; %s)\n", tildePath(b.Path, req.Home), times, rule, what)
		fmt.Fprintf(w, "skillrun: hint: %s\n", hint)
	}
	if n := len(blocked) - maxBlockedLines; n > 0 && !quiet {
		fmt.Fprintf(w, "skillrun: blocked: %d more creations at protected paths; see them with: skillrun log --denied\n", n)
	}
	return out
}

// reportBlockedWrites prints the changes the command asked for at protected paths that existed
// (refused by their read-only binds), at most a few lines, each with the line that protects it
// and what would allow it, and returns them for the audit record.
func reportBlockedWrites(w io.Writer, plan *policy.Plan, req policy.Request, writes []sandbox.BlockedWrite, quiet bool) []audit.Denial {
	var out []audit.Denial
	for i, b := range writes {
		origin, reason := pathWhy(plan, "protected", b.Entry, "never writable")
		hint := liftHintFor(req, origin, b.Entry, "write")
		out = append(out, audit.Denial{Kind: audit.DenialPath, Path: b.Path, Access: b.Access, Count: b.Count,
			Rule: origin + ": " + reason, Hint: hint})
		if quiet || i >= maxBlockedLines {
			continue
		}
		times := timesSuffix(b.Count)
		verb := map[string]string{"write": "write to", "create": "creation of", "remove": "removal of"}[b.Access]
		fmt.Fprintf(w, "skillrun: blocked: %s %s%s (%s: %s; read-only in the sandbox)\n", verb, tildePath(b.Path, req.Home), times, origin, reason)
		fmt.Fprintf(w, "skillrun: hint: %s\n", hint)
	}
	if n := len(writes) - maxBlockedLines; n > 0 && !quiet {
		fmt.Fprintf(w, "skillrun: blocked: %d more writes to protected paths; see them with: skillrun log --denied\n", n)
	}
	return out
}

// tildePath writes a path below the home as ~/….
func tildePath(p, home string) string {
	if home != "" && home != "/" && strings.HasPrefix(p, home+"/") {
		return "~" + p[len(home):]
	}
	return p
}
