/* Work that changes a thread's own namespaces or working directory (unshare of the network
 * namespace, chdir for an overlay mount with short option paths) runs on a thread of its
 * own that ends right after: cheaper than forking the daemon, and the other threads never
 * see the change. */
#include <errno.h>
#include <pthread.h>

#include "runtime/linux/lx_driver.h"

typedef struct {
  int (*fn)(void *);
  void *arg;
  int rc;
} isolated_call;

static void *isolated_main(void *p) {
  isolated_call *c = p;
  c->rc = c->fn(c->arg);
  return NULL;
}

int lx_isolated(int (*fn)(void *), void *arg) {
  isolated_call c = {.fn = fn, .arg = arg, .rc = -EINTR};
  pthread_t t;
  int rc = pthread_create(&t, NULL, isolated_main, &c);
  if (rc != 0) return -rc;
  pthread_join(t, NULL);
  return c.rc;
}
