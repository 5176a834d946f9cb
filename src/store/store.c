#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

struct store {
  sqlite3 *db;
  pthread_mutex_t lock;
};

/* Numbered migrations; each runs once inside a transaction, in order. Append only. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: images, references, layers */
    "CREATE TABLE images (id TEXT PRIMARY KEY, config TEXT NOT NULL, layers TEXT NOT NULL,"
    " parent TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL, last_tag INTEGER NOT NULL DEFAULT 0,"
    " size INTEGER NOT NULL DEFAULT 0, extra TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE refs (name TEXT PRIMARY KEY, image_id TEXT NOT NULL);"
    "CREATE INDEX refs_by_image ON refs(image_id);"
    "CREATE TABLE layers (chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT NOT NULL,"
    " size INTEGER NOT NULL, created INTEGER NOT NULL);",
    /* 3: containers (the record is a JSON document; name kept apart for uniqueness) */
    "CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);",
    /* 4: networks, their endpoints (IPAM), volumes and their users (store_networks.c) */
    "CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);"
    "CREATE TABLE endpoints (container_id TEXT NOT NULL, network_id TEXT NOT NULL, doc TEXT NOT NULL,"
    " PRIMARY KEY (container_id, network_id));"
    "CREATE TABLE volumes (name TEXT PRIMARY KEY, doc TEXT NOT NULL);"
    "CREATE TABLE volume_refs (container_id TEXT NOT NULL, destination TEXT NOT NULL, doc TEXT NOT NULL,"
    " PRIMARY KEY (container_id, destination));",
    /* 5: the classic builder's cache: which built image a step (parent + config key) made */
    "CREATE TABLE build_cache (image_id TEXT PRIMARY KEY, parent TEXT NOT NULL, cache_key TEXT NOT NULL,"
    " created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0, usage_count INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX build_cache_by_step ON build_cache(parent, cache_key);",
};

int store_sqlite_err(store *s, int rc, const char *what, arca_err *err) {
  return err_set(err, 500, "store: %s: %s (%d)", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc), rc);
}

void store_lock(store *s) { pthread_mutex_lock(&s->lock); }
void store_unlock(store *s) { pthread_mutex_unlock(&s->lock); }
sqlite3 *store_db(store *s) { return s->db; }

int store_exec_locked(store *s, const char *sql, arca_err *err) {
  char *msg = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    err_set(err, 500, "store: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

int store_begin_locked(store *s, arca_err *err) { return store_exec_locked(s, "BEGIN IMMEDIATE", err); }
int store_commit_locked(store *s, arca_err *err) { return store_exec_locked(s, "COMMIT", err); }
void store_rollback_locked(store *s) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); }

int store_prepare_locked(store *s, const char *sql, sqlite3_stmt **st, arca_err *err) {
  int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
  if (rc != SQLITE_OK) return store_sqlite_err(s, rc, "prepare", err);
  return 0;
}

static int migrate(store *s, arca_err *err) {
  sqlite3_stmt *st;
  if (store_prepare_locked(s, "PRAGMA user_version", &st, err) < 0) return -1;
  int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  int target = (int)ARRAY_LEN(migrations);
  if (version > target)
    return err_set(err, 500, "store: the database was written by a newer Arca (schema %d, this one knows %d)", version, target);
  for (int v = version; v < target; v++) {
    if (store_begin_locked(s, err) < 0) return -1;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
    if (store_exec_locked(s, migrations[v], err) < 0 || store_exec_locked(s, pragma, err) < 0) {
      store_rollback_locked(s);
      return err_wrap(err, "migration %d", v + 1);
    }
    if (store_commit_locked(s, err) < 0) return -1;
  }
  return 0;
}

int store_open(const char *path, store **out, arca_err *err) {
  store *s = xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    store_sqlite_err(s, rc, path, err);
    store_close(s);
    return -1;
  }
  sqlite3_busy_timeout(s->db, 5000);
  store_lock(s);
  int r = store_exec_locked(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err);
  if (r == 0) r = migrate(s, err);
  store_unlock(s);
  if (r < 0) {
    store_close(s);
    return err_wrap(err, "open %s", path);
  }
  *out = s;
  return 0;
}

void store_close(store *s) {
  if (!s) return;
  if (s->db) sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

int store_meta_get(store *s, const char *key, char **value, arca_err *err) {
  int rc = -1;
  store_lock(s);
  { /* the statement is finalized before the lock is released */
  autostmt sqlite3_stmt *st = NULL;
  if (store_prepare_locked(s, "SELECT value FROM meta WHERE key = ?", &st, err) == 0) {
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
      *value = xstrdup((const char *)sqlite3_column_text(st, 0));
      rc = 0;
    } else if (r == SQLITE_DONE) rc = err_set(err, 404, "no meta value %s", key);
    else rc = store_sqlite_err(s, r, "read meta", err);
  }
  }
  store_unlock(s);
  return rc;
}

int store_meta_set(store *s, const char *key, const char *value, arca_err *err) {
  int rc = -1;
  store_lock(s);
  {
  autostmt sqlite3_stmt *st = NULL;
  if (store_prepare_locked(s, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", &st, err) == 0) {
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    rc = r == SQLITE_DONE ? 0 : store_sqlite_err(s, r, "write meta", err);
  }
  }
  store_unlock(s);
  return rc;
}

int store_tx_begin(store *s, arca_err *err) {
  store_lock(s);
  if (store_begin_locked(s, err) < 0) {
    store_unlock(s);
    return -1;
  }
  return 0;
}

int store_tx_commit(store *s, arca_err *err) {
  int rc = store_commit_locked(s, err);
  if (rc < 0) store_rollback_locked(s);
  store_unlock(s);
  return rc;
}

void store_tx_rollback(store *s) {
  store_rollback_locked(s);
  store_unlock(s);
}

int store_run_locked(store *s, const char *sql, const char *const *args, size_t nargs, arca_err *err) {
  sqlite3_stmt *st = NULL;
  if (store_prepare_locked(s, sql, &st, err) < 0) return -1;
  for (size_t i = 0; i < nargs; i++) sqlite3_bind_text(st, (int)i + 1, args[i], -1, SQLITE_STATIC);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  if (r != SQLITE_DONE && r != SQLITE_ROW) return store_sqlite_err(s, r, "write", err);
  return 0;
}
