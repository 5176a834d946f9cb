#include "image/digest.h"

#include <errno.h>
#include <fcntl.h>
#include "common/lazy_crypto.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static void crypto_failed(const char *what) {
  /* Only reachable when OpenSSL cannot allocate: treated like any out-of-memory. */
  fprintf(stderr, "arcad: %s failed\n", what);
  abort();
}

static void format_sha256(const unsigned char *md, char out[DIGEST_STR_SIZE]) {
  static const char hex[] = "0123456789abcdef";
  memcpy(out, DIGEST_SHA256_PREFIX, sizeof DIGEST_SHA256_PREFIX - 1);
  char *p = out + sizeof DIGEST_SHA256_PREFIX - 1;
  for (int i = 0; i < 32; i++) {
    *p++ = hex[md[i] >> 4];
    *p++ = hex[md[i] & 15];
  }
  *p = '\0';
}

void digest_init(digest_ctx *d) {
  d->md = EVP_MD_CTX_new();
  if (!d->md || EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) crypto_failed("sha256 init");
}

void digest_update(digest_ctx *d, const void *data, size_t n) {
  if (n && EVP_DigestUpdate(d->md, data, n) != 1) crypto_failed("sha256 update");
}

void digest_final(digest_ctx *d, char out[DIGEST_STR_SIZE]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(d->md, md, &len) != 1 || len != 32) crypto_failed("sha256 final");
  format_sha256(md, out);
  digest_free(d);
}

void digest_free(digest_ctx *d) {
  if (d->md) EVP_MD_CTX_free(d->md);
  d->md = NULL;
}

void digest_buffer(const void *data, size_t n, char out[DIGEST_STR_SIZE]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
    crypto_failed("sha256");
  format_sha256(md, out);
}

int digest_fd(int fd, char out[DIGEST_STR_SIZE], uint64_t *size, arca_err *err) {
  autodigest digest_ctx d = {0};
  digest_init(&d);
  uint64_t total = 0;
  char buf[65536];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return err_errno(err, 500, errno, "read for digest");
    }
    if (r == 0) break;
    digest_update(&d, buf, (size_t)r);
    total += (uint64_t)r;
  }
  digest_final(&d, out);
  if (size) *size = total;
  return 0;
}

int digest_file(const char *path, char out[DIGEST_STR_SIZE], arca_err *err) {
  autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err_errno(err, errno == ENOENT ? 404 : 500, errno, "open %s", path);
  if (digest_fd(fd, out, NULL, err) < 0) return err_wrap(err, "%s", path);
  return 0;
}

bool digest_is_sha256(const char *s) {
  if (!s || !str_has_prefix(s, DIGEST_SHA256_PREFIX)) return false;
  s += sizeof DIGEST_SHA256_PREFIX - 1;
  return strlen(s) == 64 && str_is_hex(s, 64);
}
