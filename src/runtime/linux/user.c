/* Docker's user resolution (moby daemon/oci_linux.go getUser over moby/sys/user): "name",
 * "uid", "uid:gid", "name:group", numeric ids absent from passwd allowed, supplementary
 * groups from /etc/group membership, HostConfig.GroupAdd appended. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"

#define ID_MAX 2147483647LL /* moby/sys/user maxID: 1<<31 - 1 */
#define ERR_RANGE "uids and gids must be in range 0-2147483647"

/* strconv.Atoi: optional sign, decimal digits. 0 ok, 1 syntax error, 2 out of int64 range. */
static int go_atoi(const char *s, size_t n, long long *out) {
  size_t i = 0;
  bool neg = false;
  if (n > 0 && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == n) return 1;
  unsigned long long v = 0;
  bool overflow = false;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 1;
    if (v > (ULLONG_MAX - 9) / 10)
      overflow = true;
    else
      v = v * 10 + (unsigned long long)(s[i] - '0');
  }
  if (overflow || v > (unsigned long long)LLONG_MAX + (neg ? 1 : 0)) {
    *out = neg ? LLONG_MIN : LLONG_MAX;
    return 2;
  }
  *out = neg ? -(long long)v : (long long)v;
  return 0;
}

/* parseNumeric: *numeric when val is a number; -1 (ErrRange) when it is out of range. */
static int parse_numeric(const char *val, bool *numeric, long long *id) {
  *numeric = false;
  *id = 0;
  if (!*val) return 0;
  long long v;
  int rc = go_atoi(val, strlen(val), &v);
  if (rc == 1) return 0;
  *numeric = true;
  if (rc == 2 || v < 0 || v > ID_MAX) return -1;
  *id = v;
  return 0;
}

/* A field parsed as parseLine does for *int: conversion errors give 0. */
static long long field_int(const char *s, size_t n) {
  long long v = 0;
  int rc = go_atoi(s, n, &v);
  return rc == 1 ? 0 : v;
}

/* Splits one line of a passwd/group file into at most max ':'-separated fields. */
static size_t split_fields(char *line, char **fields, size_t max) {
  size_t n = 0;
  for (char *p = line;;) {
    if (n < max) fields[n] = p;
    n++;
    char *colon = strchr(p, ':');
    if (!colon) break;
    *colon = '\0';
    p = colon + 1;
  }
  return n < max ? n : max;
}

/* Iterates over the trimmed, non-empty lines of text (skipping '#' lines when asked). */
typedef struct line_iter {
  char *copy, *next;
  bool skip_comments;
} line_iter;

static char *next_line(line_iter *it) {
  while (it->next) {
    char *line = it->next;
    char *nl = strchr(line, '\n');
    if (nl) {
      *nl = '\0';
      it->next = nl + 1;
    } else {
      it->next = NULL;
    }
    while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\v' || *line == '\f') line++;
    size_t len = strlen(line);
    while (len > 0 && strchr(" \t\r\v\f", line[len - 1])) line[--len] = '\0';
    if (len == 0 || (it->skip_comments && line[0] == '#')) continue;
    return line;
  }
  return NULL;
}

typedef struct passwd_entry {
  char *name;
  long long uid, gid;
  char *home;
} passwd_entry;

static bool parse_passwd_line(char *line, passwd_entry *e) {
  char *f[7] = {0};
  size_t n = split_fields(line, f, 7);
  e->name = f[0];
  e->uid = n > 2 ? field_int(f[2], strlen(f[2])) : 0;
  e->gid = n > 3 ? field_int(f[3], strlen(f[3])) : 0;
  e->home = n > 5 ? f[5] : "";
  return true;
}

typedef struct group_entry {
  char *name;
  long long gid;
  char *list; /* comma-separated members, "" when none */
} group_entry;

static void parse_group_line(char *line, group_entry *g) {
  char *f[4] = {0};
  size_t n = split_fields(line, f, 4);
  g->name = f[0];
  g->gid = n > 2 ? field_int(f[2], strlen(f[2])) : 0;
  g->list = n > 3 ? f[3] : "";
}

static bool group_has_member(const char *list, const char *name) {
  size_t len = strlen(name);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (n == len && strncmp(p, name, n) == 0) return true;
    if (!comma) break;
    p = comma + 1;
  }
  return false;
}

static void gids_push(lx_user *u, long long gid) {
  u->gids = xrealloc(u->gids, (u->ngids + 1) * sizeof *u->gids);
  u->gids[u->ngids++] = (uint32_t)gid;
}

/* HOME as runc sets it when the environment has none: the first passwd entry with the uid,
 * "/" without one. */
static char *home_of_uid(const char *passwd, long long uid) {
  if (!passwd) return xstrdup("/");
  line_iter it = {.copy = xstrdup(passwd)};
  it.next = it.copy;
  char *home = NULL;
  for (char *line; !home && (line = next_line(&it));) {
    passwd_entry e;
    parse_passwd_line(line, &e);
    if (e.uid == uid) home = xstrdup(e.home);
  }
  free(it.copy);
  return home ? home : xstrdup("/");
}

