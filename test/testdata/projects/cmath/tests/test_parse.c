#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cmath.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); return 1; } } while (0)

int main(void) {
	double v[4];
	CHECK(parse_numbers(" 1 2.5\n-3 ", v, 4) == 3 && v[1] == 2.5 && v[2] == -3);
	CHECK(parse_numbers("1 x", v, 4) == -1);
	CHECK(parse_numbers("1 2 3 4 5", v, 4) == -1);
	/* Round trip through a temporary file, as the CLI reads files. */
	char path[] = "/tmp/cmath-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w+");
	fputs("10 20 30", f);
	rewind(f);
	char buf[64] = {0};
	CHECK(fread(buf, 1, sizeof buf - 1, f) == 8);
	fclose(f);
	unlink(path);
	CHECK(parse_numbers(buf, v, 4) == 3 && v[2] == 30);
	printf("test_parse: ok\n");
	return 0;
}
