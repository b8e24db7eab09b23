// Package kv is a small key-value store served over HTTP: GET /kv/KEY reads, PUT /kv/KEY writes.
package kv

import (
	"io"
	"net/http"
	"strings"
	"sync"
)

// Store holds the values.
type Store struct {
	mu sync.RWMutex
	m  map[string]string
}

// New returns an empty store.
func New() *Store { return &Store{m: map[string]string{}} }

// ServeHTTP implements the API.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.URL.Path, "/kv/")
	if !ok || key == "" {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.RLock()
		v, found := s.m[key]
		s.mu.RUnlock()
		if !found {
			http.Error(w, "no such key", http.StatusNotFound)
			return
		}
		io.WriteString(w, v)
	case http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.m[key] = string(b)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
