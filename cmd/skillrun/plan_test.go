package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestJSONToYAML: `skillrun plan` prints what yaml.JSONToYAML would, reading the JSON into the
// same values, for the golden plans and for values chosen to trip a YAML writer up.
func TestJSONToYAML(t *testing.T) {
	docs := map[string][]byte{"odd values": []byte(`{"z": 1, "a": [], "m": {}, "n": null, "t": true, "f": false,
		"neg": -3, "big": 18446744073709551615, "float": 1.5, "exp": 1e3, "zero": 0, "nested": [[1, {"b": [null]}], {}],
		"strings": ["", "yes", "no", "null", "~", "1", "1.0", "0x1F", "a: b", "- x", "#c", "'q'", "\"dq\"", "multi\nline", "tab\t", " lead",
		"trail ", "ünï", "*", "&a", "!t", "%", "@", "` + "`" + `", "{x}", "[y]", "2026-01-02", "${HOME}/.ssh", "/etc/ssh/*_key"],
		"key: with colon": "v", "": "empty key", "1": "numeric key"}`)}
	golden, err := filepath.Glob("../../policy/testdata/*.golden.json")
	if err != nil || len(golden) == 0 {
		t.Fatalf("no golden plans: %v", err)
	}
	for _, f := range golden {
		if docs[f], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	for name, doc := range docs {
		var want any
		if err := yaml.UnmarshalWithOptions(doc, &want, yaml.UseOrderedMap()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := jsonValue(jsonDecoder(doc))
		if name == "odd values" {
			// Read as a string by the YAML parser: left to yaml.JSONToYAML (compared below).
			if !errors.Is(err, errOtherNumber) {
				t.Errorf("1e3 read as %v", err)
			}
			got, err = jsonValue(jsonDecoder(bytes.Replace(doc, []byte(`"exp": 1e3,`), nil, 1)))
			want = slices.DeleteFunc(want.(yaml.MapSlice), func(i yaml.MapItem) bool { return i.Key == "exp" })
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %#v, %v\nyaml reads %#v", name, got, err, want)
		}
		wantYAML, err := yaml.JSONToYAML(doc)
		if err != nil {
			t.Fatal(err)
		}
		if gotYAML, err := jsonToYAML(doc); err != nil || !bytes.Equal(gotYAML, wantYAML) {
			t.Errorf("%s: printed %v\n%s\nwant\n%s", name, err, gotYAML, wantYAML)
		}
	}
	for _, bad := range []string{`{"a": 1`, `{"a": 1} {"b": 2}`, `[1,]`, ``} {
		if out, err := jsonToYAML([]byte(bad)); err == nil {
			t.Errorf("%q printed %q, want an error", bad, out)
		}
	}
}
