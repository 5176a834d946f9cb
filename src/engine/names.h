/* Container names as Docker makes them when none is given: adjective_surname. */
#ifndef ARCA_ENGINE_NAMES_H
#define ARCA_ENGINE_NAMES_H

#include <stddef.h>

/* retry > 0 appends a digit, as Docker does after a collision. */
void names_generate(char *out, size_t n, int retry);
/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed). */
int names_valid(const char *name);

#endif
