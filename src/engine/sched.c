#include "engine/sched.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"

typedef struct job {
  struct job *next;
  int64_t due;
  sched_fn fn;
  void *arg;
  void (*free_arg)(void *);
} job;

struct sched {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  job *queue; /* sorted by due */
  bool stop;
  pthread_t thread;
};

static void *run(void *p) {
  sched *s = p;
  pthread_mutex_lock(&s->lock);
  while (!s->stop) {
    if (!s->queue) {
      pthread_cond_wait(&s->cond, &s->lock);
      continue;
    }
    int64_t now = monotonic_ns();
    if (s->queue->due > now) {
      /* the condition uses CLOCK_MONOTONIC (see sched_new) */
      struct timespec ts;
      int64_t due = s->queue->due;
      ts.tv_sec = (time_t)(due / 1000000000LL);
      ts.tv_nsec = (long)(due % 1000000000LL);
      pthread_cond_timedwait(&s->cond, &s->lock, &ts);
      continue;
    }
    job *j = s->queue;
    s->queue = j->next;
    pthread_mutex_unlock(&s->lock);
    j->fn(j->arg);
    free(j);
    pthread_mutex_lock(&s->lock);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

sched *sched_new(void) {
  sched *s = xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_create(&s->thread, NULL, run, s);
  return s;
}

void sched_free(sched *s) {
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  s->stop = true;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->thread, NULL);
  while (s->queue) {
    job *j = s->queue;
    s->queue = j->next;
    if (j->free_arg) j->free_arg(j->arg);
    free(j);
  }
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->cond);
  free(s);
}

void sched_after(sched *s, int64_t delay_ns, sched_fn fn, void *arg, void (*free_arg)(void *)) {
  job *j = xcalloc(1, sizeof *j);
  j->due = monotonic_ns() + (delay_ns > 0 ? delay_ns : 0);
  j->fn = fn;
  j->arg = arg;
  j->free_arg = free_arg;
  pthread_mutex_lock(&s->lock);
  if (s->stop) {
    pthread_mutex_unlock(&s->lock);
    if (free_arg) free_arg(arg);
    free(j);
    return;
  }
  job **p = &s->queue;
  while (*p && (*p)->due <= j->due) p = &(*p)->next;
  j->next = *p;
  *p = j;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

struct spawned {
  sched_fn fn;
  void *arg;
};

static pthread_mutex_t spawned_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawned_cond = PTHREAD_COND_INITIALIZER;
static int spawned_live;

static void *spawn_main(void *p) {
  struct spawned sp = *(struct spawned *)p;
  free(p);
  sp.fn(sp.arg);
  pthread_mutex_lock(&spawned_lock);
  spawned_live--;
  pthread_cond_broadcast(&spawned_cond);
  pthread_mutex_unlock(&spawned_lock);
  return NULL;
}

int sched_wait_spawned(int timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&spawned_lock);
  while (spawned_live > 0)
    if (pthread_cond_timedwait(&spawned_cond, &spawned_lock, &ts) != 0) break;
  int left = spawned_live;
  pthread_mutex_unlock(&spawned_lock);
  return left;
}

void sched_spawn(sched_fn fn, void *arg) {
  struct spawned *sp = xmalloc(sizeof *sp);
  sp->fn = fn;
  sp->arg = arg;
  pthread_mutex_lock(&spawned_lock);
  spawned_live++;
  pthread_mutex_unlock(&spawned_lock);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 1 << 20);
  if (pthread_create(&t, &attr, spawn_main, sp) != 0) {
    free(sp);
    fn(arg);
    pthread_mutex_lock(&spawned_lock);
    spawned_live--;
    pthread_mutex_unlock(&spawned_lock);
  }
  pthread_attr_destroy(&attr);
}
