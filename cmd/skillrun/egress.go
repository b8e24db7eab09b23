package main

import (
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/skillrun/skillrun/policy"
	"github.com/skillrun/skillrun/policy/audit"
	"github.com/skillrun/skillrun/sandbox/netproxy"
)

// maxBlockedLines bounds the blocked-connection summary on stderr; the audit record has all.
const maxBlockedLines = 5

// egress runs the plan's egress proxy for one run and reports what it refused.
type egress struct {
	plan    *policy.Plan
	summary *netproxy.Summary
	err     error
}

func newEgress(plan *policy.Plan) *egress { return &egress{plan: plan} }

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
