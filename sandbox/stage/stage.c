/*
 * The in-sandbox stage, in C, run by a constructor before the Go runtime starts (as runc's
 * nsenter does for its init): libcontainer's init executes this binary as PID 1 of the sandbox
 * with argv[1] == "__stage", and everything from there to the command's execve happens here, so
 * the sandbox pays for no Go start of its own. Every other invocation of the binary returns from
 * the constructor after one string compare.
 *
 * PID 1 (the stage): marks inherited descriptors close-on-exec, hides itself (non-dumpable),
 * watches the host through the lifeline (fd 3) and a parent-death signal, checks the pins, hands
 * the egress proxy's listener to the host, starts the command, forwards signals to its process
 * group, reaps orphans and exits with the command's status. If skillrun dies, it kills every
 * process in the sandbox and has the Go binary sweep the missing protected paths (__sweep).
 *
 * The command's process (the child): a new session, a parent-death SIGKILL, rootless a nested
 * user namespace that maps the caller back (written by the stage, which alone holds CAP_SETFCAP),
 * then the Landlock ruleset, then the seccomp program (its listener goes to the host's
 * supervisor, never kept inside), RLIMIT_DATA last, and execve. Nothing runs between the
 * confinement and the command.
 *
 * The stage is single-threaded: signals arrive through a signalfd, so there are no handlers and
 * no races between them. Every failure is fatal and says why, with the CLI's exit codes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spec.h"

#define STAGE_ARG "__stage"
#define SWEEP_ARG "__sweep" /* sandbox.SweepArg */
#define LIFELINE_FD 3
#define SELF "/proc/self/exe"

enum { EXIT_SETUP = 125, EXIT_NOT_RUNNABLE = 126, EXIT_NOT_FOUND = 127 };

#if defined(SKILLRUN_STAGE_SABOTAGE_NORULESET) || defined(SKILLRUN_STAGE_SABOTAGE_NOFILTER)
/* Only the sabotage builds (test/sabotage_test.go) carry this; the test checks a release binary
 * does not. */
__attribute__((used)) static const char sabotage_marker[] = "skillrun-stage-sabotage";
#endif

/* The signals passed on to the command's process group (the host forwards the caller's). */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
				SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};

/* The stage's parent-death signal: a second line beside the lifeline, acted on only when the
 * lifeline is broken too, so a command that sends it to PID 1 changes nothing. */
#define DEATH_SIGNAL SIGPWR

static sigset_t original_mask; /* the command gets the mask the stage started with */

/* errstr words an errno as Go does (the messages must not change with the stage's language). */
static const char *errstr(int e)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* say writes one "skillrun: KIND: ..." line with a single write, so lines from the stage and the
 * command do not interleave mid-line. */
static void say(const char *kind, const char *fmt, va_list ap)
{
	char line[4096];
	int n = snprintf(line, sizeof line, "skillrun: %s: ", kind);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = write(2, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* stderr is gone: the exit code still tells */
		off += (size_t)w;
	}
}

__attribute__((format(printf, 2, 3))) static void tell(const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(kind, fmt, ap);
	va_end(ap);
}

__attribute__((noreturn, format(printf, 2, 3))) static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("error", fmt, ap);
	va_end(ap);
	_exit(code);
}

/* ---- Finding the command, as Go's exec.LookPath does (the stage's messages depend on it). */

/* find_executable returns 0 or the errno; *statfail says stat itself failed. */
static int find_executable(const char *file, int *statfail)
{
	struct stat st;
	*statfail = 0;
	if (stat(file, &st) < 0) {
		*statfail = 1;
		return errno;
	}
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (faccessat(AT_FDCWD, file, X_OK, AT_EACCESS) == 0)
		return 0;
	/* ENOSYS: no faccessat2; EPERM: a filter refused it. Then the mode bits decide. */
	if (errno != ENOSYS && errno != EPERM)
		return errno;
	return (st.st_mode & 0111) ? 0 : EACCES;
}

