#include <math.h>
#include "cmath.h"

double mean(const double *v, size_t n) {
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

double stddev(const double *v, size_t n) {
	if (n < 2)
		return 0;
	double m = mean(v, n), s = 0;
	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (double)(n - 1));
}
