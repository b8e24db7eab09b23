package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/skillrun/skillrun/profiles"
)

const regenerate = "policy/builtin_gen.go is out of date with profiles/*.yaml or with its generator: regenerate it with `go generate ./policy` (from the repository's top) and commit it"

// TestBuiltinGenerated holds builtin_gen.go to the YAML: the values it builds are deeply equal to
// what parsing profiles/*.yaml gives now (positions included), and its text is what the
// generator writes now.
func TestBuiltinGenerated(t *testing.T) {
	if !slices.Equal(builtinNames, profiles.Names()) {
		t.Errorf("compiled in: %v; profiles/ holds %v\n%s", builtinNames, profiles.Names(), regenerate)
	}
	for _, name := range profiles.Names() {
		want, err := parseBuiltinProfile(name)
		if err != nil {
			t.Fatalf("%s.yaml: %v", name, err)
		}
		got, err := builtinProfile(name)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("profile %s: generated %s, %v\nparsed now %s\n%s", name, dump(got), err, dump(want), regenerate)
		}
	}
	want, err := parseBuiltinFloor()
	if err != nil {
		t.Fatalf("floor.yaml: %v", err)
	}
	if got, err := builtinFloor(); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("floor: generated %s, %v\nparsed now %s\n%s", dump(got), err, dump(want), regenerate)
	}
	src, err := GenerateBuiltins()
	if err == nil {
		src, err = format.Source(src)
	}
	if err != nil {
		t.Fatal(err)
	}
	if file, err := os.ReadFile("builtin_gen.go"); err != nil || !bytes.Equal(file, src) {
		t.Errorf("builtin_gen.go is not what the generator writes now (%v)\n%s", err, regenerate)
	}
}

// dump shows a document with its positions (an unexported field %+v would print as a pointer).
func dump(v any) string {
	b, _ := json.Marshal(v)
	switch d := v.(type) {
	case *Profile:
		if d != nil && d.src != nil {
			return fmt.Sprintf("%s positions %v", b, d.src.positions)
		}
	}
	return string(b)
}

// TestGeneratorRefusesWhatItCannotWrite: a value the generator has no Go syntax for is an error,
// never a wrong literal.
func TestGeneratorRefusesWhatItCannotWrite(t *testing.T) {
	for _, v := range []any{
		struct{ hidden int }{1},
		map[int]string{1: "x"},
		struct{ F any }{F: 1},
		&source{file: "x.yaml", data: []byte("a: 1")},
	} {
		g := &goWriter{}
		if err := g.value(reflect.ValueOf(v), false); err == nil {
			t.Errorf("%#v: generated %q", v, g.buf.String())
		}
	}
}

// TestSourcePositionsResolved: a resolved source answers every question as the document does.
func TestSourcePositionsResolved(t *testing.T) {
	doc := []byte("version: 1\nname: x\nlist: [a, b]\nmap:\n  \"0\": zero\n  k: {nested: [1, 2]}\ntagged: !!str v\n")
	live, table := newSource("x.yaml", doc), newSource("x.yaml", doc).resolved()
	for _, keys := range [][]any{nil, {"version"}, {"name"}, {"list"}, {"list", 0}, {"list", 1}, {"list", 2}, {"map", "0"}, {"map", 0},
		{"map", "k", "nested", 1}, {"map", "k", "missing"}, {"tagged"}, {"nope"}, {1.5}, {"list", "0"}} {
		if a, b := live.at(keys...), table.at(keys...); a != b {
			t.Errorf("at(%v): the document says %q, the table %q", keys, a, b)
		}
	}
	if got := table.at("map", "k", "nested", 1); got != "x.yaml:6:19" {
		t.Errorf("at(map k nested 1) = %q, want x.yaml:6:19", got)
	}
}

// scribble overwrites every string, number and flag reachable from v's exported fields, as a
// careless caller might.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scribble(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			v.SetMapIndex(k, reflect.ValueOf("scribbled"))
		}
	case reflect.String:
		v.SetString("scribbled")
	case reflect.Int, reflect.Int64:
		v.SetInt(-1)
	}
}

