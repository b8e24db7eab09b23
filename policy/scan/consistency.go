package scan

import (
	"strings"
	"sync"

	"github.com/skillrun/skillrun/policy"
)

// Consistency: what the code does against what skillrun.yaml declares. A skill that declares no
// network but calls curl, or reads ~/.aws without asking, is either broken under the sandbox or
// hiding something; either way the reviewer should see it before approving.

// manifestInfo is the manifest flattened with the profiles it extends.
type manifestInfo struct {
	present bool
	allow   []string // network.allow
	paths   []string // every declared path, ${HOME} written as ~
	writes  []string // declared write paths, ${HOME} written as ~
}

func newManifestInfo(m *policy.Manifest) *manifestInfo {
	mi := &manifestInfo{}
	if m == nil {
		return mi
	}
	mi.present = true
	add := func(c policy.Capabilities) {
		mi.allow = append(mi.allow, c.Network.Allow...)
		for _, l := range [][]string{c.Filesystem.Read, c.Filesystem.Write, c.Filesystem.Exec} {
			for _, p := range l {
				mi.paths = append(mi.paths, homeTilde(p))
			}
		}
		for _, p := range c.Filesystem.Write {
			mi.writes = append(mi.writes, homeTilde(p))
		}
	}
	add(m.Capabilities)
	seen := map[string]bool{}
	var walk func(names []string)
	walk = func(names []string) {
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			p, err := loadProfile(n)
			if err != nil {
				continue
			}
			add(p.Capabilities)
			walk(p.Extends)
		}
	}
	walk(m.Extends)
	return mi
}

// profileCache keeps parsed built-in profiles: they never change, and parsing YAML on every scan
// would cost more than scanning a small skill.
var profileCache sync.Map // name → *policy.Profile

func loadProfile(name string) (*policy.Profile, error) {
	if p, ok := profileCache.Load(name); ok {
		return p.(*policy.Profile), nil
	}
	p, err := policy.LoadProfile(name)
	if err != nil {
		return nil, err
	}
	profileCache.Store(name, p)
	return p, nil
}

func homeTilde(p string) string {
	if strings.HasPrefix(p, "${HOME}") {
		return "~" + strings.TrimPrefix(p, "${HOME}")
	}
	return p
}

// declares reports whether the manifest names p, a path below it, or a folder above it.
func (mi *manifestInfo) declares(p string) bool {
	for _, d := range mi.paths {
		if under(d, p) || under(p, d) {
			return true
		}
	}
	return false
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// undeclaredWrite explains a write to an absolute or home path no declared write path covers, or
// returns "". Private temporary files and devices are always writable.
func (mi *manifestInfo) undeclaredWrite(t string) string {
	if !strings.HasPrefix(t, "/") && !strings.HasPrefix(t, "~/") || len(t) < 3 || strings.ContainsAny(t, "${}*<>|") {
		return ""
	}
	for _, ok := range []string{"/dev/", "/tmp", "/proc/self/", "/var/folders/"} {
		if strings.HasPrefix(t, ok) {
			return ""
		}
	}
	for _, d := range mi.writes {
		if under(t, d) {
			return ""
		}
	}
	return "writes " + t
}

var (
	reNetUse  = lazyRegexp(`\b(?:requests|httpx)\.(?:get|post|put|patch|delete|head|request|Session|Client|AsyncClient|stream)\s*\(|\burlopen\s*\(|\burllib\.request\b|\bhttp\.client\.HTTPS?Connection\b|\baiohttp\.ClientSession\b|(?:^|[^\w.])fetch\s*\(\s*["'` + "`" + `\w]|\baxios(?:\.\w+)?\s*\(|\bsocket\.(?:socket|create_connection)\s*\(|\bnet\.(?:Dial|DialTimeout|Listen)\s*\(|\bhttp\.(?:Get|Post|Head|NewRequest|NewRequestWithContext)\s*\(|\bhttps?\.(?:get|request)\s*\(|(?:^|[\s;&|("'])(?:curl|wget)\s|\b(?:nc|ncat|netcat|telnet)\s+-?[\w.-]+\s+\d+|\bnew\s+WebSocket\s*\(|\bXMLHttpRequest\b|\bInvoke-(?:WebRequest|RestMethod)\b|\bNet::HTTP\b|\bURI\.open\b`)
	reURLHost = lazyRegexp(`(?i)\b(?:https?|wss?)://([a-z0-9.-]+)(?::(\d+))?`)
)

// network compares network use with network.allow (CONS-002, -003). The first use in a file is
// enough for CONS-002; hosts are checked on every line that uses the network.
func network(c *fileCtx, u unit) {
	mi := c.s.man
	if !mi.present {
		return
	}
	m := reNetUse.FindString(u.text)
	if m == "" {
		return
	}
	if len(mi.allow) == 0 {
		if !c.s.perFileOnce(ruleUndeclaredNet, c.name) {
			c.add(ruleUndeclaredNet, u.line, u.text, "uses "+strings.TrimSpace(strings.Trim(m, `("'`+"` ;&|")))
		}
		return
	}
	for _, hm := range reURLHost.FindAllStringSubmatch(u.text, 8) {
		host := strings.ToLower(strings.TrimSuffix(hm[1], "."))
		if host == "localhost" || strings.HasPrefix(host, "127.") || allowsHost(mi.allow, host, hm[2]) {
			continue
		}
		c.add(ruleUndeclaredHost, u.line, hm[0], host)
	}
}

// allowsHost matches a host (and port, when given) against network.allow entries: "host:port",
// "host", "*.domain" and "*".
func allowsHost(allow []string, host, port string) bool {
	for _, a := range allow {
		a = strings.ToLower(strings.TrimSpace(a))
		ap := ""
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			a, ap = a[:i], a[i+1:]
		}
		if ap != "" && port != "" && ap != port {
			continue
		}
		switch {
		case a == "*":
			return true
		case strings.HasPrefix(a, "*."):
			if strings.HasSuffix(host, a[1:]) {
				return true
			}
		case a == host:
			return true
		}
	}
	return false
}

