package seccomp

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/table.golden")

// TestTableGolden snapshots the table: every change to the filter shows in review.
func TestTableGolden(t *testing.T) {
	got := Render()
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile("testdata/table.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/table.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the seccomp table changed; review it, then run: go test ./sandbox/seccomp -update && go generate ./sandbox/seccomp")
	}
}

// TestBuild compiles the filter both ways: libseccomp refuses conflicting or unknown rules.
func TestBuild(t *testing.T) {
	for _, opt := range []Options{{}, {Network: true}, {HostNamespaces: true}, {Network: true, HostNamespaces: true}} {
		f, err := Build(opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		f.Release()
	}
}

func TestAllowExcept(t *testing.T) {
	rules := allowExcept("ioctl", 1, low32, 0x5412, 0x541C)
	match := func(v uint64) bool {
		for _, r := range rules {
			c := r.Conds[0]
			if v&c.Mask == c.Value {
				return true
			}
		}
		return false
	}
	for _, v := range []uint64{0x5412, 0x541C, 0xdead00005412, 0x1_0000541C} {
		if match(v) {
			t.Errorf("%#x allowed", v)
		}
	}
	for _, v := range []uint64{0, 0x5401, 0x5413, 0x541D, 0x5410, 0x540C, 0xc0045412, 0x80000000, 0xffffffff} {
		if !match(v) {
			t.Errorf("%#x not allowed", v)
		}
	}
}

// A normal run's filter builds with the write-watching rules in every mode it runs in.
func TestBuildRecordWrites(t *testing.T) {
	for _, opt := range []Options{{Notify: true, RecordWrites: true, Network: true}, {Notify: true, RecordWrites: true}} {
		f, err := Build(opt)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		f.Release()
		if _, err := Program(opt); err != nil {
			t.Fatalf("%+v: program: %v", opt, err)
		}
	}
}
