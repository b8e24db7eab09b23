package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// PlanVersion is the schema version of [Plan], printed by `skillrun plan`.
const PlanVersion = 1

// Access says how a mount is visible inside the sandbox.
type Access string

const (
	// ReadOnly is a read-only bind of the host path.
	ReadOnly Access = "ro"
	// ReadWrite is a read-write bind of the host path.
	ReadWrite Access = "rw"
	// Tmpfs is an empty private tmpfs, gone when the run ends.
	Tmpfs Access = "tmpfs"
)

// Plan is everything the sandbox needs to run one command, as plain data. Paths are absolute and
// clean; the sandbox shows each host path at the same path inside.
type Plan struct {
	Version int    `json:"version"`
	Profile string `json:"profile"`
	// Toolchains are the toolchain profiles an agent command gets beside its view (--profile go,
	// the policy's agent.extends).
	Toolchains []string `json:"toolchains,omitempty"`
	Command    Command  `json:"command"`
	Cwd        string   `json:"cwd"`
	Workspace  string   `json:"workspace"`
	Home       string   `json:"home"`
	User       User     `json:"user"`
	// Mounts are applied in order; a parent always comes before the paths below it.
	Mounts []Mount `json:"mounts"`
	// Protect lists paths that stay read-only although a writable mount covers them; the sandbox
	// holds a missing one with a read-only placeholder for the run.
	Protect []string `json:"protect,omitempty"`
	// Mask lists paths that are hidden (empty) although a mount covers them. An entry may hold a
	// '*' glob in its last element.
	Mask []string `json:"mask,omitempty"`
	// Env is the command's whole environment, KEY=VALUE, sorted.
	Env []string `json:"env"`
	// EnvDropped names the caller's variables that were withheld (never their values).
	EnvDropped []string `json:"env_dropped,omitempty"`
	Network    Network  `json:"network"`
	Limits     Limits   `json:"limits"`
	// Confine is what the sandbox's stage applies to the command itself, just before exec, on
	// top of the mounts.
	Confine Confine `json:"confine"`
	// Namespaces the sandbox creates: mount, pid, ipc, uts, net, and user when not root.
	Namespaces []string `json:"namespaces"`
	// Skill is the skill the command was attributed to; nil for an agent command.
	Skill *Skill `json:"skill,omitempty"`
	// Unsafe lists the floor lines the developer's policy lifted for this run; skillrun says so
	// on stderr every time.
	Unsafe []string `json:"unsafe,omitempty"`
	// Why explains every grant and denial, in order.
	Why []Decision `json:"why,omitempty"`
}

// Skill describes the skill a plan runs.
type Skill struct {
	Name string `json:"name"`
	// Dir is the skill folder as the command names it; Source its real folder on the host.
	Dir    string `json:"dir"`
	Source string `json:"source"`
	// State is approved, unapproved or no-manifest.
	State string `json:"state"`
	// Digest is the approved content digest (empty when unapproved).
	Digest string `json:"digest,omitempty"`
}

// Command is what runs: an argv, or a shell string run by bash -c (sh when there is no bash).
type Command struct {
	Argv []string `json:"argv,omitempty"`
	// Shell, when set, is run as `bash -c Shell Argv...` (Argv become $0, $1, …).
	Shell *string `json:"shell,omitempty"`
}

