package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxRecord bounds one record's line, newline included: small enough for one atomic write(2) of
// an O_APPEND file and for a syslog datagram.
const MaxRecord = 16 << 10

// Decisions a record can hold.
const (
	// Ran: the command ran in the sandbox (whatever its exit status).
	Ran = "ran"
	// Refused: policy or an integrity check refused the command; nothing ran (exit 126).
	Refused = "refused"
	// Failed: skillrun itself failed (bad config, sandbox setup); nothing ran (exit 125).
	Failed = "failed"
)

// Agent is the skill field of a command attributed to no skill.
const Agent = "agent"

// Kinds of [Denial].
const (
	DenialNetwork = "network"
	DenialSyscall = "syscall"
	DenialPath    = "path"
)

// Record is one run or refusal (design section 3). Field names are a contract: extend, never
// rename.
type Record struct {
	Time time.Time `json:"time"`
	// Skill is the skill the command was attributed to, or [Agent].
	Skill string `json:"skill"`
	// SkillDigest is the approved content digest the skill ran from (empty when unapproved).
	SkillDigest string `json:"skill_digest,omitempty"`
	// Argv is the command; with -c, Shell is the string and Argv its $0, $1, ….
	Argv  []string `json:"argv,omitempty"`
	Shell *string  `json:"shell,omitempty"`
	Cwd   string   `json:"cwd,omitempty"`
	// Workspace is the read-write workspace (empty when the run was refused before it was known).
	Workspace string `json:"workspace,omitempty"`
	Profile   string `json:"profile,omitempty"`
	// PlanDigest is the digest `skillrun plan` prints for the same command: two runs with the same
	// digest had exactly the same capabilities.
	PlanDigest string `json:"plan_digest,omitempty"`
	// Decision is [Ran], [Refused] or [Failed]; Reason says why for the last two (and "timed out"
	// when a run hit its timeout).
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
	// ExitCode is the status skillrun exited with: the command's own, 128+N after signal N, or
	// skillrun's 125/126 when nothing ran.
	ExitCode int `json:"exit_code"`
	// Signal is N when the exit status is 128+N (a shell reports a signalled child the same way).
	Signal     int   `json:"signal,omitempty"`
	DurationMS int64 `json:"duration_ms"`
	// Denials are what the sandbox observed being refused; always present, empty when none.
	Denials []Denial `json:"denials"`
	// DenialsDropped counts denials left out to keep the record bounded.
	DenialsDropped int `json:"denials_dropped,omitempty"`
	// Enforced is what confined the run (nil when nothing ran).
	Enforced *Enforced `json:"enforced,omitempty"`
	// Unsafe lists the floor lines the developer's policy lifted for this run.
	Unsafe []string `json:"unsafe,omitempty"`
	// Secrets names the secrets the command was given; their values are never logged.
	Secrets []string `json:"secrets,omitempty"`
	// Client is the agent that ran skillrun when it says so in the environment (e.g. AI_AGENT).
	Client string `json:"client,omitempty"`
	UID    int    `json:"uid"`
	// Truncated says strings or lists were cut to keep the record within MaxRecord.
	Truncated bool `json:"truncated,omitempty"`
}

