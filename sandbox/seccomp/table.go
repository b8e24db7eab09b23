// Package seccomp builds skillrun's seccomp filter from one table, [Table], modelled on Docker's
// default profile: every syscall the table does not name fails with ENOSYS (so libc, Go and libuv
// fall back), the explicit denials fail with EPERM, and a syscall from any architecture other than
// the native one kills the process (i386 int 0x80 and x32 would bypass every argument check).
//
// libseccomp compiles the table into classic BPF at build time, one program per valid [Options]
// (programs.go; go generate ./sandbox/seccomp writes programs_GOARCH.go): a run picks its
// program with [Program]; the in-sandbox stage (package stage, in C) loads it, and degraded mode's
// exec step installs it with [LoadProgram].
package seccomp

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Action is what a matching rule does.
type Action int

const (
	Allow Action = iota
	// EPERM, ENOSYS, EAFNOSUPPORT, EPROTONOSUPPORT fail the syscall with that errno.
	EPERM
	ENOSYS
	EAFNOSUPPORT
	EPROTONOSUPPORT
)

func (a Action) String() string {
	return [...]string{"allow", "EPERM", "ENOSYS", "EAFNOSUPPORT", "EPROTONOSUPPORT"}[a]
}

// Op compares one syscall argument.
type Op int

const (
	// Eq: arg == Value. Ne: arg != Value. Gt: arg > Value.
	Eq Op = iota
	Ne
	Gt
	// MaskedEq: arg & Mask == Value.
	MaskedEq
)

// Cond is one condition on an argument; a rule's conditions must all hold.
type Cond struct {
	Arg   uint
	Op    Op
	Value uint64
	Mask  uint64
}

// Net says whether a rule depends on inet sockets being allowed (Options.Network): always in a
// sandbox with its own network namespace, never in degraded mode.
type Net int

const (
	Always Net = iota
	// WithNetwork rules apply only when inet sockets are allowed; WithoutNetwork only when not.
	WithNetwork
	WithoutNetwork
)

// NS says whether a rule depends on the command sharing the host's namespaces.
type NS int

const (
	AnyNS NS = iota
	// OwnNS rules apply only in a sandbox with its own mount, IPC, PID and network namespaces;
	// HostNS rules only in degraded mode, where the command shares the host's (Options.HostNamespaces).
	OwnNS
	HostNS
)

// Rule is one line of the table.
type Rule struct {
	Syscalls []string
	Action   Action
	Conds    []Cond
	Net      Net
	NS       NS
	Why      string
}

// Socket address families, types and protocols the socket rules name.
const (
	afUnix    = unix.AF_UNIX
	afInet    = unix.AF_INET
	afInet6   = unix.AF_INET6
	afNetlink = unix.AF_NETLINK
	ipMPTCP   = 262
	sockType  = 0xf // the bits of socket()'s type that hold the type, without SOCK_NONBLOCK/CLOEXEC
	low32     = 0xffffffff
	// cloneNamespaces is every CLONE_NEW* flag clone() accepts: NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
	// NEWUSER, NEWPID, NEWNET (Docker's mask).
	cloneNamespaces = 0x7E020000
)

// allowed is Docker's default allowlist for x86_64 (every syscall of the kernel's table minus
// its blocked names), minus what skillrun denies or filters by argument below (System V IPC, POSIX
// message queues and prlimit64 depend on the namespaces: see hostRules).
var allowed = []string{
	"accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "cachestat", "capget",
	"capset", "chdir", "chmod", "chown", "clock_getres", "clock_gettime", "clock_nanosleep", "close",
	"close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
	"fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock",
	"fork", "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex",
	"futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list",
	"get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid",
	"getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
	"getrandom", "getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "getsockname",
	"getsockopt", "gettid", "gettimeofday", "getuid", "getxattr", "getxattrat", "inotify_add_watch",
	"inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
	"io_pgetevents", "io_setup", "io_submit", "ioprio_get", "ioprio_set", "kill", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat",
	"listen", "listmount", "listxattr", "listxattrat", "llistxattr", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore",
	"mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "modify_ldt",
	"mprotect", "mremap", "mseal", "msync", "munlock",
	"munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
	"pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
	"poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "process_mrelease",
	"pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
	"readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "removexattrat",
	"rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
	"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select",
	"sendfile", "sendmmsg", "sendmsg", "sendto", "set_robust_list", "set_thread_area",
	"set_tid_address", "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid",
	"setpriority", "setregid", "setresgid", "setresuid", "setreuid", "setrlimit", "setsid",
	"setsockopt", "setuid", "setxattr", "setxattrat",
	"shutdown", "sigaltstack", "signalfd", "signalfd4", "splice", "stat", "statfs", "statmount",
	"statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill",
	"time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
	"timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask",
	"uname", "unlink", "unlinkat", "uprobe", "uretprobe", "utime", "utimensat", "utimes", "vfork",
	"vmsplice", "wait4", "waitid", "write", "writev",
}

