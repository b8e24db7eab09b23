package kv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestRecorder(t *testing.T) {
	s := New()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/kv/missing", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("GET missing: %d", rec.Code)
	}
}

// TestServer talks to the handler over a real loopback connection.
func TestServer(t *testing.T) {
	srv := httptest.NewServer(New())
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s", srv.URL)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := srv.URL + "/kv/k" + string(rune('a'+i))
			req, _ := http.NewRequest(http.MethodPut, key, strings.NewReader("v"))
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNoContent {
				t.Errorf("PUT: %d", res.StatusCode)
			}
		}()
	}
	wg.Wait()
	res, err := srv.Client().Get(srv.URL + "/kv/kc")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || string(b) != "v" {
		t.Fatalf("GET: %d %q", res.StatusCode, b)
	}
}

// TestTLSServer: the same over TLS with httptest's own certificate.
func TestTLSServer(t *testing.T) {
	srv := httptest.NewTLSServer(New())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/kv/none")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET over TLS: %d", res.StatusCode)
	}
}
