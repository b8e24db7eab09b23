package audit

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() Record {
	sh := "make test 2>&1 | tail -n 20"
	return Record{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Skill: "pdf-tools", SkillDigest: "sha256:abc",
		Shell: &sh, Argv: []string{"bash"}, Cwd: "/home/u/proj", Workspace: "/home/u/proj", Profile: "untrusted",
		PlanDigest: "sha256:def", Decision: Ran, ExitCode: 0, DurationMS: 12,
		Denials:  []Denial{{Kind: DenialNetwork, Host: "example.com:443", Rule: "network: not allowed", Count: 2}},
		Enforced: &Enforced{LandlockABI: 6, Seccomp: "default", Namespaces: []string{"mount", "pid", "net"}},
		Secrets:  []string{"EXAMPLE_API_KEY"}, Client: "claude-code_2.1.197_agent", UID: 1000,
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	r := sample()
	b := r.Marshal()
	if !bytes.HasSuffix(b, []byte("\n")) || bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", b)
	}
	if !bytes.Contains(b, []byte(`"shell":"make test 2>&1 | tail -n 20"`)) {
		t.Errorf("HTML escaping makes commands unreadable: %s", b)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, r)
	}
	// The contract's field names.
	for _, k := range []string{"time", "skill", "skill_digest", "shell", "argv", "cwd", "workspace", "plan_digest",
		"decision", "exit_code", "duration_ms", "denials", "enforced", "landlock_abi", "seccomp", "namespaces", "degraded"} {
		if !bytes.Contains(b, []byte(`"`+k+`":`)) {
			t.Errorf("record lacks %q: %s", k, b)
		}
	}
	// A refusal still has an (empty) denial list, and no enforcement.
	ref := Record{Time: r.Time, Skill: Agent, Argv: []string{"true"}, Decision: Refused, Reason: "no", ExitCode: 126}
	if b := ref.Marshal(); !bytes.Contains(b, []byte(`"denials":[]`)) || bytes.Contains(b, []byte(`"enforced"`)) {
		t.Errorf("refusal: %s", b)
	}
}