// floorPaths are the credential paths of the floor, relative to the home folder (".ssh", ".aws",
// …), read from policy's built-in floor so that the two never disagree.
var floorPaths = sync.OnceValues(func() ([]string, []string) {
	f, err := policy.LoadFloor()
	if err != nil {
		return nil, nil
	}
	var rels, kws []string
	for _, p := range f.NeverRead {
		if !strings.HasPrefix(p, "${HOME}/") {
			if strings.HasPrefix(p, "/") {
				rels = append(rels, p)
				kws = append(kws, strings.ToLower(p))
			}
			continue
		}
		r := strings.TrimPrefix(p, "${HOME}/")
		rels = append(rels, r)
		kws = append(kws, strings.ToLower(r))
	}
	return rels, kws
})

// floorPath finds code that names a floor path the manifest does not ask for (CONS-004).
func floorPath(c *fileCtx, u unit) {
	mi := c.s.man
	if !mi.present {
		return
	}
	rels, _ := floorPaths()
	for _, r := range rels {
		i := pathSegmentIndex(u.text, r)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(u.text[i+len(r):], "\"'` /,+")
		if strings.HasPrefix(rest, "skills") {
			continue // the agents' skill folders, where skills themselves live
		}
		p := r
		if !strings.HasPrefix(r, "/") {
			p = "~/" + r
		}
		if mi.declares(p) {
			continue
		}
		c.add(ruleFloorPath, u.line, u.text, p)
		return
	}
}

// pathSegmentIndex finds rel in s where it starts a path element and ends one.
func pathSegmentIndex(s, rel string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], rel)
		if j < 0 {
			return -1
		}
		j += i
		i = j + 1
		if j > 0 && !strings.ContainsRune("/~\"'` \t(=,:[", rune(s[j-1])) {
			continue
		}
		e := j + len(rel)
		if e < len(s) && !strings.ContainsRune("/\"'` \t),;:]", rune(s[e])) {
			continue
		}
		return j
	}
}

var reDotEnv = lazyRegexp(`(?:^|[/"'\s(=` + "`" + `])\.env(?:\.(?:local|production|prod|development|dev|staging))?(?:$|["'\s)/` + "`" + `,;])|\bload_dotenv\s*\(|\bdotenv\.config\s*\(|\brequire\(\s*["']dotenv|\bfrom\s+dotenv\s+import\b|\bimport\s+["']dotenv/config|\bgodotenv\.Load\s*\(|\bDotenv\.load\b`)

// dotEnv finds code that reads .env files the manifest does not ask for (CONS-005).
func dotEnv(c *fileCtx, u unit) {
	mi := c.s.man
	if !mi.present || !strings.Contains(u.text, "otenv") && !dotEnvFile(u.text) {
		return
	}
	m := reDotEnv.FindString(u.text)
	if m == "" {
		return
	}
	for _, p := range mi.paths {
		if strings.Contains(p, ".env") {
			return
		}
	}
	c.add(ruleDotEnv, u.line, u.text, strings.TrimSpace(strings.Trim(m, `"'(=`+"`")))
}

// dotEnvFile reports ".env" standing as a file name, not as the end of process.env or
// import.meta.env.
func dotEnvFile(s string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], ".env")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || !isIdent(s[j-1]) {
			return true
		}
		i = j + 4
	}
}

// floorKeywords are floorPaths' lower-case keywords.
func floorKeywords() []string {
	_, kws := floorPaths()
	return kws
}