// User is the identity the command runs as: the caller's own.
type User struct {
	Name string `json:"name"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
}

// Mount is one path of the sandbox's file system view.
type Mount struct {
	Path   string `json:"path"`
	Access Access `json:"access"`
	// Exec says programs under Path may be executed.
	Exec bool `json:"exec,omitempty"`
	// Optional mounts are skipped when the host path does not exist (system directories vary).
	Optional bool `json:"optional,omitempty"`
	// Create says a missing folder at Path is made before the run, as the caller, one element at
	// a time and never through a symlink: a writable grant inside the workspace names the skill's
	// output folder (`write: ["${WORKSPACE}/dist"]`), which it could not make itself below a
	// read-only workspace. Only writable mounts strictly inside the workspace, outside every
	// protected and masked path, are marked.
	Create bool `json:"create,omitempty"`
	// Grant says a manifest, a policy or an approval asked for the mount, not a built-in profile:
	// when it is missing and not created, plan and run say so (profiles name many optional paths).
	Grant bool `json:"grant,omitempty"`
	// Origin names the profile or rule that asked for the mount.
	Origin string `json:"origin"`
	// Source is the host path shown at Path when it differs (a skill folder reached through a
	// symlink is shown where the command names it, from its real folder).
	Source string `json:"source,omitempty"`
	// Digest, when set, is the content digest (package policy/trust) the folder must have: the
	// sandbox shows a private read-only copy of exactly the bytes it hashed, and refuses to start
	// when they do not match, so what was verified is what runs.
	Digest string `json:"digest,omitempty"`
}

// Confine is the kernel confinement of the command: a Landlock ruleset and a seccomp filter.
type Confine struct {
	Landlock Landlock `json:"landlock"`
	// Seccomp names the filter: SeccompInet in every plan (TCP and UDP sockets, which reach only
	// the sandbox's own loopback); SeccompDefault, without inet sockets, in degraded mode.
	Seccomp string `json:"seccomp"`
}

// The seccomp filters a plan can name (package sandbox/seccomp builds them).
const (
	SeccompDefault = "default"
	SeccompInet    = "default+inet"
)

// Landlock is the command's Landlock ruleset: it may touch only the paths listed, each with its
// rights; everything else is denied by the kernel even where a mount would show it.
type Landlock struct {
	// MinABI is the lowest kernel Landlock ABI that enforces what the plan needs; a kernel with
	// less is refused. Rights of later ABIs (truncate, device ioctl, scopes) are enforced when
	// the kernel has them; without them the namespaces and read-only mounts cover the same
	// ground. KernelABI, when set, is what this machine enforces (filled in by the CLI).
	MinABI    int `json:"min_abi"`
	KernelABI int `json:"kernel_abi,omitempty"`
	// Paths are the rules, in the sandbox's own paths; a missing optional path is skipped.
	Paths []LandlockPath `json:"paths"`
	// DenyTCP refuses every TCP bind and connect when the kernel has Landlock's TCP rules (ABI
	// 4): degraded mode sets it beneath its filter, which refuses inet sockets, because there the
	// network is the host's. A plan never sets it: in the sandbox's own network namespace TCP
	// reaches only the command's own loopback and the egress proxy.
	DenyTCP bool `json:"deny_tcp,omitempty"`
}

// LandlockPath grants rights beneath one path.
type LandlockPath struct {
	Path string `json:"path"`
	// Rights is a subset of read (files and listings), list (listings only), write (create,
	// change, remove, rename), exec and ioctl (of devices).
	Rights []string `json:"rights"`
	// Optional rules are skipped when the path does not exist in the sandbox.
	Optional bool `json:"optional,omitempty"`
}

// Landlock rights a LandlockPath can hold.
const (
	RightRead  = "read"
	RightList  = "list"
	RightWrite = "write"
	RightExec  = "exec"
	RightIoctl = "ioctl"
)

// Network is the sandbox's network: Allow empty means loopback only, nothing outside. Deny lists
// patterns the egress proxy refuses although a broader Allow entry matches them.
type Network struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny,omitempty"`
	// Proxy is where the command reaches the egress proxy, inside the sandbox's own network
	// namespace (ProxyAddr); empty when Allow is, and then there is no proxy at all.
	Proxy string `json:"proxy,omitempty"`
}

// ProxyPort is the egress proxy's port on the loopback of the sandbox's own network namespace:
// every sandbox has its own, so one fixed port never collides, and a plan can name it.
const ProxyPort = 3128

// ProxyAddr is the egress proxy's address inside the sandbox.
var ProxyAddr = "127.0.0.1:" + strconv.Itoa(ProxyPort)

// Decision explains one line of a plan: which document line granted, denied or narrowed a path,
// host, variable or limit. It is how a developer debugs a denial.
type Decision struct {
	Kind     string `json:"kind"` // path, host, env, secret, limit, floor
	Subject  string `json:"subject"`
	Decision string `json:"decision"` // granted, denied, read-only, masked, protected, passed, set, ...
	// Class says what kind of protection a protected path is (git, path, home, agent, floor,
	// policy): what host tool would run or obey it.
	Class  string `json:"class,omitempty"`
	Origin string `json:"origin,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Limits bound the run. Zero means no limit of that kind.
type Limits struct {
	Timeout   Duration `json:"timeout,omitempty"`
	Memory    Size     `json:"memory,omitempty"`
	Processes int      `json:"processes,omitempty"`
	CPU       Duration `json:"cpu,omitempty"`
	FileSize  Size     `json:"file_size,omitempty"`
	OpenFiles int      `json:"open_files,omitempty"`
}

// Duration is a time.Duration that reads and prints as "90s", "2m".
type Duration time.Duration

// MarshalText prints the duration in Go syntax ("1m30s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration syntax ("90s", "2m").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return &badValue{value: string(b), err: err}
	}
	if v < 0 {
		return &badValue{value: string(b), err: errNegativeDuration}
	}
	*d = Duration(v)
	return nil
}

// Digest is the SHA-256 of the plan's canonical JSON: two runs with the same digest were given
// exactly the same capabilities.
func (p *Plan) Digest() string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
