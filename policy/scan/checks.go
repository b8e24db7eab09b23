package scan

import (
	"strings"
	"sync"
)

// checks are the keyword-triggered checks. A check runs on a logical line only when one of its
// keywords occurs there (case-insensitively), so its regular expressions never see the rest of the
// file; file-wide passes (Unicode, encoded runs, documentation sections, file types) live
// elsewhere. They are built on first use: every start of the binary (the sandbox's helpers too)
// would pay for them at package init.
var allChecks = sync.OnceValue(func() []check {
	return []check{
		{keywords: kw("curl", "wget", "iwr", "irm", "invoke-webrequest", "invoke-restmethod", "base64", "openssl", "xxd", "certutil"), kinds: kindAny, run: downloadExec},
		{keywords: kw("exec", "eval", "function(", "function (", "os.system", "os.popen", "subprocess", "popen", "child_process", "execsync", "system(", "system (", "shell=true", "exec.command", "getruntime", "getoutput", "shell_exec", "passthru"), kinds: kindAny, run: evalExec},
		{keywords: append(kw("/dev/tcp/", "/dev/udp/", "ncat", "netcat", "socat", "dup2", "pty.spawn"), ncKeywords...), kinds: kindAny, run: reverseShell},
		{keywords: kw("unzip", "7z", "unrar", "pwd=", "pwd =", "setpassword", "-password"), kinds: kindAny, run: passwordArchive},
		{keywords: kw("chmod"), kinds: kindAny, run: chmodDownloaded},
		{keywords: kw("ld_preload", "ld_audit", "dyld_insert_libraries", "bash_env", "pythonstartup", "perl5opt", "rubyopt", "git_ssh_command", "prompt_command", "node_options"), kinds: kindAny, run: loaderHook},

		{keywords: kw("akia", "asia", "abia", "acca", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xoxe-", "sk-"), kinds: kindAny, run: tokens},
		{keywords: kw("private key"), kinds: kindAny, run: privateKey},
		{keywords: kw("_key", "apikey", "api-key", "accesskey", "secretkey", "privatekey", "_token", "authtoken", "accesstoken", "secret", "passw", "_pwd"), kinds: kindAny, run: entropySecret},

		{keywords: kw("anthropic_", "openai_", "gemini_", "openai.api_base", "openai.base_url", "anthropic.base_url"), kinds: kindAny, run: apiBaseURL},
		{keywords: kw("_proxy", "http.proxy", "https.proxy", "set proxy", "set https-proxy", "setwebproxy"), kinds: kindAny, run: proxyVar},
		{keywords: writeKeywords(), kinds: kindAny, run: writes},
		{keywords: kw("crontab", "systemctl", "loginctl", "launchctl", "schtasks", "currentversion\\run", "login item", "hookspath", "runon",
			"sessionstart\"", "sessionstart'", "sessionend\"", "sessionend'", "userpromptsubmit\"", "userpromptsubmit'", "pretooluse\"", "pretooluse'",
			"posttooluse\"", "posttooluse'", "precompact\"", "precompact'", "subagentstop\"", "subagentstop'"), kinds: kindAny, run: persistCommands},

		{keywords: exfilDomains, kinds: kindAny, run: exfilDomain},
		{keywords: kw("discord", "hooks.slack.com", "api.telegram.org"), kinds: kindAny, run: chatWebhook},
		{keywords: append(kw("://", "curl", "wget", "ncat", "netcat", "telnet", "ssh ", "scp ", "iwr", "irm"), ncKeywords...), kinds: kindAny, run: bareIP},
		{keywords: append(kw("curl", "wget", "ncat", "netcat", "requests.", "httpx.", "session.", "client.", "axios.", "fetch(", "urlopen", "http.post", "scp ", "rsync "), ncKeywords...), kinds: kindAny, run: uploadSecret},

		{keywords: kw("required", "must install", "needed"), kinds: kindDoc, run: banner},
		{keywords: kw("pass", "pwd"), kinds: kindDoc, run: archivePassword},
		{keywords: kw("download", "get ", "grab", "fetch", "obtain", "installer"), kinds: kindDoc, run: setupDownload},
		{keywords: kw("terminal", "command line", "command-line", "your shell", "the shell", "a shell", "console", "powershell", "command prompt", "cmd", "the user to"), kinds: kindDoc, run: pasteTerminal},
		{keywords: kw(".env", ".ssh", ".aws", "id_rsa", "id_ed25519", ".git-credentials", ".npmrc", "solana", "seed phrase", "private key", "wallet", "keychain", "browser cookies", "browser passwords"), kinds: kindDoc, run: sendSecrets},
		{keywords: kw("dangerously", "yolo", "trust-all", "allow-all-tools", "bypasspermissions", "permission-mode", "enableallprojectmcpservers", "spctl", "xattr",
			"mppreference", "setenforce", "csrutil", "ufw", "disable", "turn off", "deactivate", "bypass"), kinds: kindAny, run: disableSafety},

		{keywords: kw("requests.", "httpx.", "urlopen", "urllib", "http.client", "aiohttp", "fetch", "axios", "socket.", "net.dial", "net.listen", "http.get", "http.post",
			"http.head", "http.newrequest", "https.get", "https.request", "http.request", "curl", "wget", "ncat", "netcat", "telnet", "websocket", "xmlhttprequest",
			"invoke-webrequest", "invoke-restmethod", "net::http", "uri.open", " nc ", "\nnc ", "\tnc "), kinds: kindCode, run: network},
		{keywords: floorKeywords(), kinds: kindCode, run: floorPath},
		{keywords: kw(".env", "dotenv"), kinds: kindCode, run: dotEnv},
	}
})

func kw(s ...string) []string { return s }

// ncKeywords find netcat as a command ("nc " alone would match "func ", "sync ", "once ").
var ncKeywords = []string{" nc ", "\nnc ", "\tnc ", "|nc ", "(nc ", "\"nc ", "'nc ", "`nc ", "\nncat"}

// writeKeywords trigger the write check: the paths it cares about and the ways of writing that
// name a target in a variable.
func writeKeywords() []string {
	k := []string{
		".bashrc", ".bash_profile", ".bash_login", ".zshrc", ".zshenv", ".zprofile", ".zlogin", ".profile", ".kshrc", ".cshrc", "config.fish",
		"/etc/hosts", "etc\\hosts", ".claude", ".codex", ".gemini", ".cursor", ".mcp.json", ".openclaw", "cron", "systemd", "autostart",
		"launchagents", "launchdaemons", "\\startup", ".git/hooks", "tasks.json", "soul.md", "memory.md", "heartbeat.md", "claude.md",
		"agents.md", "gemini.md", "/skills", "authorized_keys",
		"open(", "open (", "writefile", "appendfile", "write_text", "write_bytes", "createwritestream", "outputfile", "outputjson", "writejson",
		"os.create", "os.openfile", "os.mkdir", "os.makedirs", "shutil.", "os.rename", "os.replace", "os.symlink", "file.write", "file_put_contents",
		"set-content", "add-content", "out-file", "new-item", "copy-item", "copyfile", "renamesync", "symlinksync", "cpsync", "mkdirsync", "touch(",
		"mkdir(", "symlink_to", ">>", "> ~", ">~", "> /", ">/", "> $", ">$", "> \"$", ">\"$", "> \"~", "> \"/", "tee ", "cp ", "mv ", "install -", "ln ", "rsync ",
		"sed -i", "of=",
	}
	for i := range k {
		k[i] = strings.ToLower(k[i])
	}
	return k
}
