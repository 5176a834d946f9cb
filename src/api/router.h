/* The route table and the matching of a request path against it. */
#ifndef ARCA_API_ROUTER_H
#define ARCA_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"

#define API_MAX_PARAMS 4

typedef struct api_params {
  char *names[API_MAX_PARAMS];
  char *values[API_MAX_PARAMS];
  size_t n;
} api_params;

void api_params_free(api_params *p);

/* All routes of every resource, in one table. */
const api_route *api_routes(size_t *n);

/* Finds the route for method and path (without version prefix); fills params. NULL when no
 * route matches path and method (Docker answers both cases 404 "page not found"). */
const api_route *api_route_match(const char *method, const char *path, api_params *params);

/* Splits "/v1.50/containers/json" into version "1.50" and "/containers/json". Returns false
 * when the path has no version prefix (rest = path). version must hold 16 bytes. */
bool api_split_version(const char *path, char *version, size_t vlen, const char **rest);

/* Compares dotted versions numerically as Docker's versions.compare: <0, 0, >0. */
int api_version_compare(const char *a, const char *b);

#endif
