// cprobe: the escape battery's attempts that need C (test/escape_test.go). Built static and
// non-PIE with gcc, so that its data lies below 4 GiB where the i386 syscall ABI can address it.
//
//   cprobe int80        i386 socketcall(SYS_SOCKET, {AF_INET, SOCK_STREAM, 0}) through int 0x80:
//                       a filter that checks only the native ABI never sees the socket family
//   cprobe int80-mount  i386 mount(2) (nr 21) with a bad pointer, through int 0x80
//   cprobe x32          socket(AF_INET, SOCK_STREAM, 0) through the x32 ABI (nr | 0x40000000)
//   cprobe forkbomb CAP fork until the kernel refuses (or CAP children); children wait
//   cprobe memhog MIB   allocate and touch MIB MiB, reporting progress
//   cprobe euid         print the effective uid and capabilities (for setuid copies of itself)
//
// Every line is "NAME: RESULT" like the Go probe's.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e) {
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ENOSYS: return "ENOSYS";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

// i386 int 0x80: eax = nr, ebx, ecx, edx = arguments. Only the low 32 bits of each register are
// seen by the 32-bit entry.
static long int80(long nr, long a, long b, long c) {
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static unsigned int socket_args[3] = {2 /* AF_INET */, 1 /* SOCK_STREAM */, 0};

static void report(const char *name, long r) {
	if (r < 0 && r > -4096)
		printf("%s: %s\n", name, errname((int)-r));
	else
		printf("%s: OK (returned %ld)\n", name, r);
	fflush(stdout);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: cprobe int80|int80-mount|x32|forkbomb CAP|memhog MIB|euid\n");
		return 2;
	}
	const char *cmd = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "int80")) {
		printf("int80: trying\n");
		fflush(stdout);
		// 102 = i386 socketcall, 1 = SYS_SOCKET.
		report("int80 socketcall(SYS_SOCKET, AF_INET)", int80(102, 1, (long)(unsigned long)socket_args, 0));
		return 0;
	}
	if (!strcmp(cmd, "int80-mount")) {
		printf("int80-mount: trying\n");
		fflush(stdout);
		report("int80 mount", int80(21, 0, 1, 0));
		return 0;
	}
	if (!strcmp(cmd, "x32")) {
		printf("x32: trying\n");
		fflush(stdout);
		long r = syscall(0x40000000L | 41, 2, 1, 0);
		report("x32 socket(AF_INET)", r < 0 ? -errno : r);
		return 0;
	}
	if (!strcmp(cmd, "forkbomb") && argc > 2) {
		long cap = atol(argv[2]), n = 0;
		int err = 0;
		for (; n < cap; n++) {
			pid_t p = fork();
			if (p < 0) {
				err = errno;
				break;
			}
			if (p == 0) {
				// Die with the parent; otherwise wait to be killed with the sandbox.
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() == 1)
					_exit(0);
				for (;;)
					pause();
			}
		}
		printf("forkbomb: %ld children, then %s\n", n, err ? errname(err) : "cap reached");
		fflush(stdout);
		return 0;
	}
	if (!strcmp(cmd, "memhog") && argc > 2) {
		long mib = atol(argv[2]), got = 0;
		for (; got < mib; got++) {
			char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				printf("memhog: %ld MiB, then %s\n", got, errname(errno));
				return 0;
			}
			memset(p, 1, 1 << 20);
			if (got % 16 == 0)
				printf("memhog: %ld MiB\n", got);
		}
		printf("memhog: ALLOCATED %ld MiB\n", got);
		return 0;
	}
	if (!strcmp(cmd, "euid")) {
		printf("euid: %d\n", (int)geteuid());
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		while (f && fgets(line, sizeof line, f))
			if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapPrm:", 7))
				fputs(line, stdout);
		return 0;
	}
	fprintf(stderr, "cprobe: unknown subcommand %s\n", cmd);
	return 2;
}
