/* The one place state is persisted: SQLite (WAL) at <data-root>/arca.db.
 *
 * Each resource module of the engine keeps its working set in memory and writes through
 * here. The store serialises all access with one mutex (store->lock); a transaction holds
 * it from store_begin to store_commit/store_rollback, so callers must not call back into
 * the engine while inside one. Schema changes are numbered migrations applied at open. */
#ifndef ARCA_STORE_STORE_H
#define ARCA_STORE_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

typedef struct store store;

int store_open(const char *path, store **out, arca_err *err);
void store_close(store *s);

/* A small key/value table for daemon facts (engine id, ...). */
int store_meta_get(store *s, const char *key, char **value, arca_err *err); /* 404 if absent */
int store_meta_set(store *s, const char *key, const char *value, arca_err *err);

/* Raw access for the resource modules' own tables (store_*.c files). */
void store_lock(store *s);
void store_unlock(store *s);
sqlite3 *store_db(store *s); /* only while locked */
int store_exec_locked(store *s, const char *sql, arca_err *err);
int store_begin_locked(store *s, arca_err *err);
int store_commit_locked(store *s, arca_err *err);
void store_rollback_locked(store *s);
int store_prepare_locked(store *s, const char *sql, sqlite3_stmt **st, arca_err *err);
int store_sqlite_err(store *s, int rc, const char *what, arca_err *err);

/* A transaction: takes the store lock until commit or rollback. */
int store_tx_begin(store *s, arca_err *err);
int store_tx_commit(store *s, arca_err *err);
void store_tx_rollback(store *s);
/* One statement with text parameters, while locked (inside a transaction or not). */
int store_run_locked(store *s, const char *sql, const char *const *args, size_t nargs, arca_err *err);

static inline void cleanup_stmtp(sqlite3_stmt **st) { if (*st) sqlite3_finalize(*st); }
#define autostmt __attribute__((cleanup(cleanup_stmtp)))

#endif
