/* Directories of removed containers are renamed into a trash directory on the same file
 * system (atomic: the container is gone at once) and deleted by one background thread, so
 * that `docker rm` and `docker run --rm` do not wait for a tree of files to be unlinked.
 * What a crash leaves in the trash is deleted when the driver starts again. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"

typedef struct trash_item {
  struct trash_item *next;
  char *path;
} trash_item;

struct lx_trash {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  trash_item *head, **tail;
  bool busy, stopping;
  pthread_t thread;
  unsigned long seq;
};

static void *trash_main(void *arg) {
  lx_trash *t = arg;
  pthread_mutex_lock(&t->lock);
  for (;;) {
    while (!t->head && !t->stopping) pthread_cond_wait(&t->cond, &t->lock);
    trash_item *it = t->head;
    if (!it) break; /* stopping, and nothing left */
    t->head = it->next;
    if (!t->head) t->tail = &t->head;
    t->busy = true;
    pthread_mutex_unlock(&t->lock);
    arca_err err;
    if (rm_rf(it->path, &err) < 0) log_kv(LOG_WARN, "trash not deleted", "path", it->path, "error", err.msg, NULL);
    free(it->path);
    free(it);
    pthread_mutex_lock(&t->lock);
    t->busy = false;
    pthread_cond_broadcast(&t->cond);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

static char *trash_dir_of(const char *root) { return xasprintf("%s/trash", root); }

int lx_trash_open(lx_driver *d, arca_err *err) {
  const char *roots[] = {d->data_root, d->exec_root};
  for (size_t i = 0; i < 2; i++) {
    autofree char *dir = trash_dir_of(roots[i]);
    if (rm_rf(dir, err) < 0 || mkdir_p(dir, 0700, err) < 0) return -1;
  }
  lx_trash *t = xcalloc(1, sizeof *t);
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->cond, NULL);
  t->tail = &t->head;
  int rc = pthread_create(&t->thread, NULL, trash_main, t);
  if (rc != 0) {
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
    return err_errno(err, 500, rc, "trash thread");
  }
  d->trash = t;
  return 0;
}

int lx_trash_remove(lx_driver *d, const char *root, const char *path, arca_err *err) {
  lx_trash *t = d->trash;
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : err_errno(err, 500, errno, "stat %s", path);
  if (!t) return rm_rf(path, err);
  pthread_mutex_lock(&t->lock);
  unsigned long n = ++t->seq;
  pthread_mutex_unlock(&t->lock);
  autofree char *dir = trash_dir_of(root);
  const char *base = strrchr(path, '/');
  char *target = xasprintf("%s/%lu-%s", dir, n, base ? base + 1 : path);
  if (rename(path, target) < 0) {
    free(target);
    return rm_rf(path, err); /* another file system: delete in place */
  }
  trash_item *it = xcalloc(1, sizeof *it);
  it->path = target;
  pthread_mutex_lock(&t->lock);
  *t->tail = it;
  t->tail = &it->next;
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->lock);
  return 0;
}

void lx_trash_settle(lx_driver *d) {
  lx_trash *t = d->trash;
  if (!t) return;
  pthread_mutex_lock(&t->lock);
  while (t->head || t->busy) pthread_cond_wait(&t->cond, &t->lock);
  pthread_mutex_unlock(&t->lock);
}

void lx_trash_close(lx_driver *d) {
  lx_trash *t = d->trash;
  if (!t) return;
  pthread_mutex_lock(&t->lock);
  t->stopping = true;
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->thread, NULL);
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cond);
  free(t);
  d->trash = NULL;
}
