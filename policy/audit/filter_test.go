package audit

import (
	"testing"
	"time"
)

func TestFilter(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	ran := &Record{Time: now.Add(-time.Hour), Skill: Agent, Decision: Ran, Denials: []Denial{}}
	denied := &Record{Time: now.Add(-time.Minute), Skill: "pdf-tools", Decision: Ran, Denials: []Denial{{Kind: DenialSyscall, Syscall: "ptrace"}}}
	dropped := &Record{Time: now, Skill: "pdf-tools", Decision: Ran, DenialsDropped: 3}
	refused := &Record{Time: now.Add(-48 * time.Hour), Skill: "pdf-tools", Decision: Refused}
	failed := &Record{Time: now, Skill: Agent, Decision: Failed}
	all := []*Record{ran, denied, dropped, refused, failed}
	cases := []struct {
		name string
		f    Filter
		want []*Record
	}{
		{"zero", Filter{}, all},
		{"skill", Filter{Skill: "pdf-tools"}, []*Record{denied, dropped, refused}},
		{"agent", Filter{Skill: Agent}, []*Record{ran, failed}},
		{"denied", Filter{Denied: true}, []*Record{denied, dropped, refused}},
		{"since", Filter{Since: now.Add(-2 * time.Minute)}, []*Record{denied, dropped, failed}},
		{"all three", Filter{Skill: "pdf-tools", Denied: true, Since: now.Add(-24 * time.Hour)}, []*Record{denied, dropped}},
		{"unknown skill", Filter{Skill: "nope"}, nil},
	}
	for _, c := range cases {
		var got []*Record
		for _, r := range all {
			if c.f.Match(r) {
				got = append(got, r)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d records, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: record %d is %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func TestParseSince(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"90m", now.Add(-90 * time.Minute), true},
		{"2h", now.Add(-2 * time.Hour), true},
		{"3d", now.Add(-72 * time.Hour), true},
		{"1.5d", now.Add(-36 * time.Hour), true},
		{"2026-01-01T10:00:00Z", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), true},
		{"2026-01-01T10:00:00+02:00", time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC), true},
		{"2026-01-01T10:00:00", time.Date(2026, 1, 1, 10, 0, 0, 0, loc), true},
		{"2026-01-01", time.Date(2026, 1, 1, 0, 0, 0, 0, loc), true},
		{"-2h", time.Time{}, false},
		{"0s", time.Time{}, false},
		{"0d", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
		{"2026-13-01", time.Time{}, false},
	}
	for _, c := range cases {
		got, err := ParseSince(c.in, now, loc)
		if (err == nil) != c.ok || (c.ok && !got.Equal(c.want)) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
