//go:build agents

package agents

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// step is one shell call the mock model makes.
type step struct {
	command    string
	background bool
}

// mockModel plays one model API for the three clients (Anthropic Messages, OpenAI Responses,
// Gemini streamGenerateContent) on 127.0.0.1: it answers each turn with the next shell call of
// its script, worked out from how many tool results the request carries, then with a final text.
// It keeps every request body and the tool results the client sent back.
type mockModel struct {
	t      testing.TB
	steps  []step
	url    string
	shell  string // the Codex tool the mock calls (from the request's tools)
	mu     sync.Mutex
	bodies []string
	// results[i] is what the client sent back for step i (the last copy seen).
	results map[int]string
	other   []string // requests the mock does not know
}

func startMock(t testing.TB, steps []step) *mockModel {
	m := &mockModel{t: t, steps: steps, results: map[int]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	m.url = "http://" + ln.Addr().String()
	return m
}

func (m *mockModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.bodies = append(m.bodies, r.Method+" "+r.URL.String()+"\n"+string(body))
	m.mu.Unlock()
	switch {
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/v1/messages"):
		m.anthropic(w, body)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/responses"):
		m.responses(w, body)
	case r.Method == "POST" && strings.Contains(r.URL.Path, ":streamGenerateContent"):
		m.gemini(w, body, true)
	case r.Method == "POST" && strings.Contains(r.URL.Path, ":generateContent"):
		m.gemini(w, body, false)
	case r.Method == "POST" && strings.Contains(r.URL.Path, ":countTokens"):
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"totalTokens": 10}`)
	default:
		m.mu.Lock()
		m.other = append(m.other, r.Method+" "+r.URL.Path)
		m.mu.Unlock()
		http.NotFound(w, r)
	}
}

// record keeps a tool result for step i.
func (m *mockModel) record(i int, text string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results[i] = text
}

// result is what came back to the model for step i.
func (m *mockModel) result(i int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.results[i]
}

// everything is every request the clients sent, for the canary check.
func (m *mockModel) everything() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.bodies, "\n")
}

func sse(w http.ResponseWriter, events ...any) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	for _, e := range events {
		b, _ := json.Marshal(e)
		var typ struct {
			Type string `json:"type"`
		}
		json.Unmarshal(b, &typ)
		if typ.Type != "" {
			fmt.Fprintf(w, "event: %s\n", typ.Type)
		}
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
}

type obj = map[string]any

// anthropic answers a Messages call. Calls without the Bash tool (Claude Code's side queries:
// titles, summaries) get a short text.
func (m *mockModel) anthropic(w http.ResponseWriter, body []byte) {
	var req struct {
		Stream   bool `json:"stream"`
		Model    string
		Tools    []struct{ Name string } `json:"tools"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	json.Unmarshal(body, &req)
	hasBash := false
	for _, t := range req.Tools {
		hasBash = hasBash || t.Name == "Bash"
	}
	n := 0
	for _, msg := range req.Messages {
		var blocks []struct {
			Type      string          `json:"type"`
			ToolUseID string          `json:"tool_use_id"`
			Content   json.RawMessage `json:"content"`
			IsError   bool            `json:"is_error"`
		}
		if json.Unmarshal(msg.Content, &blocks) != nil {
			continue
		}
		for _, b := range blocks {
			if b.Type != "tool_result" {
				continue
			}
			var s string
			if json.Unmarshal(b.Content, &s) != nil {
				var parts []struct{ Text string }
				json.Unmarshal(b.Content, &parts)
				for _, p := range parts {
					s += p.Text
				}
			}
			if b.IsError {
				s = "[is_error] " + s
			}
			m.record(n, s)
			n++
		}
	}
	message := obj{"id": fmt.Sprintf("msg_%d", n), "type": "message", "role": "assistant", "model": req.Model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil, "usage": obj{"input_tokens": 10, "output_tokens": 1}}
	var block obj
	var input string
	stop := "end_turn"
	if hasBash && n < len(m.steps) {
		s := m.steps[n]
		in := obj{"command": s.command, "description": fmt.Sprintf("step %d", n)}
		if s.background {
			in["run_in_background"] = true
		}
		b, _ := json.Marshal(in)
		input = string(b)
		block = obj{"type": "tool_use", "id": fmt.Sprintf("toolu_%d", n), "name": "Bash", "input": obj{}}
		stop = "tool_use"
	} else {
		block = obj{"type": "text", "text": ""}
	}
	if !req.Stream {
		if block["type"] == "tool_use" {
			var in obj
			json.Unmarshal([]byte(input), &in)
			block["input"] = in
		} else {
			block["text"] = "done"
		}
		message["content"] = []any{block}
		message["stop_reason"] = stop
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(message)
		return
	}
	delta := obj{"type": "text_delta", "text": "done"}
	if block["type"] == "tool_use" {
		delta = obj{"type": "input_json_delta", "partial_json": input}
	}
	sse(w,
		obj{"type": "message_start", "message": message},
		obj{"type": "content_block_start", "index": 0, "content_block": block},
		obj{"type": "content_block_delta", "index": 0, "delta": delta},
		obj{"type": "content_block_stop", "index": 0},
		obj{"type": "message_delta", "delta": obj{"stop_reason": stop, "stop_sequence": nil}, "usage": obj{"output_tokens": 5}},
		obj{"type": "message_stop"},
	)
}

// responses answers an OpenAI Responses call (Codex) with the shell tool the request offers.
func (m *mockModel) responses(w http.ResponseWriter, body []byte) {
	var req struct {
		Tools []struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"tools"`
		Input []struct {
			Type   string          `json:"type"`
			CallID string          `json:"call_id"`
			Output json.RawMessage `json:"output"`
		} `json:"input"`
	}
	json.Unmarshal(body, &req)
	n := 0
	for _, it := range req.Input {
		if it.Type != "function_call_output" && it.Type != "custom_tool_call_output" {
			continue
		}
		var s string
		if json.Unmarshal(it.Output, &s) != nil {
			var parts []struct{ Text string }
			if json.Unmarshal(it.Output, &parts) == nil {
				for _, p := range parts {
					s += p.Text
				}
			} else {
				s = string(it.Output)
			}
		}
		m.record(n, s)
		n++
	}
	tool := ""
	for _, t := range req.Tools {
		switch t.Name {
		case "exec_command", "shell_command", "shell":
			if tool == "" || t.Name == m.shell {
				tool = t.Name
			}
		}
	}
	var item obj
	if tool != "" && n < len(m.steps) {
		s := m.steps[n]
		var args obj
		switch tool {
		case "exec_command":
			// A background call: Codex answers after the yield time with the session still
			// running (it is polled, or fed input, with write_stdin).
			args = obj{"cmd": s.command, "yield_time_ms": 10000}
			if s.background {
				args["yield_time_ms"] = 250
			}
		case "shell_command":
			args = obj{"command": s.command}
		default:
			args = obj{"command": []string{"bash", "-lc", s.command}}
		}
		b, _ := json.Marshal(args)
		item = obj{"type": "function_call", "id": fmt.Sprintf("fc_%d", n), "call_id": fmt.Sprintf("call_%d", n), "name": tool, "arguments": string(b), "status": "completed"}
	} else {
		item = obj{"type": "message", "role": "assistant", "id": "msg_done", "status": "completed",
			"content": []any{obj{"type": "output_text", "text": "done", "annotations": []any{}}}}
	}
	id := fmt.Sprintf("resp_%d", n)
	sse(w,
		obj{"type": "response.created", "response": obj{"id": id}},
		obj{"type": "response.output_item.done", "output_index": 0, "item": item},
		obj{"type": "response.completed", "response": obj{"id": id, "usage": obj{"input_tokens": 10, "input_tokens_details": nil,
			"output_tokens": 5, "output_tokens_details": nil, "total_tokens": 15}}},
	)
}

// gemini answers generateContent and streamGenerateContent (Gemini CLI).
func (m *mockModel) gemini(w http.ResponseWriter, body []byte, stream bool) {
	var req struct {
		Contents []struct {
			Parts []struct {
				FunctionResponse *struct {
					ID       string          `json:"id"`
					Name     string          `json:"name"`
					Response json.RawMessage `json:"response"`
				} `json:"functionResponse"`
			} `json:"parts"`
		} `json:"contents"`
		Tools []struct {
			FunctionDeclarations []struct{ Name string } `json:"functionDeclarations"`
		} `json:"tools"`
	}
	json.Unmarshal(body, &req)
	hasShell := false
	for _, t := range req.Tools {
		for _, f := range t.FunctionDeclarations {
			hasShell = hasShell || f.Name == "run_shell_command"
		}
	}
	n := 0
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			if p.FunctionResponse == nil {
				continue
			}
			var r struct {
				Output *string `json:"output"`
			}
			if json.Unmarshal(p.FunctionResponse.Response, &r) == nil && r.Output != nil {
				m.record(n, *r.Output)
			} else {
				m.record(n, string(p.FunctionResponse.Response))
			}
			n++
		}
	}
	var part obj
	if hasShell && n < len(m.steps) {
		s := m.steps[n]
		args := obj{"command": s.command, "description": fmt.Sprintf("step %d", n)}
		if s.background {
			args["is_background"] = true
		}
		part = obj{"functionCall": obj{"id": fmt.Sprintf("call_%d", n), "name": "run_shell_command", "args": args}}
	} else {
		part = obj{"text": "done"}
	}
	resp := obj{"candidates": []any{obj{"content": obj{"role": "model", "parts": []any{part}}, "finishReason": "STOP", "index": 0}},
		"usageMetadata": obj{"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}, "modelVersion": "gemini-mock"}
	b, _ := json.Marshal(resp)
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "data: %s\r\n\r\n", b)
}
