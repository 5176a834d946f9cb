#include "store/store_build.h"

int store_build_cache_put(store *s, const build_cache_row *row, arca_err *err) {
  int rc = -1;
  store_lock(s);
  {
    autostmt sqlite3_stmt *st = NULL;
    if (store_prepare_locked(
            s,
            "INSERT INTO build_cache(image_id, parent, cache_key, created, last_used, usage_count) "
            "VALUES(?,?,?,?,?,?) ON CONFLICT(image_id) DO UPDATE SET parent=excluded.parent, "
            "cache_key=excluded.cache_key, created=excluded.created",
            &st, err) == 0) {
      sqlite3_bind_text(st, 1, row->image_id, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, row->parent ? row->parent : "", -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 3, row->cache_key, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, row->created_ns);
      sqlite3_bind_int64(st, 5, row->last_used_ns);
      sqlite3_bind_int64(st, 6, row->usage_count);
      int r = sqlite3_step(st);
      rc = r == SQLITE_DONE ? 0 : store_sqlite_err(s, r, "write build cache", err);
    }
  }
  store_unlock(s);
  return rc;
}

int store_build_cache_delete(store *s, const char *image_id, arca_err *err) {
  const char *args[] = {image_id};
  store_lock(s);
  int rc = store_run_locked(s, "DELETE FROM build_cache WHERE image_id = ?", args, 1, err);
  store_unlock(s);
  return rc;
}

int store_build_cache_touch(store *s, const char *image_id, int64_t last_used_ns,
                            int64_t usage_count, arca_err *err) {
  int rc = -1;
  store_lock(s);
  {
    autostmt sqlite3_stmt *st = NULL;
    if (store_prepare_locked(
            s, "UPDATE build_cache SET last_used = ?, usage_count = ? WHERE image_id = ?", &st,
            err) == 0) {
      sqlite3_bind_int64(st, 1, last_used_ns);
      sqlite3_bind_int64(st, 2, usage_count);
      sqlite3_bind_text(st, 3, image_id, -1, SQLITE_STATIC);
      int r = sqlite3_step(st);
      rc = r == SQLITE_DONE ? 0 : store_sqlite_err(s, r, "write build cache", err);
    }
  }
  store_unlock(s);
  return rc;
}

int store_build_cache_load(store *s, store_build_cache_cb cb, void *ctx, arca_err *err) {
  int rc = 0;
  store_lock(s);
  {
    autostmt sqlite3_stmt *st = NULL;
    if (store_prepare_locked(
            s,
            "SELECT image_id, parent, cache_key, created, last_used, usage_count FROM build_cache",
            &st, err) < 0) {
      rc = -1;
    } else {
      int r;
      while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        build_cache_row row = {(const char *)sqlite3_column_text(st, 0),
                               (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2),
                               sqlite3_column_int64(st, 3),
                               sqlite3_column_int64(st, 4),
                               sqlite3_column_int64(st, 5)};
        cb(ctx, &row);
      }
      if (r != SQLITE_DONE) rc = store_sqlite_err(s, r, "read build cache", err);
    }
  }
  store_unlock(s);
  return rc;
}
