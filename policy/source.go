package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// source remembers a parsed document so a value can be named by its file:line:column in messages
// and in a plan's origins. The document is parsed into an AST only when a position is asked for.
//
// A built-in document's source carries no text: its positions were resolved when it was generated
// (builtin.go) and are looked up in positions, which is shared and never written.
type source struct {
	file      string
	data      []byte
	parsed    bool
	root      ast.Node
	positions []position
}

// position is where the value at a key path (see keyPath) is: "file:line:col".
type position struct {
	keys, at string
}

func newSource(file string, data []byte) *source { return &source{file: file, data: data} }

// at returns "file:line:col" for the value at the given keys (strings) and sequence indexes (ints),
// or "file" when the value cannot be found.
func (s *source) at(keys ...any) string {
	if s == nil {
		return ""
	}
	if s.data == nil {
		k := keyPath(keys)
		for _, p := range s.positions {
			if p.keys == k {
				return p.at
			}
		}
		return s.file
	}
	s.parse()
	n := s.root
	for _, k := range keys {
		n = child(n, k)
		if n == nil {
			return s.file
		}
	}
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		return fmt.Sprintf("%s:%d:%d", s.file, tok.Position.Line, tok.Position.Column)
	}
	return s.file
}

func (s *source) parse() {
	if s.parsed {
		return
	}
	s.parsed = true
	defer func() { _ = recover() }() // a position is a courtesy; never crash for one
	parsedDocuments.Add(1)
	if f, err := parser.ParseBytes(s.data, 0); err == nil && len(f.Docs) > 0 {
		s.root = f.Docs[0].Body
	}
}

// resolved returns a source that answers at() without the document: the position of every value
// in it, computed now by at() itself, so that each answer is the one the document would give.
func (s *source) resolved() *source {
	out := &source{file: s.file, positions: []position{}}
	s.parse()
	seen := map[string]bool{}
	var walk func(n ast.Node, keys []any)
	walk = func(n ast.Node, keys []any) {
		k := keyPath(keys)
		if !seen[k] {
			seen[k] = true
			out.positions = append(out.positions, position{keys: k, at: s.at(keys...)})
		}
		// The same node kinds child() descends through, so that every path it can resolve is here.
		switch v := n.(type) {
		case *ast.TagNode:
			walk(v.Value, keys)
		case *ast.AnchorNode:
			walk(v.Value, keys)
		case *ast.MappingNode:
			for _, mv := range v.Values {
				walk(mv, keys)
			}
		case *ast.MappingValueNode:
			walk(v.Value, append(keys[:len(keys):len(keys)], keyString(v.Key)))
		case *ast.SequenceNode:
			for i, e := range v.Values {
				walk(e, append(keys[:len(keys):len(keys)], i))
			}
		}
	}
	if s.root != nil {
		walk(s.root, nil)
	}
	return out
}

// keyPath writes at()'s keys as one string: strings quoted, indexes bare, so that a key "0" and
// the index 0 differ. Keys of other types match no value, in a document or in a table.
func keyPath(keys []any) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch k := k.(type) {
		case string:
			b.WriteString(strconv.Quote(k))
		case int:
			b.WriteString(strconv.Itoa(k))
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func child(n ast.Node, key any) ast.Node {
	switch v := n.(type) {
	case *ast.TagNode:
		return child(v.Value, key)
	case *ast.AnchorNode:
		return child(v.Value, key)
	case *ast.MappingNode:
		for _, mv := range v.Values {
			if c := child(mv, key); c != nil {
				return c
			}
		}
	case *ast.MappingValueNode:
		if k, ok := key.(string); ok && keyString(v.Key) == k {
			return v.Value
		}
	case *ast.SequenceNode:
		if i, ok := key.(int); ok && i >= 0 && i < len(v.Values) {
			return v.Values[i]
		}
	}
	return nil
}

func keyString(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	s := k.String()
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}
