#include "image/blobs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

struct blob_store {
  char *root;  /* <data-root>/blobs */
  char *tmp;   /* <data-root>/blobs/tmp */
};

struct blob_writer {
  blob_store *store;
  char *tmp_path;
  int fd;
  char *expected;
  digest_ctx dig;
  bool dig_live;
  int64_t size;
  bool committed;
};

int blobs_open(const char *data_root, blob_store **out, arca_err *err) {
  blob_store *b = xcalloc(1, sizeof *b);
  b->root = xasprintf("%s/blobs", data_root);
  b->tmp = xasprintf("%s/blobs/tmp", data_root);
  autofree char *sha = xasprintf("%s/blobs/sha256", data_root);
  if (mkdir_p(sha, 0700, err) < 0 || mkdir_p(b->tmp, 0700, err) < 0) {
    blobs_close(b);
    return -1;
  }
  blobs_clean_tmp(b);
  *out = b;
  return 0;
}

void blobs_close(blob_store *b) {
  if (!b) return;
  free(b->root);
  free(b->tmp);
  free(b);
}

void blobs_clean_tmp(blob_store *b) {
  DIR *d = opendir(b->tmp);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
}

char *blobs_path(blob_store *b, const char *digest) {
  const char *colon = strchr(digest, ':');
  if (!colon) return xasprintf("%s/invalid", b->root);
  return xasprintf("%s/%.*s/%s", b->root, (int)(colon - digest), digest, colon + 1);
}

static bool valid(const char *digest) { return digest && digest_is_sha256(digest); }

bool blobs_exists(blob_store *b, const char *digest, int64_t *size) {
  if (!valid(digest)) return false;
  autofree char *p = blobs_path(b, digest);
  struct stat st;
  if (stat(p, &st) < 0) return false;
  if (size) *size = st.st_size;
  return true;
}

int blobs_open_read(blob_store *b, const char *digest, int *fd, arca_err *err) {
  if (!valid(digest)) return err_set(err, 400, "invalid digest %s", digest ? digest : "");
  autofree char *p = blobs_path(b, digest);
  *fd = open(p, O_RDONLY | O_CLOEXEC);
  if (*fd < 0) {
    if (errno == ENOENT) return err_set(err, 404, "blob %s not found", digest);
    return err_errno(err, 500, errno, "open blob %s", digest);
  }
  return 0;
}

int blobs_get(blob_store *b, const char *digest, size_t max, char **data, size_t *n, arca_err *err) {
  if (!valid(digest)) return err_set(err, 400, "invalid digest %s", digest ? digest : "");
  autofree char *p = blobs_path(b, digest);
  arca_err lerr;
  if (read_file(p, max, data, n, &lerr) < 0) {
    if (lerr.status == 404) return err_set(err, 404, "blob %s not found", digest);
    err_copy(err, &lerr);
    return -1;
  }
  return 0;
}

int blobs_delete(blob_store *b, const char *digest, arca_err *err) {
  if (!valid(digest)) return 0;
  autofree char *p = blobs_path(b, digest);
  if (unlink(p) < 0 && errno != ENOENT) return err_errno(err, 500, errno, "remove blob %s", digest);
  return 0;
}

int blobs_writer_new(blob_store *b, const char *expected, blob_writer **out, arca_err *err) {
  if (expected && !valid(expected)) return err_set(err, 400, "invalid digest %s", expected);
  blob_writer *w = xcalloc(1, sizeof *w);
  w->store = b;
  char rnd[17];
  random_hex(rnd, 8);
  w->tmp_path = xasprintf("%s/%s", b->tmp, rnd);
  w->fd = open(w->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (w->fd < 0) {
    int e = errno;
    free(w->tmp_path);
    free(w);
    return err_errno(err, 500, e, "create a temporary blob");
  }
  w->expected = expected ? xstrdup(expected) : NULL;
  digest_init(&w->dig);
  w->dig_live = true;
  *out = w;
  return 0;
}

int blobs_writer_fd(blob_writer *w) { return w->fd; }
int64_t blobs_writer_size(blob_writer *w) { return w->size; }

int blobs_writer_write(blob_writer *w, const void *data, size_t n, arca_err *err) {
  if (write_all(w->fd, data, n) < 0) return err_errno(err, 500, errno, "write blob");
  digest_update(&w->dig, data, n);
  w->size += (int64_t)n;
  return 0;
}

int blobs_writer_reset(blob_writer *w, arca_err *err) {
  if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0) return err_errno(err, 500, errno, "truncate blob");
  digest_free(&w->dig);
  digest_init(&w->dig);
  w->size = 0;
  return 0;
}

int blobs_writer_commit(blob_writer *w, char digest_out[DIGEST_STR_SIZE], arca_err *err) {
  char got[DIGEST_STR_SIZE];
  digest_final(&w->dig, got);
  w->dig_live = false;
  if (w->expected && strcmp(got, w->expected) != 0)
    return err_set(err, 400, "digest mismatch: expected %s, got %s", w->expected, got);
  if (fsync(w->fd) < 0) return err_errno(err, 500, errno, "sync blob");
  autofree char *final = blobs_path(w->store, got);
  if (rename(w->tmp_path, final) < 0) return err_errno(err, 500, errno, "publish blob %s", got);
  fsync_dir_of(final);
  w->committed = true;
  if (digest_out) memcpy(digest_out, got, DIGEST_STR_SIZE);
  return 0;
}

int blobs_writer_commit_trusted(blob_writer *w, const char *digest, arca_err *err) {
  if (!valid(digest)) return err_set(err, 400, "invalid digest %s", digest);
  if (w->dig_live) {
    digest_free(&w->dig);
    w->dig_live = false;
  }
  if (fsync(w->fd) < 0) return err_errno(err, 500, errno, "sync blob");
  autofree char *final = blobs_path(w->store, digest);
  if (rename(w->tmp_path, final) < 0) return err_errno(err, 500, errno, "publish blob %s", digest);
  fsync_dir_of(final);
  w->committed = true;
  return 0;
}

void blobs_writer_free(blob_writer *w) {
  if (!w) return;
  if (w->dig_live) digest_free(&w->dig);
  if (w->fd >= 0) close(w->fd);
  if (!w->committed) unlink(w->tmp_path);
  free(w->tmp_path);
  free(w->expected);
  free(w);
}

int blobs_put(blob_store *b, const void *data, size_t n, char digest_out[DIGEST_STR_SIZE], arca_err *err) {
  char d[DIGEST_STR_SIZE];
  digest_buffer(data, n, d);
  if (blobs_exists(b, d, NULL)) {
    if (digest_out) memcpy(digest_out, d, DIGEST_STR_SIZE);
    return 0;
  }
  blob_writer *w;
  if (blobs_writer_new(b, d, &w, err) < 0) return -1;
  int rc = blobs_writer_write(w, data, n, err);
  if (rc == 0) rc = blobs_writer_commit(w, digest_out, err);
  blobs_writer_free(w);
  return rc;
}
