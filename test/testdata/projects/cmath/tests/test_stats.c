#include <math.h>
#include <stdio.h>
#include "cmath.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); return 1; } } while (0)

int main(void) {
	double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
	CHECK(fabs(mean(v, 8) - 5) < 1e-9);
	CHECK(fabs(stddev(v, 8) - 2.138089935) < 1e-6);
	CHECK(mean(v, 0) == 0);
	printf("test_stats: ok\n");
	return 0;
}
