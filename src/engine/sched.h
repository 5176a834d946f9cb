/* Delayed jobs of the engine: restart back-off, health checks, auto-removal. One thread
 * runs due jobs in order; a job that may block long (an exec with a timeout) starts its
 * own thread. Lock: sched->lock guards the queue. */
#ifndef ARCA_ENGINE_SCHED_H
#define ARCA_ENGINE_SCHED_H

#include <stdint.h>

typedef struct sched sched;
typedef void (*sched_fn)(void *arg);

sched *sched_new(void);
/* Stops the thread; pending jobs are dropped after free_arg is called on each. */
void sched_free(sched *s);
/* Runs fn(arg) after delay_ns (0: as soon as possible). free_arg (may be NULL) is called if
 * the job is dropped at shutdown instead of run. */
void sched_after(sched *s, int64_t delay_ns, sched_fn fn, void *arg, void (*free_arg)(void *));
/* Runs fn(arg) on a new detached thread now. */
void sched_spawn(sched_fn fn, void *arg);
/* Waits until every spawned job has returned (shutdown); returns how many are left. */
int sched_wait_spawned(int timeout_ms);

#endif
