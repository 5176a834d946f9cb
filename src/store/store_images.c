#include "store/store_images.h"

#include <stdio.h>

static int bind_and_run(store *s, sqlite3_stmt *st, arca_err *err) {
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : store_sqlite_err(s, r, "write", err);
}

int store_image_put_tx(store *s, const image_row *row, arca_err *err) {
  sqlite3_stmt *st;
  if (store_prepare_locked(s,
                           "INSERT INTO images(id, config, layers, parent, created, last_tag, size, extra) "
                           "VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET config=excluded.config, "
                           "layers=excluded.layers, parent=excluded.parent, last_tag=excluded.last_tag, "
                           "size=excluded.size, extra=excluded.extra",
                           &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, row->config, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, row->layers, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, row->parent ? row->parent : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, row->created_ns);
  sqlite3_bind_int64(st, 6, row->last_tag_ns);
  sqlite3_bind_int64(st, 7, row->size);
  sqlite3_bind_text(st, 8, row->extra ? row->extra : "{}", -1, SQLITE_STATIC);
  return bind_and_run(s, st, err);
}

int store_image_delete_tx(store *s, const char *id, arca_err *err) {
  const char *args[] = {id};
  return store_run_locked(s, "DELETE FROM images WHERE id = ?", args, 1, err);
}

int store_ref_put_tx(store *s, const char *name, const char *image_id, arca_err *err) {
  const char *args[] = {name, image_id};
  return store_run_locked(s, "INSERT INTO refs(name, image_id) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                          args, 2, err);
}

int store_ref_delete_tx(store *s, const char *name, arca_err *err) {
  const char *args[] = {name};
  return store_run_locked(s, "DELETE FROM refs WHERE name = ?", args, 1, err);
}

int store_layer_put_tx(store *s, const char *chain_id, const char *diff_id, const char *parent,
                       int64_t size, arca_err *err) {
  sqlite3_stmt *st;
  if (store_prepare_locked(s, "INSERT OR REPLACE INTO layers(chain_id, diff_id, parent, size, created) VALUES(?,?,?,?,strftime('%s','now'))",
                           &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, diff_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, parent ? parent : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, size);
  return bind_and_run(s, st, err);
}

int store_layer_delete_tx(store *s, const char *chain_id, arca_err *err) {
  const char *args[] = {chain_id};
  return store_run_locked(s, "DELETE FROM layers WHERE chain_id = ?", args, 1, err);
}

static const char *col(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? (const char *)t : "";
}

int store_images_load(store *s, store_image_cb cb, void *ctx, arca_err *err) {
  store_lock(s);
  sqlite3_stmt *st = NULL;
  int rc = store_prepare_locked(s, "SELECT id, config, layers, parent, created, last_tag, size, extra FROM images", &st, err);
  while (rc == 0) {
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) break;
    if (r != SQLITE_ROW) {
      rc = store_sqlite_err(s, r, "read images", err);
      break;
    }
    image_row row = {col(st, 0), col(st, 1), col(st, 2), col(st, 3), sqlite3_column_int64(st, 4),
                     sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6), col(st, 7)};
    cb(ctx, &row);
  }
  if (st) sqlite3_finalize(st);
  store_unlock(s);
  return rc;
}

int store_refs_load(store *s, store_ref_cb cb, void *ctx, arca_err *err) {
  store_lock(s);
  sqlite3_stmt *st = NULL;
  int rc = store_prepare_locked(s, "SELECT name, image_id FROM refs", &st, err);
  while (rc == 0) {
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) break;
    if (r != SQLITE_ROW) {
      rc = store_sqlite_err(s, r, "read refs", err);
      break;
    }
    cb(ctx, col(st, 0), col(st, 1));
  }
  if (st) sqlite3_finalize(st);
  store_unlock(s);
  return rc;
}

int store_layers_load(store *s, store_layer_cb cb, void *ctx, arca_err *err) {
  store_lock(s);
  sqlite3_stmt *st = NULL;
  int rc = store_prepare_locked(s, "SELECT chain_id, diff_id, parent, size FROM layers", &st, err);
  while (rc == 0) {
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) break;
    if (r != SQLITE_ROW) {
      rc = store_sqlite_err(s, r, "read layers", err);
      break;
    }
    cb(ctx, col(st, 0), col(st, 1), col(st, 2), sqlite3_column_int64(st, 3));
  }
  if (st) sqlite3_finalize(st);
  store_unlock(s);
  return rc;
}
