// Package trace times the phases of one skillrun process, for the benchmarks' table of where a
// run's time goes. It costs one environment lookup when off. When SKILLRUN_TRACE names a file,
// each [Mark] notes the time since the previous one, and [Flush] appends them to that file as one
// JSON object per process ({"phase": milliseconds, ...}, in order, then "@init" and "@flush": the
// wall clock in Unix milliseconds when the package was initialised and when it flushed, so a
// caller that timed the process can tell the start and exit apart); nothing else reads it.
package trace

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Env is the variable that turns tracing on; its value is the file the phases are appended to.
const Env = "SKILLRUN_TRACE"

var (
	mu    sync.Mutex
	file  = os.Getenv(Env)
	last  = time.Now()
	began = last
	names []string
	spans []time.Duration
)

// On says tracing is on for this process.
func On() bool { return file != "" }

// Mark ends the phase called name: the time since the previous mark (or the package's
// initialisation, for the first) is its duration. A name marked twice adds up.
func Mark(name string) {
	if file == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	now := time.Now()
	d := now.Sub(last)
	last = now
	for i, n := range names {
		if n == name {
			spans[i] += d
			return
		}
	}
	names, spans = append(names, name), append(spans, d)
}

// Flush appends this process's phases to the trace file as one JSON line.
func Flush() {
	if file == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(n))
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(float64(spans[i].Microseconds())/1000, 'f', 3, 64))
	}
	if len(names) > 0 {
		b.WriteByte(',')
	}
	unixMS := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMicro())/1000, 'f', 3, 64) }
	b.WriteString(`"@init":` + unixMS(began) + `,"@flush":` + unixMS(time.Now()))
	b.WriteString("}\n")
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	_, _ = f.WriteString(b.String())
	_ = f.Close()
	names, spans = nil, nil
}
