#include <stdio.h>
#include <string.h>
#include "cmath.h"

int main(void) {
	char buf[4096];
	double v[512];
	size_t len = fread(buf, 1, sizeof buf - 1, stdin);
	buf[len] = 0;
	int n = parse_numbers(buf, v, 512);
	if (n < 0) {
		fprintf(stderr, "cstat: not a number in the input\n");
		return 2;
	}
	printf("n=%d mean=%.3f sd=%.3f\n", n, mean(v, (size_t)n), stddev(v, (size_t)n));
	return 0;
}
