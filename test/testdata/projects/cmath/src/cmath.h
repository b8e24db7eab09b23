#ifndef CMATH_H
#define CMATH_H
#include <stddef.h>

double mean(const double *v, size_t n);
double stddev(const double *v, size_t n);
/* parse_numbers reads whitespace-separated numbers from s into v (at most max); it returns how
   many it read, or -1 at the first word that is not a number. */
int parse_numbers(const char *s, double *v, size_t max);

#endif
