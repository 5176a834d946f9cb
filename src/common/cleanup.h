/* Scope-bound cleanup so that every early return frees what it holds. */
#ifndef ARCA_COMMON_CLEANUP_H
#define ARCA_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void cleanup_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void cleanup_jsonp(json_t **j) { if (*j) json_decref(*j); }

#define autofree __attribute__((cleanup(cleanup_freep)))
#define autoclose __attribute__((cleanup(cleanup_closep)))
#define autofclose __attribute__((cleanup(cleanup_fclosep)))
#define autojson __attribute__((cleanup(cleanup_jsonp)))

/* Hands ownership out of an auto variable: `return steal_ptr(p);` */
#define steal_ptr(p) ({ __typeof__(p) tmp_ = (p); (p) = NULL; tmp_; })
#define steal_fd(fd) ({ int tmp_ = (fd); (fd) = -1; tmp_; })

#endif
