package scan

// Rule is one check of the scanner. Title is the one-line explanation shown with every finding.
type Rule struct {
	ID       string   `json:"id"`
	Class    string   `json:"class"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
}

// Classes, in the order reports group them.
const (
	ClassHiddenExec   = "hidden-exec"
	ClassCredentials  = "credentials"
	ClassRedirection  = "redirection"
	ClassPersistence  = "persistence"
	ClassExfiltration = "exfiltration"
	ClassObfuscation  = "obfuscation"
	ClassSocial       = "social-engineering"
	ClassConsistency  = "consistency"
)

var classOrder = []string{ClassHiddenExec, ClassCredentials, ClassRedirection, ClassPersistence, ClassExfiltration, ClassObfuscation, ClassSocial, ClassConsistency}

// classTitles are the headings of the text report.
var classTitles = map[string]string{
	ClassHiddenExec:   "hidden command execution",
	ClassCredentials:  "hard-coded credentials",
	ClassRedirection:  "API traffic redirection",
	ClassPersistence:  "persistence",
	ClassExfiltration: "exfiltration endpoints",
	ClassObfuscation:  "obfuscation and smuggling",
	ClassSocial:       "social engineering",
	ClassConsistency:  "consistency with skillrun.yaml",
}

// Rule IDs, named so the checks and the tests cannot drift from the table.
const (
	ruleCurlPipeShell   = "SR-EXEC-001"
	ruleBase64Shell     = "SR-EXEC-002"
	ruleShellSubstDL    = "SR-EXEC-003"
	ruleEvalDecoded     = "SR-EXEC-004"
	ruleEvalDownloaded  = "SR-EXEC-005"
	ruleReverseShell    = "SR-EXEC-006"
	ruleShellFetched    = "SR-EXEC-007"
	ruleChmodDownloaded = "SR-EXEC-008"
	rulePasswordArchive = "SR-EXEC-009"
	ruleLoaderHook      = "SR-EXEC-010"

	ruleAWSKey        = "SR-CRED-001"
	ruleGitHubToken   = "SR-CRED-002"
	ruleGitLabToken   = "SR-CRED-003"
	ruleSlackToken    = "SR-CRED-004"
	ruleOpenAIKey     = "SR-CRED-005"
	ruleAnthropicKey  = "SR-CRED-006"
	rulePrivateKey    = "SR-CRED-007"
	ruleEntropySecret = "SR-CRED-008"

	ruleAPIBaseURL    = "SR-REDIR-001"
	ruleProxyVar      = "SR-REDIR-002"
	ruleAgentSettings = "SR-REDIR-003"
	ruleEtcHosts      = "SR-REDIR-004"
	ruleShellRC       = "SR-REDIR-005"

	ruleCron          = "SR-PERSIST-001"
	ruleSystemd       = "SR-PERSIST-002"
	ruleAutostart     = "SR-PERSIST-003"
	ruleGitHooks      = "SR-PERSIST-004"
	ruleAgentHooks    = "SR-PERSIST-005"
	ruleFolderOpen    = "SR-PERSIST-006"
	ruleAgentMemory   = "SR-PERSIST-007"
	ruleAuthorizedKey = "SR-PERSIST-008"

	ruleExfilDomain  = "SR-EXFIL-001"
	ruleChatWebhook  = "SR-EXFIL-002"
	ruleBareIP       = "SR-EXFIL-003"
	ruleUploadSecret = "SR-EXFIL-004"

	ruleBase64Blob    = "SR-OBF-001"
	ruleHexBlob       = "SR-OBF-002"
	ruleEncodedCmd    = "SR-OBF-003"
	ruleTagChars      = "SR-OBF-004"
	ruleZeroWidth     = "SR-OBF-005"
	ruleBidi          = "SR-OBF-006"
	ruleMidBOM        = "SR-OBF-007"
	ruleHomoglyph     = "SR-OBF-008"
	ruleBinary        = "SR-OBF-009"
	ruleArchive       = "SR-OBF-010"
	ruleExecutable    = "SR-OBF-011"
	ruleSymlinkEscape = "SR-OBF-012"
	ruleArchiveEscape = "SR-OBF-013"

	ruleSetupDownload = "SR-SOC-001"
	rulePasteTerminal = "SR-SOC-002"
	ruleDisableSafety = "SR-SOC-003"
	ruleSendSecrets   = "SR-SOC-004"

	ruleNoManifest      = "SR-CONS-001"
	ruleUndeclaredNet   = "SR-CONS-002"
	ruleUndeclaredHost  = "SR-CONS-003"
	ruleFloorPath       = "SR-CONS-004"
	ruleDotEnv          = "SR-CONS-005"
	ruleUndeclaredWrite = "SR-CONS-006"
)

// ruleTable is every rule. Severities follow what the finding means for the developer: critical is
// a payload or a secret that needs no further step to do harm, high is an attack technique with few
// innocent uses in a skill, medium is worth a look, info is context.
var ruleTable = []Rule{
	{ruleCurlPipeShell, ClassHiddenExec, "downloaded content is piped into a shell or interpreter", Critical},
	{ruleBase64Shell, ClassHiddenExec, "base64-decoded data is piped into a shell", Critical},
	{ruleShellSubstDL, ClassHiddenExec, "a shell runs the output of a download (bash -c \"$(curl …)\", eval, <(curl …))", Critical},
	{ruleEvalDecoded, ClassHiddenExec, "eval or exec of decoded data", High},
	{ruleEvalDownloaded, ClassHiddenExec, "eval or exec of downloaded data", Critical},
	{ruleReverseShell, ClassHiddenExec, "reverse shell (/dev/tcp, nc -e, socket duplicated onto stdin)", Critical},
	{ruleShellFetched, ClassHiddenExec, "a shell command (os.system, shell=True, exec) runs fetched input", Critical},
	{ruleChmodDownloaded, ClassHiddenExec, "a downloaded file is made executable to run it", High},
	{rulePasswordArchive, ClassHiddenExec, "a password-protected archive is extracted (hides its content from scanners)", High},
	{ruleLoaderHook, ClassHiddenExec, "a loader or interpreter hook variable is set (LD_PRELOAD, NODE_OPTIONS --require, BASH_ENV)", High},

	{ruleAWSKey, ClassCredentials, "AWS access key id written into the skill", Critical},
	{ruleGitHubToken, ClassCredentials, "GitHub token written into the skill", Critical},
	{ruleGitLabToken, ClassCredentials, "GitLab token written into the skill", Critical},
	{ruleSlackToken, ClassCredentials, "Slack token written into the skill", Critical},
	{ruleOpenAIKey, ClassCredentials, "OpenAI API key written into the skill", Critical},
	{ruleAnthropicKey, ClassCredentials, "Anthropic API key written into the skill", Critical},
	{rulePrivateKey, ClassCredentials, "private key written into the skill", Critical},
	{ruleEntropySecret, ClassCredentials, "random-looking literal assigned to a key, token, secret or password name", High},

	{ruleAPIBaseURL, ClassRedirection, "model API base URL set (sends API keys and prompts to another host)", High},
	{ruleProxyVar, ClassRedirection, "proxy variable set (routes traffic through another host)", Medium},
	{ruleAgentSettings, ClassRedirection, "writes an agent's settings file (.claude/settings.json, .codex/config.toml, .gemini/settings.json)", High},
	{ruleEtcHosts, ClassRedirection, "writes /etc/hosts", High},
	{ruleShellRC, ClassRedirection, "writes a shell startup file (.bashrc, .zshrc, .profile)", High},

	{ruleCron, ClassPersistence, "installs a cron job", High},
	{ruleSystemd, ClassPersistence, "installs or enables a systemd unit", High},
	{ruleAutostart, ClassPersistence, "installs an autostart or launch agent entry", High},
	{ruleGitHooks, ClassPersistence, "installs a git hook or redirects core.hooksPath", High},
	{ruleAgentHooks, ClassPersistence, "defines agent hooks (SessionStart, PreToolUse, …) that run on every session", High},
	{ruleFolderOpen, ClassPersistence, "VS Code task that runs when the folder is opened", High},
	{ruleAgentMemory, ClassPersistence, "writes agent memory or instruction files, or another skill", High},
	{ruleAuthorizedKey, ClassPersistence, "adds an SSH authorized key", High},

	{ruleExfilDomain, ClassExfiltration, "known exfiltration, paste or tunnel service", High},
	{ruleChatWebhook, ClassExfiltration, "chat webhook or bot API endpoint (a ready-made exfiltration channel)", High},
	{ruleBareIP, ClassExfiltration, "URL or download from a bare IP address", High},
	{ruleUploadSecret, ClassExfiltration, "uploads a credential file", Critical},

	{ruleBase64Blob, ClassObfuscation, "long base64 blob (content a reviewer cannot read)", Medium},
	{ruleHexBlob, ClassObfuscation, "long hex blob or escape sequence (content a reviewer cannot read)", Medium},
	{ruleEncodedCmd, ClassObfuscation, "encoded text decodes to a command or URL", High},
	{ruleTagChars, ClassObfuscation, "Unicode tag characters (invisible text that models read)", Critical},
	{ruleZeroWidth, ClassObfuscation, "zero-width or invisible characters (split keywords, hide text)", High},
	{ruleBidi, ClassObfuscation, "bidirectional control characters (text displays differently from what it is)", High},
	{ruleMidBOM, ClassObfuscation, "byte order mark inside a file", Medium},
	{ruleHomoglyph, ClassObfuscation, "command spelled with look-alike Cyrillic or Greek letters", High},
	{ruleBinary, ClassObfuscation, "binary or non-UTF-8 file (not reviewable as text)", Medium},
	{ruleArchive, ClassObfuscation, "archive in the skill (content not scanned)", High},
	{ruleExecutable, ClassObfuscation, "executable or native library in the skill", High},
	{ruleSymlinkEscape, ClassObfuscation, "symlink pointing outside the skill", High},
	{ruleArchiveEscape, ClassObfuscation, "archive entry that extracts outside its folder (absolute path, .., or a link out)", High},

	{ruleSetupDownload, ClassSocial, "setup instructions ask to download and run something, or to open a password-protected archive", High},
	{rulePasteTerminal, ClassSocial, "asks the user or agent to paste a download-and-run command into a terminal", High},
	{ruleDisableSafety, ClassSocial, "disables agent permissions or system security (--dangerously-skip-permissions, --yolo, Gatekeeper)", High},
	{ruleSendSecrets, ClassSocial, "asks the agent to send credential files (.env, ~/.ssh, keys)", High},

	{ruleNoManifest, ClassConsistency, "no skillrun.yaml: the skill runs with the untrusted profile", Info},
	{ruleUndeclaredNet, ClassConsistency, "code uses the network but skillrun.yaml allows none", Medium},
	{ruleUndeclaredHost, ClassConsistency, "code contacts a host skillrun.yaml does not allow", Medium},
	{ruleFloorPath, ClassConsistency, "code refers to a credential path skillrun.yaml never asks for", High},
	{ruleDotEnv, ClassConsistency, "code reads .env files skillrun.yaml never asks for", Medium},
	{ruleUndeclaredWrite, ClassConsistency, "code writes outside the paths skillrun.yaml declares", Medium},
}

// exfilDomains are services attackers use to receive stolen data or stage payloads: request
// catchers, paste sites, code snippet hosts and tunnels. They are attack endpoints, listed here
// and nowhere else. A host matches itself and its subdomains.
var exfilDomains = []string{
	"webhook.site",
	"pastebin.com",
	"paste.ee",
	"hastebin.com",
	"glot.io",
	"ngrok.io",
	"ngrok.app",
	"ngrok-free.app",
	"bore.pub",
	"requestbin.com",
	"requestbin.net",
	"pipedream.net",
	"transfer.sh",
	"interact.sh",
	"oast.fun",
	"oast.pro",
	"oast.live",
	"oast.site",
	"burpcollaborator.net",
	"serveo.net",
	"localhost.run",
	"trycloudflare.com",
}

// chatWebhooks are URL prefixes of chat webhooks and bot APIs: anything posted there reaches
// whoever holds the channel, with no account of the victim's involved.
var chatWebhooks = []string{
	"discord.com/api/webhooks/",
	"discordapp.com/api/webhooks/",
	"hooks.slack.com/services/",
	"hooks.slack.com/workflows/",
	"hooks.slack.com/triggers/",
	"api.telegram.org/bot",
}

var rulesByID = func() map[string]*Rule {
	m := make(map[string]*Rule, len(ruleTable))
	for i := range ruleTable {
		m[ruleTable[i].ID] = &ruleTable[i]
	}
	return m
}()

// Rules returns every rule, in table order, for documentation and tests.
func Rules() []Rule {
	return append([]Rule(nil), ruleTable...)
}
