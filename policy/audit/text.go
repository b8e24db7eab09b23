package audit

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CommandWidth is how many characters of a command Text shows.
const CommandWidth = 200

// Text is the record as one readable line: time (in loc), skill, decision, exit status, the
// command, then the reason and what was blocked. Every field is escaped (Clean) so the line stays
// one line and shows what is there.
func (r *Record) Text(loc *time.Location) string {
	var b strings.Builder
	exit := fmt.Sprintf("exit %d", r.ExitCode)
	if name := SignalName(r.Signal); name != "" {
		exit += " " + name
	}
	fmt.Fprintf(&b, "%s  %-12s  %-7s  %-8s  %s", r.Time.In(loc).Format("2006-01-02 15:04:05"),
		Clean(r.Skill), Clean(r.Decision), exit, Command(r, CommandWidth))
	if r.Reason != "" {
		b.WriteString("  — " + Clean(cutString(r.Reason, 400)))
	}
	if n := len(r.Denials) + r.DenialsDropped; n > 0 {
		var ds []string
		for i, d := range r.Denials {
			if i == 3 {
				break
			}
			ds = append(ds, d.Text())
		}
		if more := n - len(ds); more > 0 {
			ds = append(ds, fmt.Sprintf("%d more", more))
		}
		b.WriteString("  [blocked: " + strings.Join(ds, "; ") + "]")
	}
	return b.String()
}

// Text describes a denial in a few words: "network example.com:443", "syscall ptrace",
// "read /home/u/.aws/credentials".
func (d Denial) Text() string {
	var s string
	switch d.Kind {
	case DenialNetwork:
		s = "network " + d.Host
	case DenialSyscall:
		s = "syscall " + d.Syscall
		if d.Args != "" {
			s += "(" + d.Args + ")"
		}
	case DenialPath:
		s = strings.TrimSpace(d.Access + " " + d.Path)
	default:
		s = strings.TrimSpace(d.Kind + " " + d.Host + d.Syscall + d.Path)
	}
	if d.Count > 1 {
		s += fmt.Sprintf(" ×%d", d.Count)
	}
	return Clean(cutString(s, 200))
}

// Command is the record's command as a reader would type it, cut to width characters. A -c
// string that is Claude Code's wrapper (snapshot, eval '<CMD>', pwd -P >| …) shows as CMD.
func Command(r *Record, width int) string {
	var s string
	if r.Shell != nil {
		s = *r.Shell
		if inner, ok := claudeEval(s); ok {
			s = inner
		}
	} else {
		words := make([]string, len(r.Argv))
		for i, w := range r.Argv {
			words[i] = shellWord(w)
		}
		s = strings.Join(words, " ")
	}
	s = Clean(s)
	if utf8.RuneCountInString(s) > width {
		s = string([]rune(s)[:width-1]) + "…"
	}
	return s
}

// claudeEval finds the model's command in Claude Code's shell wrapper:
// `source … && eval '<CMD>' < /dev/null && pwd -P >| /tmp/claude-XXXX-cwd`.
func claudeEval(s string) (string, bool) {
	i := strings.Index(s, "&& eval '")
	if i < 0 || !strings.Contains(s[i:], "pwd -P >| ") {
		return "", false
	}
	rest := s[i+len("&& eval "):]
	var b strings.Builder
	for len(rest) > 0 {
		switch {
		case rest[0] == '\'':
			end := strings.IndexByte(rest[1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(rest[1 : 1+end])
			rest = rest[2+end:]
		case strings.HasPrefix(rest, `\'`):
			b.WriteByte('\'')
			rest = rest[2:]
		case rest[0] == ' ':
			return b.String(), true
		default:
			return "", false
		}
	}
	return b.String(), true
}

// shellWord quotes w for a shell when it holds anything but plainly safe characters.
func shellWord(w string) string {
	if w == "" {
		return "''"
	}
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	return w
}

// Clean escapes what would break a one-line display or make it lie: control characters (\n, \t,
// \x1b, …), invalid UTF-8 and invisible or direction-changing characters (\u{202e}, …).
func Clean(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || invisible(r) || r >= 0x80 && r < 0xa0 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, invisible(r), r == utf8.RuneError:
			fmt.Fprintf(&b, `\u{%04x}`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// invisible reports direction-changing and zero-width characters.
func invisible(r rune) bool {
	switch {
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r >= 0xe0000 && r <= 0xe007f:
		return true
	}
	return false
}

var signalNames = [...]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
	7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
	14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
	21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
	28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}

// SignalName names Linux signal n ("SIGKILL"); real-time signals are "SIGRTMIN+k"; 0 is "".
func SignalName(n int) string {
	switch {
	case n <= 0:
		return ""
	case n < len(signalNames):
		return signalNames[n]
	case n >= 34 && n <= 64:
		return fmt.Sprintf("SIGRTMIN+%d", n-34)
	}
	return fmt.Sprintf("signal %d", n)
}
