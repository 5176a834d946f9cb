#include "store/store_networks.h"

#include <string.h>

typedef struct table_sql {
  const char *put, *del_one, *del_all, *load;
} table_sql;

static const table_sql tables[] = {
    [STORE_NETWORKS] = {"INSERT INTO networks(id, name, doc) VALUES(?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET "
                        "name = excluded.name, doc = excluded.doc",
                        "DELETE FROM networks WHERE id = ?1 AND name = ?2", "DELETE FROM networks WHERE id = ?1",
                        "SELECT id, name, doc FROM networks"},
    [STORE_ENDPOINTS] = {"INSERT INTO endpoints(container_id, network_id, doc) VALUES(?1, ?2, ?3) "
                         "ON CONFLICT(container_id, network_id) DO UPDATE SET doc = excluded.doc",
                         "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2",
                         "DELETE FROM endpoints WHERE container_id = ?1",
                         "SELECT container_id, network_id, doc FROM endpoints"},
    [STORE_VOLUMES] = {"INSERT INTO volumes(name, doc) VALUES(?1, ?3) ON CONFLICT(name) DO UPDATE SET doc = excluded.doc",
                       "DELETE FROM volumes WHERE name = ?1", "DELETE FROM volumes WHERE name = ?1",
                       "SELECT name, '', doc FROM volumes"},
    [STORE_VOLUME_REFS] = {"INSERT INTO volume_refs(container_id, destination, doc) VALUES(?1, ?2, ?3) "
                           "ON CONFLICT(container_id, destination) DO UPDATE SET doc = excluded.doc",
                           "DELETE FROM volume_refs WHERE container_id = ?1 AND destination = ?2",
                           "DELETE FROM volume_refs WHERE container_id = ?1",
                           "SELECT container_id, destination, doc FROM volume_refs"},
};

static int run(store *s, const char *sql, const char *k1, const char *k2, const char *doc, arca_err *err) {
  int rc = -1;
  store_lock(s);
  {
    autostmt sqlite3_stmt *st = NULL;
    if (store_prepare_locked(s, sql, &st, err) == 0) {
      /* unused parameters are simply absent from the statement */
      int n = sqlite3_bind_parameter_count(st);
      if (n >= 1) sqlite3_bind_text(st, 1, k1, -1, SQLITE_STATIC);
      if (n >= 2) sqlite3_bind_text(st, 2, k2 ? k2 : "", -1, SQLITE_STATIC);
      if (n >= 3) sqlite3_bind_text(st, 3, doc ? doc : "", -1, SQLITE_STATIC);
      int r = sqlite3_step(st);
      rc = r == SQLITE_DONE ? 0 : store_sqlite_err(s, r, "write", err);
    }
  }
  store_unlock(s);
  return rc;
}

int store_net_put(store *s, store_net_table t, const char *k1, const char *k2, const char *doc, arca_err *err) {
  return run(s, tables[t].put, k1, k2, doc, err);
}

int store_net_delete(store *s, store_net_table t, const char *k1, const char *k2, arca_err *err) {
  return run(s, k2 ? tables[t].del_one : tables[t].del_all, k1, k2, NULL, err);
}

int store_net_load(store *s, store_net_table t, store_net_cb cb, void *ctx, arca_err *err) {
  int rc = 0;
  store_lock(s);
  {
    autostmt sqlite3_stmt *st = NULL;
    rc = store_prepare_locked(s, tables[t].load, &st, err);
    while (rc == 0) {
      int r = sqlite3_step(st);
      if (r == SQLITE_DONE) break;
      if (r != SQLITE_ROW) {
        rc = store_sqlite_err(s, r, "read", err);
        break;
      }
      cb(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
         (const char *)sqlite3_column_text(st, 2));
    }
  }
  store_unlock(s);
  return rc;
}