// Table is the whole filter, in order. Rules with conditions on the same syscall never overlap.
// It is built on first use: package init runs in every start of the binary.
var Table = sync.OnceValue(func() []Rule { return table() })

func table() []Rule {
	return append([]Rule{
		{Syscalls: allowed, Action: Allow, Why: "Docker's default allowlist"},
		{Syscalls: []string{"clone3"}, Action: ENOSYS,
			Why: "its flags live in memory BPF cannot read: ENOSYS makes libc fall back to clone"},
		{Syscalls: []string{"io_uring_setup", "io_uring_enter", "io_uring_register"}, Action: ENOSYS,
			Why: "io_uring bypasses seccomp; ENOSYS makes libuv and others fall back"},
		{Syscalls: []string{"clone"}, Action: Allow,
			Conds: []Cond{{Arg: 0, Op: MaskedEq, Mask: cloneNamespaces, Value: 0}},
			Why:   "threads and fork, without new namespaces"},
		{Syscalls: []string{"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
			"fspick", "move_mount", "open_tree", "open_tree_attr", "mount_setattr"}, Action: EPERM,
			Why: "no mounts"},
		{Syscalls: []string{"unshare", "setns"}, Action: EPERM, Why: "no new or foreign namespaces"},
		{Syscalls: []string{"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
			"process_madvise"}, Action: EPERM, Why: "no reading or changing other processes"},
		{Syscalls: []string{"bpf", "perf_event_open", "userfaultfd", "lookup_dcookie"}, Action: EPERM,
			Why: "kernel attack surface"},
		{Syscalls: []string{"keyctl", "add_key", "request_key"}, Action: EPERM,
			Why: "the kernel keyring is not namespaced"},
		{Syscalls: []string{"init_module", "finit_module", "delete_module", "kexec_load",
			"kexec_file_load", "reboot", "swapon", "swapoff", "iopl", "ioperm", "acct", "syslog",
			"vhangup", "quotactl", "quotactl_fd", "sethostname", "setdomainname"}, Action: EPERM,
			Why: "administration of the machine"},
		{Syscalls: []string{"settimeofday", "clock_settime", "adjtimex", "clock_adjtime"}, Action: EPERM,
			Why: "the clock is the machine's"},
		{Syscalls: []string{"open_by_handle_at", "name_to_handle_at", "fanotify_init"}, Action: EPERM,
			Why: "file handles bypass paths (open_by_handle_at is the shocker escape)"},
		{Syscalls: []string{"mbind", "set_mempolicy", "set_mempolicy_home_node", "get_mempolicy",
			"migrate_pages", "move_pages"}, Action: EPERM, Why: "NUMA policy, as Docker"},
		{Syscalls: []string{"memfd_secret", "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules"},
			Action: EPERM, Why: "not needed by developer tools"},
		{Syscalls: []string{"ioctl"}, Action: EPERM,
			Conds: []Cond{{Arg: 1, Op: MaskedEq, Mask: low32, Value: unix.TIOCSTI}},
			Why:   "TIOCSTI pushes keystrokes into a terminal (compared on 32 bits: CVE-2019-10063)"},
		{Syscalls: []string{"ioctl"}, Action: EPERM,
			Conds: []Cond{{Arg: 1, Op: MaskedEq, Mask: low32, Value: unix.TIOCLINUX}},
			Why:   "TIOCLINUX can paste into a virtual console"},
		{Syscalls: []string{"socketpair"}, Action: Allow, NS: OwnNS,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afUnix}}, Why: "AF_UNIX pairs (make's jobserver, IPC)"},
		{Syscalls: []string{"socketpair"}, Action: EAFNOSUPPORT,
			Conds: []Cond{{Arg: 0, Op: Ne, Value: afUnix}}, Why: "no other family"},
		{Syscalls: []string{"socket"}, Action: Allow, NS: OwnNS,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afUnix}}, Why: "AF_UNIX"},
		{Syscalls: []string{"socket"}, Action: Allow,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afNetlink}, {Arg: 2, Op: Eq, Value: unix.NETLINK_ROUTE}},
			Why:   "NETLINK_ROUTE for getifaddrs and getaddrinfo's AI_ADDRCONFIG"},
		{Syscalls: []string{"socket"}, Action: EPERM,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afNetlink}, {Arg: 2, Op: Ne, Value: unix.NETLINK_ROUTE}},
			Why:   "no other netlink protocol (audit, netfilter, uevents, ...)"},
		{Syscalls: []string{"socket"}, Action: EAFNOSUPPORT, Net: WithoutNetwork,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afInet}}, Why: "degraded mode: the network is the host's"},
		{Syscalls: []string{"socket"}, Action: EAFNOSUPPORT, Net: WithoutNetwork,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afInet6}}, Why: "degraded mode: the network is the host's"},
		{Syscalls: []string{"personality"}, Action: Allow, Conds: []Cond{{Arg: 0, Op: Eq, Value: 0}}, Why: "PER_LINUX"},
		{Syscalls: []string{"personality"}, Action: Allow, Conds: []Cond{{Arg: 0, Op: Eq, Value: 0x0008}}, Why: "PER_LINUX_32BIT"},
		{Syscalls: []string{"personality"}, Action: Allow, Conds: []Cond{{Arg: 0, Op: Eq, Value: 0x20000}}, Why: "UNAME26"},
		{Syscalls: []string{"personality"}, Action: Allow, Conds: []Cond{{Arg: 0, Op: Eq, Value: 0x20008}}, Why: "UNAME26|PER_LINUX32"},
		{Syscalls: []string{"personality"}, Action: Allow, Conds: []Cond{{Arg: 0, Op: Eq, Value: 0xffffffff}}, Why: "query"},
	}, concat(
		allowExcept("ioctl", 1, low32, unix.TIOCSTI, unix.TIOCLINUX),
		denyAnyBit("clone", 0, cloneNamespaces, "no new namespaces"),
		inetRules(afInet), inetRules(afInet6), otherFamilies(), hostRules())...)
}

