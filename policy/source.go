package policy

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// source remembers a parsed document so a value can be named by its file:line:column in messages
// and in a plan's origins. The document is parsed into an AST only when a position is asked for.
type source struct {
	file   string
	data   []byte
	parsed bool
	root   ast.Node
}

func newSource(file string, data []byte) *source { return &source{file: file, data: data} }

// at returns "file:line:col" for the value at the given keys (strings) and sequence indexes (ints),
// or "file" when the value cannot be found.
func (s *source) at(keys ...any) string {
	if s == nil {
		return ""
	}
	if !s.parsed {
		s.parsed = true
		func() {
			defer func() { _ = recover() }() // a position is a courtesy; never crash for one
			if f, err := parser.ParseBytes(s.data, 0); err == nil && len(f.Docs) > 0 {
				s.root = f.Docs[0].Body
			}
		}()
	}
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