static int additional_groups(const char *group, const char *const *group_add, size_t n, lx_user *u,
                             arca_err *err) {
  size_t first = u->ngids;
  for (size_t i = 0; i < n; i++) {
    bool numeric;
    long long gid;
    if (parse_numeric(group_add[i], &numeric, &gid) < 0) return err_set(err, 500, ERR_RANGE);
    bool found = false;
    if (group) {
      line_iter it = {.copy = xstrdup(group), .skip_comments = true};
      it.next = it.copy;
      for (char *line; !found && (line = next_line(&it));) {
        group_entry g;
        parse_group_line(line, &g);
        bool match = numeric ? g.gid == gid : strcmp(g.name, group_add[i]) == 0;
        if (!match) continue;
        if (g.gid < 0 || g.gid > ID_MAX) {
          free(it.copy);
          return err_set(err, 500, ERR_RANGE);
        }
        gid = g.gid;
        found = true;
      }
      free(it.copy);
    }
    if (!found && !numeric)
      return err_set(err, 500, "unable to find group %s: no matching entries in group file",
                     group_add[i]);
    bool dup = false;
    for (size_t k = first; k < u->ngids; k++) dup |= u->gids[k] == (uint32_t)gid;
    if (!dup) gids_push(u, gid);
  }
  return 0;
}

int lx_user_resolve_text(const char *spec, const char *passwd, const char *group,
                         const char *const *group_add, size_t ngroup_add, lx_user *out,
                         arca_err *err) {
  memset(out, 0, sizeof *out);
  autofree char *spec_copy = xstrdup(spec ? spec : "");
  char *f[2] = {spec_copy, ""};
  split_fields(spec_copy, f, 2);
  const char *user_arg = f[0], *group_arg = f[1] ? f[1] : "";

  bool is_uid, is_gid;
  long long uid_arg, gid_arg;
  if (parse_numeric(user_arg, &is_uid, &uid_arg) < 0) return err_set(err, 500, ERR_RANGE);
  if (parse_numeric(group_arg, &is_gid, &gid_arg) < 0) return err_set(err, 500, ERR_RANGE);

  long long uid = 0, gid = 0;
  autofree char *matched_name = NULL;
  if (passwd) {
    line_iter it = {.copy = xstrdup(passwd)};
    it.next = it.copy;
    for (char *line; !matched_name && (line = next_line(&it));) {
      passwd_entry e;
      parse_passwd_line(line, &e);
      bool match = !*user_arg ? e.uid == 0
                   : is_uid   ? e.uid == uid_arg
                              : strcmp(e.name, user_arg) == 0;
      if (!match) continue;
      matched_name = xstrdup(e.name);
      uid = e.uid;
      gid = e.gid;
    }
    free(it.copy);
  }
  if (!matched_name && *user_arg) {
    if (!is_uid)
      return err_set(err, 500, "unable to find user %s: no matching entries in passwd file",
                     user_arg);
    uid = uid_arg;
  }

  lx_user u = {0};
  uint32_t *sgids = NULL;
  size_t nsgids = 0;
  if (*group_arg || matched_name) {
    bool explicit_found = false;
    if (group) {
      line_iter it = {.copy = xstrdup(group), .skip_comments = true};
      it.next = it.copy;
      for (char *line; (line = next_line(&it));) {
        group_entry g;
        parse_group_line(line, &g);
        if (!*group_arg) {
          if (!group_has_member(g.list, matched_name)) continue;
          sgids = xrealloc(sgids, (nsgids + 1) * sizeof *sgids);
          sgids[nsgids++] = (uint32_t)g.gid;
        } else if (is_gid ? g.gid == gid_arg : strcmp(g.name, group_arg) == 0) {
          gid = g.gid;
          explicit_found = true;
          break;
        }
      }
      free(it.copy);
    }
    if (*group_arg && !explicit_found) {
      if (!is_gid)
        return err_set(err, 500, "unable to find group %s: no matching entries in group file",
                       group_arg);
      gid = gid_arg;
    }
  }

  u.uid = (uint32_t)uid;
  u.gid = (uint32_t)gid;
  gids_push(&u, gid);
  for (size_t i = 0; i < nsgids; i++) gids_push(&u, sgids[i]);
  free(sgids);
  if (additional_groups(group, group_add, ngroup_add, &u, err) < 0) {
    lx_user_free(&u);
    return -1;
  }
  u.home = home_of_uid(passwd, uid);
  *out = u;
  return 0;
}

int lx_user_resolve(int root_fd, const char *spec, const char *const *group_add, size_t ngroup_add,
                    lx_user *out, arca_err *err) {
  autofree char *passwd = NULL;
  autofree char *group = NULL;
  if (lx_inroot_read(root_fd, "/etc/passwd", 16u << 20, &passwd) < 0) passwd = NULL;
  if (lx_inroot_read(root_fd, "/etc/group", 16u << 20, &group) < 0) group = NULL;
  return lx_user_resolve_text(spec, passwd, group, group_add, ngroup_add, out, err);
}

void lx_user_free(lx_user *u) {
  free(u->gids);
  free(u->home);
  u->gids = NULL;
  u->home = NULL;
  u->ngids = 0;
}

json_t *lx_user_json(const lx_user *u) {
  json_t *gids = json_array();
  for (size_t i = 0; i < u->ngids; i++) json_array_append_new(gids, json_integer(u->gids[i]));
  return json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid,
                   "additionalGids", gids);
}