func concat(lists ...[]Rule) []Rule {
	var out []Rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// allowExcept allows syscall unless arg&mask is one of denied. libseccomp compares an argument only
// once per rule and lets an unconditional rule silently win over conditional ones, so the
// complement is spelled out as rules of one masked comparison each: "a bit every denied value
// shares is different", or "those bits are equal and the others form no denied value".
func allowExcept(syscall string, arg uint, mask uint64, denied ...uint64) []Rule {
	var same, differ uint64 = mask, 0
	for _, d := range denied[1:] {
		differ |= (d ^ denied[0]) & mask
	}
	same &^= differ
	var rules []Rule
	add := func(m, v uint64) {
		rules = append(rules, Rule{Syscalls: []string{syscall}, Action: Allow,
			Conds: []Cond{{Arg: arg, Op: MaskedEq, Mask: m, Value: v}}, Why: "every other value"})
	}
	for bit := uint64(1); bit != 0 && bit <= mask; bit <<= 1 {
		if same&bit != 0 {
			add(bit, ^denied[0]&bit)
		}
	}
	// Every combination of the differing bits, with the shared bits equal to the denied ones'.
	var bits []uint64
	for bit := uint64(1); bit != 0 && bit <= mask; bit <<= 1 {
		if differ&bit != 0 {
			bits = append(bits, bit)
		}
	}
	if len(bits) > 6 {
		panic("seccomp: allowExcept: the denied values differ in too many bits")
	}
	for combo := 0; combo < 1<<len(bits); combo++ {
		v := denied[0] & same
		for i, b := range bits {
			if combo&(1<<i) != 0 {
				v |= b
			}
		}
		isDenied := false
		for _, d := range denied {
			if d&mask == v {
				isDenied = true
			}
		}
		if !isDenied {
			add(mask, v)
		}
	}
	return rules
}

// inetRules allows TCP (protocol 0 or 6, never MPTCP) and UDP (0 or 17) sockets of family in a
// sandbox with its own network namespace, and refuses every other type (SOCK_RAW, SOCK_PACKET,
// ...) and protocol.
func inetRules(family uint64) []Rule {
	var rules []Rule
	add := func(a Action, why string, conds ...Cond) {
		rules = append(rules, Rule{Syscalls: []string{"socket"}, Action: a, Net: WithNetwork,
			Conds: append([]Cond{{Arg: 0, Op: Eq, Value: family}}, conds...), Why: why})
	}
	typ := func(t uint64) Cond { return Cond{Arg: 1, Op: MaskedEq, Mask: sockType, Value: t} }
	// Stream protocols above TCP's (IPPROTO_MPTCP, SCTP) fail as on a kernel without them, with
	// EPROTONOSUPPORT and unreported: Go's net package probes MPTCP on every listen and dial, and
	// treats EPROTONOSUPPORT, unlike EPERM, as "not here" once for all.
	for _, p := range []struct {
		typ    uint64
		proto  uint64
		name   string
		others []uint64
		above  Action
	}{
		{unix.SOCK_STREAM, unix.IPPROTO_TCP, "TCP", []uint64{1, 2, 3, 4, 5}, EPROTONOSUPPORT},
		{unix.SOCK_DGRAM, unix.IPPROTO_UDP, "UDP", []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, EPERM},
	} {
		add(Allow, p.name, typ(p.typ), Cond{Arg: 2, Op: Eq, Value: 0})
		add(Allow, p.name, typ(p.typ), Cond{Arg: 2, Op: Eq, Value: p.proto})
		for _, o := range p.others {
			add(EPERM, "no other protocol", typ(p.typ), Cond{Arg: 2, Op: Eq, Value: o})
		}
		add(p.above, "no other protocol (IPPROTO_MPTCP escapes Landlock's TCP rules and the plan's protocols)", typ(p.typ), Cond{Arg: 2, Op: Gt, Value: p.proto})
	}
	for t := uint64(0); t <= sockType; t++ {
		if t != unix.SOCK_STREAM && t != unix.SOCK_DGRAM {
			add(EPERM, "no raw, packet or other socket types", typ(t))
		}
	}
	return rules
}

// otherFamilies refuses every address family the rules above do not name (AF_PACKET, AF_VSOCK,
// AF_ALG, AF_KEY, AF_BLUETOOTH, AF_XDP, ...).
func otherFamilies() []Rule {
	named := map[uint64]bool{afUnix: true, afInet: true, afInet6: true, afNetlink: true}
	const last = 63
	var rules []Rule
	for f := uint64(0); f <= last; f++ {
		if !named[f] {
			rules = append(rules, Rule{Syscalls: []string{"socket"}, Action: EAFNOSUPPORT,
				Conds: []Cond{{Arg: 0, Op: Eq, Value: f}}, Why: "address family not allowed"})
		}
	}
	return append(rules, Rule{Syscalls: []string{"socket"}, Action: EAFNOSUPPORT,
		Conds: []Cond{{Arg: 0, Op: Gt, Value: last}}, Why: "address family not allowed"})
}

// hostRules are the rules that differ when the command shares the host's namespaces (degraded
// mode, no user namespace to build a sandbox in). No mount namespace hides the host's pathname
// sockets (ssh-agent, D-Bus, docker.sock, the X server) and Landlock before ABI 9 cannot stop
// connect() to one, so socket(AF_UNIX) is refused, and of socketpair only connected stream and
// seqpacket pairs remain (a datagram socket can sendto() any pathname socket). No IPC namespace
// hides the user's other System V segments (X11 MIT-SHM holds window images) and message queues.
// No PID namespace hides the user's other processes: Landlock's scopes stop signals and ptrace,
// and prlimit64 is kept to the command's own process (another process's core-dump limit would
// otherwise be the command's to raise).
func hostRules() []Rule {
	sysv := []string{"shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
		"semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend",
		"mq_timedreceive", "mq_notify", "mq_getsetattr"}
	rules := []Rule{
		{Syscalls: sysv, Action: Allow, NS: OwnNS, Why: "System V IPC and POSIX message queues of the sandbox's own IPC namespace"},
		{Syscalls: sysv, Action: EPERM, NS: HostNS, Why: "the host's IPC namespace holds the user's other segments and queues"},
		{Syscalls: []string{"prlimit64"}, Action: Allow, NS: OwnNS, Why: "limits of processes in the sandbox's own PID namespace"},
		{Syscalls: []string{"prlimit64"}, Action: Allow, NS: HostNS,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: 0}}, Why: "the calling process's own limits"},
		{Syscalls: []string{"prlimit64"}, Action: EPERM, NS: HostNS,
			Conds: []Cond{{Arg: 0, Op: Ne, Value: 0}}, Why: "not the limits of the user's other processes"},
		{Syscalls: []string{"socket"}, Action: EPERM, NS: HostNS,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afUnix}}, Why: "the host's pathname sockets would be reachable"},
	}
	for t := uint64(0); t <= sockType; t++ {
		a, why := EPERM, "a datagram or other pair could sendto() the host's pathname sockets"
		if t == unix.SOCK_STREAM || t == unix.SOCK_SEQPACKET {
			a, why = Allow, "connected AF_UNIX pairs (make's jobserver, IPC)"
		}
		rules = append(rules, Rule{Syscalls: []string{"socketpair"}, Action: a, NS: HostNS,
			Conds: []Cond{{Arg: 0, Op: Eq, Value: afUnix}, {Arg: 1, Op: MaskedEq, Mask: sockType, Value: t}}, Why: why})
	}
	return rules
}

// denyAnyBit fails syscall with EPERM when arg has any of bits set (one rule per bit).
func denyAnyBit(syscall string, arg uint, bits uint64, why string) []Rule {
	var rules []Rule
	for bit := uint64(1); bit != 0 && bit <= bits; bit <<= 1 {
		if bits&bit != 0 {
			rules = append(rules, Rule{Syscalls: []string{syscall}, Action: EPERM,
				Conds: []Cond{{Arg: arg, Op: MaskedEq, Mask: bit, Value: bit}}, Why: why})
		}
	}
	return rules
}
