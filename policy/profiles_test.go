package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/skillrun/skillrun/profiles"
)

// Tests of the embedded documents live here, in package policy: package profiles only stores them
// (it must not import policy, which imports it), and parsing is policy's job.

func TestBuiltInProfilesLoad(t *testing.T) {
	names := profiles.Names()
	if len(names) == 0 {
		t.Fatal("no built-in profiles")
	}
	for _, name := range names {
		p, err := flatProfile(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Version != 1 || p.Name != name || p.Description == "" {
			t.Errorf("%s: version %d name %q description %q", name, p.Version, p.Name, p.Description)
		}
		// A built-in profile writes only the workspace and the private tmp, reaches no network and
		// passes no secret; anything more belongs in a manifest and a grant.
		for _, w := range p.Filesystem.Write {
			if w != "${WORKSPACE}" && w != "${TMPDIR}" && !strings.HasPrefix(w, "${WORKSPACE}/") {
				t.Errorf("%s: writes %s", name, w)
			}
		}
		// Reads in the home are a toolchain's own folders, never the home itself and never a
		// floor path (the one integration exception: Claude Code's shell snapshots).
		floor, err := LoadFloor()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range append(append([]string{}, p.Filesystem.Read...), p.Filesystem.Exec...) {
			if r == "/" || r == "${HOME}" || strings.HasPrefix(r, "${CONFIG}") || strings.HasPrefix(r, "${STATE}") {
				t.Errorf("%s: reads %s", name, r)
			}
			for _, f := range floor.NeverRead {
				if within(r, f) && !(name == "claude-code" && r == "${HOME}/.claude/shell-snapshots") {
					t.Errorf("%s: reads %s inside the floor's %s", name, r, f)
				}
			}
		}
		// No built-in profile hands out secrets; only the code-host profile names hosts, and
		// only exact names on the default ports (no wildcard, no "*").
		if len(p.Env.Secrets) != 0 {
			t.Errorf("%s: secrets %v", name, p.Env.Secrets)
		}
		if name != "github" && len(p.Network.Allow) != 0 {
			t.Errorf("%s: network %v", name, p.Network.Allow)
		}
		for _, h := range p.Network.Allow {
			if strings.ContainsAny(h, "*:") {
				t.Errorf("%s: network entry %q is not an exact host name", name, h)
			}
		}
		for _, pass := range p.Env.Pass {
			if pass == "*" {
				t.Errorf("%s passes every variable", name)
			}
		}
		if !inList(p.Env.Pass, "PATH") || !inList(p.Env.Pass, "LANG") || !inList(p.Env.Pass, "TERM") {
			t.Errorf("%s: pass %v lacks PATH, LANG or TERM", name, p.Env.Pass)
		}
	}
	for _, want := range []string{"agent", "untrusted"} {
		if !inList(names, want) {
			t.Errorf("%s is not built in: %v", want, names)
		}
	}
}

func TestLoadProfileRefusesNonProfiles(t *testing.T) {
	for _, name := range []string{"", "nope", "../agent", "a/b", "agent.yaml", "./agent", `..\agent`, "AGENT"} {
		p, err := LoadProfile(name)
		if !errors.Is(err, profiles.ErrUnknown) || p != nil {
			t.Errorf("LoadProfile(%q) = %v, %v; want ErrUnknown", name, p, err)
		}
	}
	// The floor is stored next to the profiles but is not one.
	if p, err := LoadProfile(profiles.Floor); err == nil || p != nil {
		t.Errorf("LoadProfile(floor) = %+v, %v; want an error", p, err)
	}
}

// TestFloorHoldsTheDesign pins profiles/floor.yaml to the design's section 4: removing a line from
// the floor must fail a test.
func TestFloorHoldsTheDesign(t *testing.T) {
	f, err := LoadFloor()
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 1 || f.Name != profiles.Floor {
		t.Errorf("floor version %d name %q", f.Version, f.Name)
	}
	home := func(list ...string) []string {
		for i, p := range list {
			list[i] = "${HOME}/" + p
		}
		return list
	}
	ws := func(list ...string) []string {
		for i, p := range list {
			list[i] = "${WORKSPACE}/" + p
		}
		return list
	}
	neverRead := append(home(".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".kube", ".docker/config.json",
		".netrc", ".npmrc", ".pypirc", ".git-credentials", ".config/gh", ".cargo/credentials", ".cargo/credentials.toml",
		".config/google-chrome", ".config/chromium", ".config/BraveSoftware", ".config/microsoft-edge", ".mozilla",
		".bitcoin", ".electrum", ".config/Exodus", ".config/solana", ".password-store", ".claude", ".codex", ".gemini",
		".cursor", ".openclaw", ".config/opencode"),
		"${CONFIG}/skillrun", "${STATE}/skillrun", "/etc/shadow", "/etc/gshadow", "/etc/ssh/*_key")
	neverWrite := append(home(".bashrc", ".bash_profile", ".profile", ".zshrc", ".zshenv", ".zprofile", ".zlogin",
		".config/autostart", ".config/systemd", ".gitconfig", ".ssh"),
		ws(".git/hooks", ".git/config")...)
	// The agents' and editors' files the design names are in the floor's persist section.
	var persisted []string
	for _, c := range f.Persist {
		persisted = append(persisted, ws(append([]string{}, c.Paths...)...)...)
	}
	for _, w := range ws(".claude", ".codex", ".gemini", ".cursor", ".vscode", ".mcp.json", ".envrc", "CLAUDE.md", "AGENTS.md", "GEMINI.md",
		".windsurf", ".clinerules", ".github/copilot-instructions.md", ".idea", ".zed", ".devcontainer", "mise.toml") {
		if !inList(persisted, w) {
			t.Errorf("floor persist lacks %s", w)
		}
	}
	neverEnv := []string{"*_TOKEN", "*_SECRET", "*_KEY", "*_PASSWORD", "AWS_*", "GITHUB_TOKEN", "NPM_TOKEN"}
	stripEnv := []string{"*_BASE_URL", "*_API_BASE", "LD_PRELOAD", "LD_LIBRARY_PATH", "NODE_OPTIONS", "BASH_ENV", "ENV",
		"PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "GIT_SSH_COMMAND", "GIT_CONFIG_*", "SSH_AUTH_SOCK", "GPG_AGENT_INFO",
		"DBUS_SESSION_BUS_ADDRESS"}
	for _, c := range []struct {
		section   string
		got, want []string
	}{
		{"never_read", f.NeverRead, neverRead},
		{"never_write", f.NeverWrite, neverWrite},
		{"never_env", f.NeverEnv, neverEnv},
		{"strip_env", f.StripEnv, stripEnv},
	} {
		for _, w := range c.want {
			if !inList(c.got, w) {
				t.Errorf("floor %s lacks %s", c.section, w)
			}
		}
		seen := map[string]bool{}
		for _, g := range c.got {
			if seen[g] {
				t.Errorf("floor %s lists %s twice", c.section, g)
			}
			seen[g] = true
		}
	}
	for _, n := range append(append([]string{}, f.NeverEnv...), f.StripEnv...) {
		if !validEnvPattern(n) {
			t.Errorf("floor env pattern %q is not valid", n)
		}
	}
	// Provider keys and endpoints, by example.
	for _, n := range []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "FOO_TOKEN",
		"MY_SECRET_VALUE", "DB_PASSWORD", "AWS_ACCESS_KEY_ID"} {
		if !matchAny(f.NeverEnv, n) {
			t.Errorf("never_env does not cover %s", n)
		}
	}
	for _, n := range []string{"ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_BASE", "GIT_CONFIG_GLOBAL"} {
		if !matchAny(f.StripEnv, n) {
			t.Errorf("strip_env does not cover %s", n)
		}
	}
	for _, n := range []string{"PATH", "HOME", "LANG", "LC_ALL", "TERM", "TZ", "USER", "LOGNAME", "TMPDIR"} {
		if matchAny(f.NeverEnv, n) || matchAny(f.StripEnv, n) {
			t.Errorf("the floor withholds the harmless %s", n)
		}
	}
}