/* clean_dir is Go's filepath.Clean for a PATH entry, into out (at least strlen(dir)+2 bytes). */
static void clean_dir(const char *dir, char *out)
{
	size_t n = strlen(dir), r = 0, w = 0, dotdot = 0;
	int rooted = dir[0] == '/';
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (dir[r] == '/') {
			r++;
		} else if (dir[r] == '.' && (r + 1 == n || dir[r + 1] == '/')) {
			r++;
		} else if (dir[r] == '.' && dir[r + 1] == '.' && (r + 2 == n || dir[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) { /* back up over the previous element */
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) { /* a leading .. of a relative path stays */
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && dir[r] != '/')
				out[w++] = dir[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
}

enum { FOUND, NOT_FOUND, FAILED };

/* look_path finds name as exec.LookPath does: a name with a slash as it is, otherwise the first
 * executable in $PATH, whose empty entries mean the working directory and whose relative
 * entries are taken as they are (the caller chose them). On FAILED, *err and *statfail say why. */
static int look_path(const char *name, char **path, int *err, int *statfail)
{
	if (!name[0] || !strcmp(name, ".") || !strcmp(name, ".."))
		return NOT_FOUND;
	if (strchr(name, '/')) {
		*err = find_executable(name, statfail);
		*path = (char *)name;
		return *err ? FAILED : FOUND;
	}
	const char *list = getenv("PATH");
	if (!list || !list[0])
		return NOT_FOUND;
	for (const char *p = list;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char *dir = strndup(dlen ? p : ".", dlen ? dlen : 1);
		char *full = dir ? malloc(dlen + strlen(name) + 4) : NULL;
		if (!full)
			die(EXIT_SETUP, "stage: out of memory");
		clean_dir(dir, full);
		free(dir);
		if (!strcmp(full, "."))
			full[0] = 0;
		else if (strcmp(full, "/"))
			strcat(full, "/");
		strcat(full, name);
		int sf;
		if (find_executable(full, &sf) == 0) {
			*path = full;
			return FOUND;
		}
		free(full);
		if (!*end)
			return NOT_FOUND;
		p = end;
	}
}

/* exec_failed explains why name cannot run, as the CLI's contract words it; wrapped is Go's
 * wording of an error without words of its own. */
__attribute__((noreturn)) static void exec_failed(const char *name, int err, const char *wrapped)
{
	if (err == ENOENT)
		die(EXIT_NOT_FOUND, "command not found in the sandbox: %s", name);
	if (err == EACCES || err == EPERM) {
		tell("error", "cannot execute %s: permission denied", name);
		tell("hint", "programs run only from executable mounts; see them with: skillrun plan -- %s", name);
		_exit(EXIT_NOT_RUNNABLE);
	}
	if (err == ENOEXEC || err == EISDIR)
		die(EXIT_NOT_RUNNABLE, "cannot execute %s: not an executable file", name);
	die(EXIT_NOT_RUNNABLE, "cannot execute %s: %s", name, wrapped ? wrapped : errstr(err));
}

/* The command's words: the stage's arguments after the spec. */
struct words {
	char **argv; /* NULL-terminated, with room for the shell in front */
	int argc;
	const char *shell; /* -c STRING */
};

/* resolve builds the command line (-c STRING runs through bash, else sh; "--" so a string that
 * starts with '-' is the command, not the shell's options) and finds the program. */
static char *resolve(struct words *w)
{
	char *path;
	int err, statfail;
	if (w->shell) {
		int found = look_path("bash", &path, &err, &statfail) == FOUND;
		memmove(w->argv + 4, w->argv, ((size_t)w->argc + 1) * sizeof *w->argv);
		w->argv[0] = found ? "bash" : "sh";
		w->argv[1] = "-c";
		w->argv[2] = "--";
		w->argv[3] = (char *)w->shell;
		w->argc += 4;
	}
	if (w->argc == 0)
		die(EXIT_SETUP, "stage: empty command");
	const char *name = w->argv[0];
	switch (look_path(name, &path, &err, &statfail)) {
	case FOUND:
		return path;
	case NOT_FOUND:
		die(EXIT_NOT_FOUND, "command not found in the sandbox: %s", name);
	default: {
		/* Go's wording of an error it has no words for: exec: "NAME": stat NAME: ERR */
		char wrapped[1024];
		snprintf(wrapped, sizeof wrapped, "exec: \"%s\": %s%s%s", name, statfail ? "stat " : "",
			 statfail ? name : "", statfail ? ": " : "");
		size_t n = strlen(wrapped);
		snprintf(wrapped + n, sizeof wrapped - n, "%s", errstr(err));
		exec_failed(name, err, wrapped);
	}
	}
}

/* ---- Confining the command's process. */

/* The kernel's landlock_ruleset_attr as of ABI 6; older kernels accept it while the fields they
 * do not know are zero, and the host sets them only for kernels that know them. */
struct ruleset_attr {
	uint64_t handled_access_fs, handled_access_net, scoped;
};

__attribute__((noreturn, format(printf, 1, 2))) static void landlock_failed(const char *fmt, ...)
{
	char why[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	tell("error", "landlock cannot enforce the plan: %s", why);
	tell("hint", "see what this kernel enforces with: skillrun doctor");
	_exit(EXIT_SETUP);
}

static int add_rule(int ruleset, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr rule = {.allowed_access = access, .parent_fd = fd};
	return (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
}

/* add_stdio lets the command re-open its stdin, stdout or stderr the way it already has it open
 * (a terminal or a redirected file has no path inside the sandbox; `echo x > /dev/stderr` must
 * work). Pipes and sockets need no rule; a descriptor that is not open needs none either. */
static void add_stdio(const struct spec *s, int ruleset, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		return;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return;
	uint64_t access = 0;
	switch (fl & O_ACCMODE) {
	case O_RDONLY:
		access = s->stdio_read;
		break;
	case O_WRONLY:
		access = s->stdio_write;
		break;
	case O_RDWR:
		access = s->stdio_read | s->stdio_write;
		break;
	}
	if (S_ISCHR(st.st_mode))
		access |= s->stdio_device;
	/* A descriptor of an internal file system (an anonymous inode) cannot carry a rule. */
	if (access && add_rule(ruleset, fd, access) < 0 && errno != EBADFD && errno != EBADF)
		landlock_failed("rule for descriptor %d: %s", fd, errstr(errno));
}

/* apply_landlock restricts this process to the plan's paths. The stage's descriptors are all
 * close-on-exec, so none opened before the ruleset reaches the command. The paths are the
 * sandbox's own, in a view the command could not change before now: following symlinks on them
 * (/bin -> usr/bin) is right. */
static void apply_landlock(const struct spec *s)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0 && errno == ENOSYS)
		landlock_failed("the kernel was built without Landlock");
	if (abi < 0 && errno == EOPNOTSUPP)
		landlock_failed("landlock is built in but not enabled (add landlock to the lsm= boot parameter)");
	if (abi < 0)
		landlock_failed("%s", errstr(errno));
	if ((uint64_t)abi < s->min_abi)
		landlock_failed("the plan needs Landlock ABI %llu, this kernel has %ld",
				(unsigned long long)s->min_abi, abi);
	if ((uint64_t)abi < s->abi)
		landlock_failed("the ruleset was compiled for Landlock ABI %llu, this kernel has %ld",
				(unsigned long long)s->abi, abi);
	struct ruleset_attr attr = {s->handled_fs, s->handled_net, s->scoped};
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (ruleset < 0)
		landlock_failed("creating the ruleset: %s", errstr(errno));
	for (size_t i = 0; i < s->nrules; i++) {
		const struct spec_rule *r = &s->rules[i];
		int fd = open(r->path, O_PATH | O_CLOEXEC);
		if (fd < 0 && r->optional && errno == ENOENT)
			continue;
		if (fd < 0)
			landlock_failed("%s: %s", r->path, errstr(errno));
		struct stat st;
		if (fstat(fd, &st) < 0)
			landlock_failed("%s: %s", r->path, errstr(errno));
		uint64_t access = S_ISDIR(st.st_mode) ? r->access : r->access & s->file_only;
		if (access && add_rule(ruleset, fd, access) < 0)
			landlock_failed("rule for %s: %s", r->path, errstr(errno));
		if (close(fd) < 0)
			landlock_failed("%s: %s", r->path, errstr(errno));
	}
	for (int fd = 0; fd <= 2; fd++)
		add_stdio(s, ruleset, fd);
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		landlock_failed("restrict_self: %s", errstr(errno));
	if (close(ruleset) < 0)
		landlock_failed("%s", errstr(errno));
}

/* send_fd passes fd over the unix socket sock (SCM_RIGHTS) with a one-byte message. */
static int send_fd(int sock, int fd)
{
	char one = 1;
	struct iovec iov = {.iov_base = &one, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* load_filter installs the host's seccomp program; with a supervisor, its listener goes to the
 * host at once and is closed here: nothing inside may keep it. The program is copied for the
 * alignment struct sock_filter wants. */
static void load_filter(const struct spec *s)
{
	struct sock_filter *insns = malloc(s->seccomp_len);
	if (!insns)
		die(EXIT_SETUP, "seccomp: out of memory");
	memcpy(insns, s->seccomp, s->seccomp_len);
	struct sock_fprog prog = {.len = (unsigned short)(s->seccomp_len / sizeof *insns), .filter = insns};
	unsigned long flags = s->notify_fd ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
	long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0)
		die(EXIT_SETUP, "seccomp: %s", errstr(errno));
	free(insns);
	if (!s->notify_fd)
		return;
	if (send_fd(s->notify_fd, (int)listener) < 0 || close((int)listener) < 0 || close(s->notify_fd) < 0)
		die(EXIT_SETUP, "exec: handing over the seccomp listener: %s", errstr(errno));
}

/* command runs in the command's own process: it confines itself and becomes the command. */
__attribute__((noreturn)) static void command(const struct spec *s, struct words *w, int release, char **envp)
{
	if (release >= 0) {
		/* Rootless: wait until the stage has written the nested namespace's maps. */
		char b;
		ssize_t n;
		do
			n = read(release, &b, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			_exit(EXIT_SETUP); /* the stage failed, and says why */
	}
	/* Its own session: no controlling terminal to push keystrokes into (TIOCSTI). */
	if (setsid() < 0)
		die(EXIT_SETUP, "stage: starting the command: setsid: %s", errstr(errno));
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die(EXIT_SETUP, "stage: starting the command: %s", errstr(errno));
	char *path = resolve(w);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(EXIT_SETUP, "no_new_privs: %s", errstr(errno));
	/* The ruleset first: the filter would otherwise have to allow Landlock's calls to the
	 * command. */
#ifdef SKILLRUN_STAGE_SABOTAGE_NORULESET /* a test build that proves the escape battery notices */
	(void)apply_landlock;
#else
	apply_landlock(s);
#endif
#ifdef SKILLRUN_STAGE_SABOTAGE_NOFILTER /* a test build that proves the escape battery notices */
	(void)load_filter;
#else
	load_filter(s);
#endif
	/* Last: a small limit must bind the command, not the work before it. */
	if (s->data_limit) {
		struct rlimit rl = {s->data_limit, s->data_limit};
		if (setrlimit(RLIMIT_DATA, &rl) < 0)
			die(EXIT_SETUP, "exec: memory limit: %s", errstr(errno));
	}
	if (sigprocmask(SIG_SETMASK, &original_mask, NULL) < 0)
		die(EXIT_SETUP, "stage: starting the command: %s", errstr(errno));
	execve(path, w->argv, envp);
	exec_failed(w->argv[0], errno, NULL);
}

/* ---- The stage: PID 1 of the sandbox. */

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(data);
	ssize_t n = write(fd, data, len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

/* map_nested maps the caller's own ids onto the stage's uid and gid 0 (themselves the caller's)
 * in the command's new user namespace. Mapping 0 needs CAP_SETFCAP (the kernel's
 * verify_root_map), which the stage holds until then; gid maps need setgroups denied first. */
static int map_nested(pid_t pid, const struct spec *s)
{
	char path[64], line[64];
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	snprintf(line, sizeof line, "%u 0 1\n", s->map_uid);
	if (write_file(path, line) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
	if (write_file(path, "deny") < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	snprintf(line, sizeof line, "%u 0 1\n", s->map_gid);
	return write_file(path, line);
}

/* drop_capabilities empties the stage's permitted, effective and inheritable sets. The stage
 * executes nothing after this but, on skillrun's death, the sweep, under no_new_privs: nothing
 * brings them back. */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	return (int)syscall(SYS_capset, &hdr, data);
}

static pid_t start_command(const struct spec *s, struct words *w, char **envp)
{
	int sync[2] = {-1, -1};
	if ((s->flags & SPEC_NESTED) && pipe2(sync, O_CLOEXEC) < 0)
		die(EXIT_SETUP, "stage: starting the command: %s", errstr(errno));
	/* A raw clone, like fork but able to make the user namespace: the stage is single-threaded
	 * and the child calls nothing that depends on what glibc's fork would reset. */
	unsigned long flags = SIGCHLD | ((s->flags & SPEC_NESTED) ? CLONE_NEWUSER : 0);
	pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0)
		die(EXIT_SETUP, "stage: starting the command: %s", errstr(errno));
	if (pid == 0) {
		if (sync[1] >= 0)
			close(sync[1]);
		command(s, w, sync[0], envp);
	}
	if (s->flags & SPEC_NESTED) {
		close(sync[0]);
		if (map_nested(pid, s) < 0) {
			int e = errno;
			kill(pid, SIGKILL);
			die(EXIT_SETUP, "stage: starting the command: %s", errstr(e));
		}
		if (drop_capabilities() < 0) {
			int e = errno;
			kill(pid, SIGKILL);
			die(EXIT_SETUP, "stage: dropping capabilities: %s", errstr(e));
		}
		if (write(sync[1], "1", 1) != 1) {
			int e = errno;
			kill(pid, SIGKILL);
			die(EXIT_SETUP, "stage: starting the command: %s", errstr(e));
		}
		close(sync[1]);
	}
	if (s->notify_fd && close(s->notify_fd) < 0)
		die(EXIT_SETUP, "stage: %s", errstr(errno));
	return pid;
}

/* check_pins refuses to start the command unless each pinned path is, itself and not through a
 * link, the root of a mount showing the file the host checked: a link swapped in between the
 * check and the mount would have redirected the bind's source or its destination. */
static void check_pins(const struct spec *s)
{
	for (size_t i = 0; i < s->npins; i++) {
		const struct spec_pin *p = &s->pins[i];
		struct statx stx;
		if (statx(AT_FDCWD, p->path, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_INO, &stx) < 0)
			die(EXIT_SETUP, "stage: %s: %s", p->path, errstr(errno));
		int root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			   (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
		if (!root || makedev(stx.stx_dev_major, stx.stx_dev_minor) != p->dev || stx.stx_ino != p->ino)
			die(EXIT_SETUP, "stage: %s changed while the sandbox was built (it is not what was checked: a link swapped in?)",
			    p->path);
	}
}

/* hand_over_listener listens on the proxy's address inside the sandbox's network namespace and
 * passes the socket to the host: a socket keeps the namespace it was made in, so the host-side
 * proxy accepts the sandbox's connections while it dials out through the host's network, and no
 * other route into or out of the sandbox exists. */
__attribute__((noreturn)) static void listener_failed(const struct spec *s, const char *step)
{
	uint32_t ip = s->proxy_ip;
	die(EXIT_SETUP, "stage: the egress proxy's socket: %s %u.%u.%u.%u:%u: %s", step, ip >> 24,
	    (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, s->proxy_port, errstr(errno));
}

static void hand_over_listener(const struct spec *s)
{
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(s->proxy_port),
				   .sin_addr = {htonl(s->proxy_ip)}};
	if (l < 0)
		listener_failed(s, "socket");
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		listener_failed(s, "setsockopt");
	if (bind(l, (struct sockaddr *)&addr, sizeof addr) < 0)
		listener_failed(s, "bind");
	if (listen(l, 4096) < 0) /* the kernel caps it at net.core.somaxconn, as it does Go's */
		listener_failed(s, "listen");
	if (send_fd(s->proxy_fd, l) < 0)
		listener_failed(s, "handing over");
	if (close(l) < 0 || close(s->proxy_fd) < 0)
		listener_failed(s, "close");
}

/* lifeline_broken says the host's end of the lifeline is closed. */
static int lifeline_broken(void)
{
	struct pollfd p = {.fd = LIFELINE_FD, .events = POLLIN};
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* orphaned ends the sandbox after skillrun died: every other process in the namespace is killed
 * and reaped, then what the command made at missing protected paths is swept by the Go binary
 * (nobody else would until the next run). It never returns. */
__attribute__((noreturn)) static void orphaned(const struct spec *s, char **envp)
{
	int gone = 0;
	for (int i = 0; i < 2000; i++) { /* a process in an uninterruptible sleep dies when it wakes */
		if (kill(-1, SIGKILL) < 0 && errno == ESRCH) {
			gone = 1;
			break;
		}
		for (;;) {
			pid_t got = waitpid(-1, NULL, WNOHANG);
			if (got <= 0 && !(got < 0 && errno == EINTR))
				break;
		}
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	if (s->guard_fd) {
		/* With a process left that could still create, the list stays for the next run. */
		char fd[16];
		snprintf(fd, sizeof fd, "%d", s->guard_fd);
		char *argv[] = {SELF, SWEEP_ARG, fd, gone ? "done" : "left", NULL};
		if (fcntl(s->guard_fd, F_SETFD, 0) == 0 && sigprocmask(SIG_SETMASK, &original_mask, NULL) == 0)
			execve(SELF, argv, envp);
		die(EXIT_SETUP, "stage: sweeping the missing protected paths: %s", errstr(errno));
	}
	_exit(EXIT_SETUP);
}

/* supervise forwards signals to the command's process group and reaps every child until the
 * command itself is gone, then exits with its status (128+N when signal N ended it). */
__attribute__((noreturn)) static void supervise(const struct spec *s, int sigfd, pid_t cmd, char **envp)
{
	struct pollfd fds[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = LIFELINE_FD, .events = POLLIN}};
	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			orphaned(s, envp); /* blind now: end the sandbox rather than leave it unwatched */
		}
		if (fds[1].revents) {
			/* The host never writes: any wake-up is its end closing, however it died. */
			char b;
			if (read(LIFELINE_FD, &b, 1) < 0 && errno == EINTR)
				continue;
			orphaned(s, envp);
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		ssize_t n = read(sigfd, &si, sizeof si);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != sizeof si)
			orphaned(s, envp);
		int sig = (int)si.ssi_signo;
		if (sig == DEATH_SIGNAL) {
			if (lifeline_broken())
				orphaned(s, envp);
		} else if (sig != SIGCHLD) {
			if (kill(-cmd, sig) < 0)
				kill(cmd, sig);
		} else {
			for (;;) {
				int ws;
				pid_t got = waitpid(-1, &ws, WNOHANG);
				if (got < 0 && errno == EINTR)
					continue;
				if (got <= 0)
					break;
				if (got != cmd)
					continue; /* an orphan re-parented to PID 1 */
				if (WIFEXITED(ws))
					_exit(WEXITSTATUS(ws));
				if (WIFSIGNALED(ws))
					_exit(128 + WTERMSIG(ws));
			}
		}
	}
}

__attribute__((noreturn)) static void stage(int argc, char **argv, char **envp)
{
	/* Nothing the stage inherited may reach the command: every descriptor above stderr is
	 * close-on-exec before anything else opens one. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die(EXIT_SETUP, "stage: marking descriptors close-on-exec: %s", errstr(errno));
	/* Signals wait in a queue until the loop reads them; as PID 1 a blocked signal is queued
	 * where an unhandled one would be dropped. */
	sigset_t handled;
	sigemptyset(&handled);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&handled, forwarded[i]);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, DEATH_SIGNAL);
	if (sigprocmask(SIG_BLOCK, &handled, &original_mask) < 0)
		die(EXIT_SETUP, "stage: %s", errstr(errno));
	/* Non-dumpable: the command runs as the same user, and /proc/1/fd would otherwise let it
	 * re-open the lifeline for writing and outlive skillrun. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, DEATH_SIGNAL, 0, 0, 0) < 0)
		die(EXIT_SETUP, "stage: %s", errstr(errno));
	int sigfd = signalfd(-1, &handled, SFD_CLOEXEC);
	if (sigfd < 0)
		die(EXIT_SETUP, "stage: signalfd: %s", errstr(errno));
	if (argc < 3)
		die(EXIT_SETUP, "stage: no spec");
	const char *err = NULL;
	size_t len = 0;
	unsigned char *raw = spec_unhex(argv[2], &len, &err);
	struct spec s;
	if (!raw || spec_parse(raw, len, &s, &err) < 0)
		die(EXIT_SETUP, "stage: bad spec: %s", err);
	struct words w = {.argc = argc - 3};
	if (s.flags & SPEC_SHELL) {
		if (w.argc < 1)
			die(EXIT_SETUP, "stage: bad spec: no string for the shell");
		w.shell = argv[3];
		w.argc--;
	}
	/* Room for the shell's "bash -c -- STRING" in front, and the NULL. */
	w.argv = calloc((size_t)w.argc + 5, sizeof *w.argv);
	if (!w.argv)
		die(EXIT_SETUP, "stage: out of memory");
	memcpy(w.argv, argv + argc - w.argc, (size_t)w.argc * sizeof *w.argv);
	if (chdir(s.cwd) < 0)
		die(EXIT_SETUP, "cannot enter the working directory %s in the sandbox: %s", s.cwd, errstr(errno));
	check_pins(&s);
	if (s.proxy_fd)
		hand_over_listener(&s);
	pid_t cmd = start_command(&s, &w, envp);
	supervise(&s, sigfd, cmd, envp);
}

/* Before nsenter's constructor (default priority) and the Go runtime: the stage never returns to
 * either. glibc passes a constructor the process's arguments. */
__attribute__((constructor(101))) static void stage_constructor(int argc, char **argv, char **envp)
{
	if (argc >= 2 && strcmp(argv[1], STAGE_ARG) == 0)
		stage(argc, argv, envp);
}