// Denial is one thing the sandbox refused the command, as far as it could observe it.
type Denial struct {
	// Kind is DenialNetwork (Host), DenialSyscall (Syscall, Args) or DenialPath (Path, Access).
	Kind    string `json:"kind"`
	Host    string `json:"host,omitempty"` // host:port
	Syscall string `json:"syscall,omitempty"`
	Args    string `json:"args,omitempty"` // the syscall's key arguments, e.g. "AF_PACKET"
	Path    string `json:"path,omitempty"`
	Access  string `json:"access,omitempty"` // read, write, exec, connect, …
	Process string `json:"process,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Count   int    `json:"count,omitempty"` // how many times, when more than once
	// Rule is what refused it ("floor: never readable", "network: not allowed"); Hint the policy
	// line that would allow it, when one can.
	Rule string `json:"rule,omitempty"`
	Hint string `json:"hint,omitempty"`
}

// Enforced is the confinement a run got.
type Enforced struct {
	LandlockABI int      `json:"landlock_abi"`
	Seccomp     string   `json:"seccomp"`
	Namespaces  []string `json:"namespaces"`
	// Degraded says the run went without namespaces (policy `degraded: allow`).
	Degraded bool `json:"degraded"`
}

// SignalOf returns N when status is 128+N for a signal number N, else 0.
func SignalOf(status int) int {
	if status > 128 && status <= 128+64 {
		return status - 128
	}
	return 0
}

// Marshal returns the record as one JSON line (newline included) of at most MaxRecord bytes.
// What does not fit is cut: each string to a shrinking length, lists to their first entries,
// and the record is marked truncated. It never fails.
func (r *Record) Marshal() []byte {
	c := *r
	if c.Denials == nil {
		c.Denials = []Denial{}
	}
	if b := encode(&c); len(b) <= MaxRecord {
		return b
	}
	for limit := 4096; limit >= 16; limit /= 2 {
		t := c.cut(limit)
		if b := encode(&t); len(b) <= MaxRecord {
			return b
		}
	}
	// Only many fields full of escaped bytes get here: keep the decision, drop the rest.
	t := c.cut(16)
	t.Argv, t.Denials, t.Unsafe, t.Secrets = nil, []Denial{}, nil, nil
	t.DenialsDropped = len(r.Denials)
	return encode(&t)
}

func encode(r *Record) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep `a && b` readable in the file
	if err := enc.Encode(r); err != nil {
		// Only an unencodable time (a year outside 0..9999) fails.
		r.Time = time.Time{}
		b.Reset()
		_ = enc.Encode(r)
	}
	return b.Bytes()
}

// cut returns a copy with every string at most limit bytes and every list at most a few entries.
func (r *Record) cut(limit int) Record {
	c := *r
	c.Truncated = true
	s := func(v string) string { return cutString(v, limit) }
	entries := max(4, limit/64)
	c.Skill, c.SkillDigest, c.Cwd, c.Workspace = s(c.Skill), s(c.SkillDigest), s(c.Cwd), s(c.Workspace)
	c.Profile, c.PlanDigest, c.Reason, c.Client = s(c.Profile), s(c.PlanDigest), s(c.Reason), s(c.Client)
	c.Decision = s(c.Decision)
	if c.Shell != nil {
		v := cutString(*c.Shell, 2*limit)
		c.Shell = &v
	}
	c.Argv = cutList(c.Argv, entries, limit)
	c.Unsafe = cutList(c.Unsafe, entries, limit)
	c.Secrets = cutList(c.Secrets, entries, limit)
	if n := max(1, limit/256); len(c.Denials) > n {
		c.DenialsDropped += len(c.Denials) - n
		c.Denials = c.Denials[:n]
	}
	ds := make([]Denial, len(c.Denials))
	for i, d := range c.Denials {
		ds[i] = Denial{Kind: s(d.Kind), Host: s(d.Host), Syscall: s(d.Syscall), Args: s(d.Args), Path: s(d.Path),
			Access: s(d.Access), Process: s(d.Process), PID: d.PID, Count: d.Count, Rule: s(d.Rule), Hint: s(d.Hint)}
	}
	c.Denials = ds
	if c.Enforced != nil {
		e := *c.Enforced
		e.Seccomp = s(e.Seccomp)
		e.Namespaces = cutList(e.Namespaces, 8, limit)
		c.Enforced = &e
	}
	return c
}

// cutString cuts s to at most limit bytes on a character boundary, marking the cut with "…".
func cutString(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:max(i, 0)] + "…"
}

// cutList keeps the first n entries (each cut to limit) and says how many were left out.
func cutList(list []string, n, limit int) []string {
	if list == nil {
		return nil
	}
	out := make([]string, 0, min(len(list), n+1))
	for i, v := range list {
		if i == n {
			out = append(out, fmt.Sprintf("… (%d more)", len(list)-n))
			break
		}
		out = append(out, cutString(v, limit))
	}
	return out
}

// ErrMalformed marks a line that is not a record.
var ErrMalformed = errors.New("not an audit record")

// Parse reads one line of the audit log. Unknown fields (from a newer skillrun) are ignored.
func Parse(line []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(bytes.TrimSpace(line), &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if r.Time.IsZero() || r.Decision == "" {
		return nil, fmt.Errorf("%w: no time or decision", ErrMalformed)
	}
	if r.Denials == nil {
		r.Denials = []Denial{}
	}
	return &r, nil
}
