#include "store/store_containers.h"

int store_container_put(store *s, const char *id, const char *name, const char *doc, arca_err *err) {
  const char *args[] = {id, name, doc};
  store_lock(s);
  int rc = store_run_locked(s,
                            "INSERT INTO containers(id, name, doc) VALUES(?,?,?) ON CONFLICT(id) DO UPDATE SET "
                            "name = excluded.name, doc = excluded.doc",
                            args, 3, err);
  store_unlock(s);
  return rc;
}

int store_container_delete(store *s, const char *id, arca_err *err) {
  const char *args[] = {id};
  store_lock(s);
  int rc = store_run_locked(s, "DELETE FROM containers WHERE id = ?", args, 1, err);
  store_unlock(s);
  return rc;
}

int store_containers_load(store *s, store_container_cb cb, void *ctx, arca_err *err) {
  store_lock(s);
  sqlite3_stmt *st = NULL;
  int rc = store_prepare_locked(s, "SELECT id, name, doc FROM containers", &st, err);
  while (rc == 0) {
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) break;
    if (r != SQLITE_ROW) {
      rc = store_sqlite_err(s, r, "read containers", err);
      break;
    }
    cb(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
       (const char *)sqlite3_column_text(st, 2));
  }
  if (st) sqlite3_finalize(st);
  store_unlock(s);
  return rc;
}
