#include <ctype.h>
#include <stdlib.h>
#include "cmath.h"

int parse_numbers(const char *s, double *v, size_t max) {
	size_t n = 0;
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		char *end;
		double d = strtod(s, &end);
		if (end == s || (*end && !isspace((unsigned char)*end)) || n == max)
			return -1;
		v[n++] = d;
		s = end;
	}
	return (int)n;
}