func TestMarshalIsBounded(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	ctl := strings.Repeat("\x01", 1<<20) // each byte is six in JSON
	many := make([]string, 100000)
	for i := range many {
		many[i] = fmt.Sprintf("arg-%d-%s", i, strings.Repeat("y", 100))
	}
	denials := make([]Denial, 5000)
	for i := range denials {
		denials[i] = Denial{Kind: DenialPath, Path: "/home/u/" + strings.Repeat("p", 300), Access: "read", Rule: ctl[:500]}
	}
	cases := []struct {
		name string
		edit func(r *Record)
	}{
		{"long shell string", func(r *Record) { r.Shell = &big }},
		{"control characters", func(r *Record) { r.Shell = &ctl; r.Reason = ctl; r.Cwd = ctl }},
		{"many arguments", func(r *Record) { r.Shell = nil; r.Argv = many }},
		{"many denials", func(r *Record) { r.Denials = denials }},
		{"everything", func(r *Record) {
			r.Shell, r.Argv, r.Denials, r.Reason, r.Cwd, r.Workspace = &ctl, many, denials, ctl, big, ctl
			r.Unsafe, r.Secrets, r.Skill, r.PlanDigest, r.Client = many, many, ctl, ctl, ctl
			r.Enforced.Namespaces = many
		}},
		{"invalid utf-8", func(r *Record) { s := strings.Repeat("\xff\xfe", 1<<18); r.Shell = &s }},
	}
	for _, c := range cases {
		r := sample()
		c.edit(&r)
		b := r.Marshal()
		if len(b) > MaxRecord {
			t.Errorf("%s: %d bytes, want at most %d", c.name, len(b), MaxRecord)
		}
		if bytes.Count(b, []byte("\n")) != 1 || b[len(b)-1] != '\n' {
			t.Errorf("%s: not one line", c.name)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !got.Truncated || got.Decision != Ran || got.ExitCode != r.ExitCode || !got.Time.Equal(r.Time) {
			t.Errorf("%s: truncated %v, decision %q, exit %d", c.name, got.Truncated, got.Decision, got.ExitCode)
		}
		if len(r.Denials) > len(got.Denials) && got.DenialsDropped != len(r.Denials)-len(got.Denials) {
			t.Errorf("%s: %d denials kept, %d dropped, of %d", c.name, len(got.Denials), got.DenialsDropped, len(r.Denials))
		}
	}
}

func TestSecretValuesAreNeverLogged(t *testing.T) {
	environ := []string{
		"GITHUB_TOKEN=ghp_CANARY0123456789", "AWS_SECRET_ACCESS_KEY=aws-CANARY-secret", "EXAMPLE_API_KEY=sk-CANARY-key",
		"MY_CRED=granted-CANARY-value", "SHORT_TOKEN=abc", "HOME=/home/u", "PATH=/usr/bin:/bin", "LANG=C.UTF-8",
		"PWD=/home/u/proj",
	}
	secrets := SecretValues(environ, []string{"MY_CRED"})
	want := []string{"ghp_CANARY0123456789", "aws-CANARY-secret", "sk-CANARY-key", "granted-CANARY-value"}
	if !reflect.DeepEqual(secrets, want) {
		t.Fatalf("SecretValues = %q, want %q", secrets, want)
	}
	sh := "curl -H 'Authorization: Bearer ghp_CANARY0123456789' https://example.com/?k=sk-CANARY-key"
	argv := []string{"deploy", "--token=aws-CANARY-secret", "granted-CANARY-value"}
	r := Record{Time: time.Now(), Skill: Agent, Shell: &sh, Argv: argv, Cwd: "/home/u/proj", Decision: Refused,
		Reason: "refused: granted-CANARY-value", Secrets: []string{"EXAMPLE_API_KEY"},
		Denials: []Denial{{Kind: DenialNetwork, Host: "example.com:443", Hint: "sk-CANARY-key"}}}
	r.Redact(secrets)
	b := r.Marshal()
	if bytes.Contains(b, []byte("CANARY")) {
		t.Errorf("a secret value was logged: %s", b)
	}
	if !bytes.Contains(b, []byte("Bearer [redacted]")) || !bytes.Contains(b, []byte(`"--token=[redacted]"`)) {
		t.Errorf("redaction markers missing: %s", b)
	}
	if !bytes.Contains(b, []byte(`"secrets":["EXAMPLE_API_KEY"]`)) || !bytes.Contains(b, []byte(`"cwd":"/home/u/proj"`)) {
		t.Errorf("names and paths must stay: %s", b)
	}
	if argv[1] != "--token=aws-CANARY-secret" {
		t.Errorf("Redact changed the caller's argv: %q", argv)
	}
}

func TestParseRejectsMalformedLines(t *testing.T) {
	for _, line := range []string{
		"", "not json", `{"skill":"agent"}`, `{"time":"2026-01-02T03:04:05Z"}`, `{"time":"yesterday","decision":"ran"}`,
		`[1,2]`, `{"time":"2026-01-02T03:04:05Z","decision":"ran"`,
	} {
		if _, err := Parse([]byte(line)); err == nil {
			t.Errorf("Parse(%q) accepted a malformed line", line)
		}
	}
	r, err := Parse([]byte(`{"time":"2026-01-02T03:04:05Z","decision":"ran","skill":"agent","future_field":{"x":1}}`))
	if err != nil || r.Denials == nil {
		t.Errorf("a record from a newer skillrun: %v, %+v", err, r)
	}
}

func TestSignalOf(t *testing.T) {
	for status, want := range map[int]int{0: 0, 1: 0, 127: 0, 128: 0, 130: 2, 137: 9, 143: 15, 192: 64, 193: 0, 255: 0} {
		if got := SignalOf(status); got != want {
			t.Errorf("SignalOf(%d) = %d, want %d", status, got, want)
		}
	}
}
