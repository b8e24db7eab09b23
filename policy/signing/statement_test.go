package signing

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestStatementMarshalGolden(t *testing.T) {
	want := `{"name":"pdf-tools","digest":"sha256:` + strings.Repeat("0123456789abcdef", 4) +
		`","manifest_digest":"sha256:` + strings.Repeat("fedcba9876543210", 4) +
		`","version":"1.2.0","source":"https://github.com/example/pdf-tools"}` + "\n"
	if got := string(testStatement.Marshal()); got != want {
		t.Fatalf("Marshal:\n%s\nwant:\n%s", got, want)
	}
	// Optional fields are left out; the manifest digest is always there, empty without a manifest.
	min := Statement{Name: "a", Digest: testStatement.Digest}
	want = `{"name":"a","digest":"` + testStatement.Digest + `","manifest_digest":""}` + "\n"
	if got := string(min.Marshal()); got != want {
		t.Fatalf("Marshal:\n%s\nwant:\n%s", got, want)
	}
}

func TestStatementRoundTrip(t *testing.T) {
	for _, s := range []Statement{
		testStatement,
		{Name: "a", Digest: testStatement.Digest},
		{Name: "x-1", Digest: testStatement.Digest, Source: `a <b> & "c" \ d`, Version: "v2.0.0-rc.1+build<5>"},
		{Name: strings.Repeat("a", 64), Digest: testStatement.Digest, Source: "https://例え.jp/スキル", Version: "ü"},
	} {
		data := s.Marshal()
		got, err := ParseStatement(data)
		if err != nil {
			t.Fatalf("ParseStatement(%s): %v", data, err)
		}
		if *got != s {
			t.Errorf("round trip: %+v, want %+v", *got, s)
		}
	}
}

func TestParseStatementRejects(t *testing.T) {
	d := testStatement.Digest
	valid := string(testStatement.Marshal())
	obj := func(fields string) string { return "{" + fields + "}\n" }
	base := `"name":"pdf-tools","digest":"` + d + `","manifest_digest":""`
	for _, tc := range []struct {
		name, data, msg string
	}{
		{"empty", "", "EOF"},
		{"not json", "hello\n", "invalid character"},
		{"array", "[]\n", "cannot unmarshal"},
		{"null", "null\n", "name"},
		{"unknown field", obj(base + `,"extra":1`), "unknown field"},
		{"duplicate field", obj(`"name":"evil",` + base), "canonical"},
		{"field case", obj(`"Name":"pdf-tools","digest":"` + d + `","manifest_digest":""`), "canonical"},
		{"out of order", obj(`"digest":"` + d + `","name":"pdf-tools","manifest_digest":""`), "canonical"},
		{"spaces", "{ " + base + " }\n", "canonical"},
		{"escape", obj(`"name":"pdf\u002dtools","digest":"` + d + `","manifest_digest":""`), "canonical"},
		{"missing manifest_digest", obj(`"name":"pdf-tools","digest":"` + d + `"`), "canonical"},
		{"empty version written out", obj(base + `,"version":""`), "canonical"},
		{"missing newline", strings.TrimSuffix(valid, "\n"), "final newline"},
		{"crlf", strings.TrimSuffix(valid, "\n") + "\r\n", "trailing data"},
		{"two newlines", valid + "\n", "trailing data"},
		{"second object", valid + valid, "trailing data"},
		{"leading space", " " + valid, "canonical"},
		{"too large", obj(base + `,"source":"` + strings.Repeat("a", MaxStatementSize) + `"`), "more than"},
		{"invalid utf-8", obj(base + `,"version":"1.0` + "\xff" + `"`), "UTF-8"},
		{"missing name", obj(`"digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"null name", obj(`"name":null,"digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"number name", obj(`"name":1,"digest":"` + d + `","manifest_digest":""`), "cannot unmarshal"},
		{"upper-case name", obj(`"name":"PDF","digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"leading hyphen", obj(`"name":"-a","digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"double hyphen", obj(`"name":"a--b","digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"long name", obj(`"name":"` + strings.Repeat("a", 65) + `","digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"path name", obj(`"name":"../x","digest":"` + d + `","manifest_digest":""`), "not a skill name"},
		{"no digest", obj(`"name":"a","manifest_digest":""`), "digest"},
		{"upper-case digest", obj(`"name":"a","digest":"` + strings.ToUpper(d) + `","manifest_digest":""`), "digest"},
		{"short digest", obj(`"name":"a","digest":"sha256:abc","manifest_digest":""`), "digest"},
		{"other algorithm", obj(`"name":"a","digest":"sha1:` + d[7:] + `","manifest_digest":""`), "digest"},
		{"bare hex digest", obj(`"name":"a","digest":"` + d[7:] + `","manifest_digest":""`), "digest"},
		{"bad manifest digest", obj(`"name":"a","digest":"` + d + `","manifest_digest":"sha256:"`), "manifest_digest"},
		{"version with space", obj(base + `,"version":"1 2"`), "white space"},
		{"version with tab", obj(base + `,"version":"1\t2"`), "white space"},
		{"version with newline", obj(base + `,"version":"1\n2"`), "white space"},
		{"version with escape", obj(base + `,"version":"1\u001b[31m"`), "control"},
		{"version with bidi", obj(base + `,"version":"1\u202e2"`), "invisible"},
		{"version with zero width", obj(base + `,"version":"1` + "\u200b" + `2"`), "invisible"},
		{"version with tag", obj(base + `,"version":"1` + "\U000E0041" + `"`), "invisible"},
		{"version with bom", obj(base + `,"version":"` + "\ufeff" + `1"`), "invisible"},
		{"long version", obj(base + `,"version":"` + strings.Repeat("1", 65) + `"`), "longer than"},
		{"source with leading space", obj(base + `,"source":" x"`), "white space"},
		{"source with line separator", obj(base + `,"source":"a\u2028b"`), "white space"},
		{"long source", obj(base + `,"source":"` + strings.Repeat("s", 1025) + `"`), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseStatement([]byte(tc.data))
			if !errors.Is(err, ErrInvalidStatement) {
				t.Fatalf("ParseStatement(%q) = %+v, %v; want ErrInvalidStatement", tc.data, s, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func FuzzParseStatement(f *testing.F) {
	f.Add(testStatement.Marshal())
	f.Add(Statement{Name: "a", Digest: testStatement.Digest}.Marshal())
	f.Add([]byte(`{"name":"a","digest":"sha256:00","manifest_digest":"","extra":{}}` + "\n"))
	f.Add([]byte(`{"name":"a","name":"b"}`))
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStatement(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidStatement) {
				t.Fatalf("error %v does not wrap ErrInvalidStatement", err)
			}
			return
		}
		// Accepted input is canonical: it is exactly what Marshal writes for what was parsed.
		if out := s.Marshal(); !bytes.Equal(out, data) {
			t.Fatalf("accepted non-canonical input %q (canonical %q)", data, out)
		}
		if s.check() != nil {
			t.Fatalf("accepted invalid statement %+v", s)
		}
	})
}