// TestBuiltinsAreCopies: what LoadProfile, LoadFloor and AnyDepthNames hand out is the caller's;
// changing it changes nothing for the next caller or the next plan.
func TestBuiltinsAreCopies(t *testing.T) {
	before := compile(t, request())
	for _, name := range profiles.Names() {
		p, err := LoadProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		scribble(reflect.ValueOf(p))
		again, _ := LoadProfile(name)
		if want, _ := parseBuiltinProfile(name); !reflect.DeepEqual(again, want) {
			t.Errorf("profile %s after a caller changed its copy: %s", name, dump(again))
		}
	}
	f, err := LoadFloor()
	if err != nil {
		t.Fatal(err)
	}
	scribble(reflect.ValueOf(f))
	if again, _ := LoadFloor(); again.NeverRead[0] == "scribbled" || again.Persist[0].Paths[0] == "scribbled" {
		t.Errorf("the floor after a caller changed its copy: %s", dump(again))
	}
	names, err := AnyDepthNames()
	if err != nil || len(names) == 0 {
		t.Fatalf("AnyDepthNames() = %v, %v", names, err)
	}
	names[0] = "scribbled"
	if again, _ := AnyDepthNames(); again[0] == "scribbled" {
		t.Error("AnyDepthNames shares its slice")
	}
	scribble(reflect.ValueOf(before))
	if a, b := planJSON(t, request()), planJSON(t, request()); !bytes.Equal(a, b) {
		t.Errorf("two plans in a row differ:\n%s\n%s", a, b)
	}
	if want, _ := json.Marshal(compile(t, request())); bytes.Contains(want, []byte("scribbled")) {
		t.Errorf("a plan shows what a caller wrote into an earlier one: %s", want)
	}
}

func planJSON(t *testing.T, r Request) []byte {
	t.Helper()
	b, err := json.MarshalIndent(compile(t, r), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// builtinRequests are plans that use every built-in profile: each view alone, each toolchain
// added to the default view, a skill whose manifest extends each toolchain, an unapproved skill
// and skillrun learn's view.
func builtinRequests(t *testing.T) map[string]Request {
	out := map[string]Request{}
	for _, name := range profiles.Names() {
		r := request()
		r.Profile = name
		if v, err := IsView(name); err != nil {
			t.Fatal(err)
		} else if !v {
			r.Profile, r.Toolchains = "", []string{name}
		}
		out["profile "+name] = r
		if name == LearnProfile || name == "untrusted" || name == "claude-code" || name == DefaultProfile {
			continue
		}
		out["manifest extending "+name] = skRequestFor(t, skSpec{manifest: skManifestDoc(name, skCaps), lock: skLockDoc(name, skCaps)})
	}
	out["unapproved skill"] = skRequestFor(t, skSpec{manifest: "-", lock: "-"})
	out["learning"] = skRequestFor(t, skSpec{edit: func(r *Request) { r.Learning = true; r.Cwd = "/home/u/proj" }})
	return out
}

// TestPlansFromGeneratedMatchParsed: every built-in profile gives byte-identical plans (origins
// and positions included) whether it comes from builtin_gen.go or from its YAML parsed now.
func TestPlansFromGeneratedMatchParsed(t *testing.T) {
	requests := builtinRequests(t)
	generated := map[string][]byte{}
	for name, r := range requests {
		generated[name] = planJSON(t, r)
	}
	saved := builtins
	defer func() { builtins = saved }()
	builtins.profile, builtins.floor = parseBuiltinProfile, parseBuiltinFloor
	for name, r := range requests {
		if parsed := planJSON(t, r); !bytes.Equal(generated[name], parsed) {
			t.Errorf("%s: the plan from the generated profiles differs from the YAML's:\n%s\n%s\n%s", name, generated[name], parsed, regenerate)
		}
	}
}
