package policy

import (
	"sort"
)

// CapabilityDiff lists what a new manifest asks for beyond, or no longer asks for compared to,
// the one that was approved: "+ connects to api.example.com:443", "- reads ${WORKSPACE}". Like a
// browser extension whose update wants more, a skill that widens its capabilities is shown
// exactly what is new before it is approved again.
func CapabilityDiff(oldExtends []string, old *Capabilities, newExtends []string, new *Capabilities) []string {
	if old == nil {
		old = &Capabilities{}
	}
	if new == nil {
		new = &Capabilities{}
	}
	var out []string
	diff := func(what string, a, b []string) {
		in := func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		}
		for _, s := range b {
			if !in(a, s) {
				out = append(out, "+ "+what+" "+s)
			}
		}
		for _, s := range a {
			if !in(b, s) {
				out = append(out, "- "+what+" "+s)
			}
		}
	}
	diff("uses the profile", oldExtends, newExtends)
	diff("reads", old.Filesystem.Read, new.Filesystem.Read)
	diff("writes", old.Filesystem.Write, new.Filesystem.Write)
	diff("runs programs from", old.Filesystem.Exec, new.Filesystem.Exec)
	diff("connects to", old.Network.Allow, new.Network.Allow)
	diff("wants the secret", old.Env.Secrets, new.Env.Secrets)
	diff("gets the variable", old.Env.Pass, new.Env.Pass)
	diff("sets", setList(old.Env.Set), setList(new.Env.Set))
	if a, b := describeLimits(old.Limits), describeLimits(new.Limits); a != b {
		if a == "" {
			a = "none"
		}
		if b == "" {
			b = "none"
		}
		out = append(out, "~ limits "+a+" -> "+b)
	}
	return out
}

func setList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
