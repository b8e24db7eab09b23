package policy

import (
	"path"
	"sort"
	"strings"
	"time"
)

// baseEnv are always set by skillrun, never taken from the caller.
var baseEnv = []string{"HOME", "USER", "LOGNAME", "TMPDIR", "PATH"}

// proxyEnv are the variables that point tools at the egress proxy (and their lowercase forms).
var proxyEnv = []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}

// noProxy is NO_PROXY inside the sandbox: its loopback, in every spelling tools compare (Python's
// urllib matches a URL's host "[::1]" with its brackets, curl and Go without).
const noProxy = "localhost,127.0.0.1,::1,[::1]"

// buildEnv builds the command's environment from scratch: skillrun's own variables, the caller's
// variables a pass rule names (never the floor's), granted secrets, and set values.
func (m *merge) buildEnv() {
	r, rs, f := m.r, m.effective, m.floor
	caller := map[string]string{}
	for _, kv := range r.Environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			caller[k] = v
		}
	}
	out := map[string]string{
		"HOME":    r.Home,
		"USER":    r.User.Name,
		"LOGNAME": r.User.Name,
		"TMPDIR":  SandboxTmp,
		"PATH":    DefaultPath,
	}
	if v := caller["PATH"]; v != "" {
		out["PATH"] = v
	}
	denied := func(k string) bool { return matchAny(f.StripEnv, k) || matchAny(m.sub.envDeny, k) }
	secrets := map[string]string{}
	for _, s := range rs.secrets {
		secrets[s.pattern] = s.origin
	}
	var dropped []string
	names := make([]string, 0, len(caller))
	for k := range caller {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if matchAny(baseEnv, k) {
			continue
		}
		if o, ok := secrets[k]; ok && !denied(k) {
			out[k] = caller[k]
			m.why = append(m.why, Decision{Kind: "secret", Subject: k, Decision: "passed", Origin: o})
			continue
		}
		rule := passRule(rs.pass, k)
		if rule == nil || matchAny(f.NeverEnv, k) || denied(k) {
			dropped = append(dropped, k)
			continue
		}
		out[k] = caller[k]
	}
	for _, p := range rs.pass {
		m.why = append(m.why, Decision{Kind: "env", Subject: p.pattern, Decision: "passed", Origin: p.origin})
	}
	keys := make([]string, 0, len(rs.set))
	for k := range rs.set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := rs.set[k]
		if matchAny(baseEnv, k) || (!s.builtin && denied(k)) {
			m.why = append(m.why, Decision{Kind: "env", Subject: k, Decision: "denied", Origin: s.origin, Reason: "never set by a manifest or policy"})
			continue
		}
		v, err := m.vars.expandValue(s.value)
		if err != nil {
			m.why = append(m.why, Decision{Kind: "env", Subject: k, Decision: "denied", Origin: s.origin, Reason: err.Error()})
			continue
		}
		out[k] = v
		m.why = append(m.why, Decision{Kind: "env", Subject: k, Decision: "set", Origin: s.origin})
	}
	if proxy := m.plan.Network.Proxy; proxy != "" {
		// The egress proxy, whatever the caller or a manifest set: a proxy variable of their
		// choosing is how API traffic gets redirected.
		for _, k := range proxyEnv {
			out[k], out[strings.ToLower(k)] = "http://"+proxy, "http://"+proxy
		}
		// Inside the sandbox's network namespace, loopback is the sandbox's own.
		out["NO_PROXY"], out["no_proxy"] = noProxy, noProxy
		m.why = append(m.why, Decision{Kind: "env", Subject: "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY", Decision: "set", Origin: "egress proxy"})
	}
	env := make([]string, 0, len(out))
	for k, v := range out {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	m.plan.Env, m.plan.EnvDropped = env, dropped
}

func passRule(list []envRule, name string) *envRule {
	for i := range list {
		if matchEnv(list[i].pattern, name) {
			return &list[i]
		}
	}
	return nil
}

// buildLimits takes, for each kind of limit, the strictest value any source set.
func (m *merge) buildLimits() {
	srcs := m.limits
	if m.r.Timeout > 0 {
		d := Duration(m.r.Timeout)
		srcs = append(srcs, limitSource{LimitCaps{Timeout: &d}, "flag --timeout"})
	}
	l := &m.plan.Limits
	note := func(kind, val, origin string) {
		m.why = append(m.why, Decision{Kind: "limit", Subject: kind, Decision: val, Origin: origin})
	}
	var origins [6]string
	for _, s := range srcs {
		c := s.caps
		if c.Timeout != nil && *c.Timeout > 0 && (l.Timeout == 0 || *c.Timeout < l.Timeout) {
			l.Timeout, origins[0] = *c.Timeout, s.origin
		}
		if c.Memory != nil && (l.Memory == 0 || *c.Memory < l.Memory) {
			l.Memory, origins[1] = *c.Memory, s.origin
		}
		if c.Processes != nil && (l.Processes == 0 || *c.Processes < l.Processes) {
			l.Processes, origins[2] = *c.Processes, s.origin
		}
		if c.CPU != nil && *c.CPU > 0 && (l.CPU == 0 || *c.CPU < l.CPU) {
			l.CPU, origins[3] = *c.CPU, s.origin
		}
		if c.FileSize != nil && (l.FileSize == 0 || *c.FileSize < l.FileSize) {
			l.FileSize, origins[4] = *c.FileSize, s.origin
		}
		if c.OpenFiles != nil && (l.OpenFiles == 0 || *c.OpenFiles < l.OpenFiles) {
			l.OpenFiles, origins[5] = *c.OpenFiles, s.origin
		}
	}
	if l.Timeout > 0 {
		note("timeout", time.Duration(l.Timeout).String(), origins[0])
	}
	if l.Memory > 0 {
		note("memory", l.Memory.String(), origins[1])
	}
	if l.Processes > 0 {
		note("processes", itoa(l.Processes), origins[2])
	}
	if l.CPU > 0 {
		note("cpu", time.Duration(l.CPU).String(), origins[3])
	}
	if l.FileSize > 0 {
		note("file_size", l.FileSize.String(), origins[4])
	}
	if l.OpenFiles > 0 {
		note("open_files", itoa(l.OpenFiles), origins[5])
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// globMatch matches one path element against a pattern with '*' and '?'.
func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}
