/* libarchive, loaded on first use instead of at start-up: arcad idles without the
 * library and what it pulls in (see common/lazy.h). Include this instead of the library's
 * own headers; calls read as usual and go through the table. The list names every
 * function Arca calls: a new one is added here, or the build fails on its symbol. */
#ifndef ARCA_LAZY_ARCHIVE_H
#define ARCA_LAZY_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "common/lazy.h"

#define LAZY_ARCHIVE_FUNCS(X) \
  X(archive_entry_atime) \
  X(archive_entry_atime_is_set) \
  X(archive_entry_atime_nsec) \
  X(archive_entry_clone) \
  X(archive_entry_copy_stat) \
  X(archive_entry_copy_symlink) \
  X(archive_entry_filetype) \
  X(archive_entry_free) \
  X(archive_entry_gid) \
  X(archive_entry_hardlink) \
  X(archive_entry_mode) \
  X(archive_entry_mtime) \
  X(archive_entry_mtime_nsec) \
  X(archive_entry_new) \
  X(archive_entry_pathname) \
  X(archive_entry_perm) \
  X(archive_entry_rdevmajor) \
  X(archive_entry_rdevminor) \
  X(archive_entry_set_filetype) \
  X(archive_entry_set_gid) \
  X(archive_entry_set_gname) \
  X(archive_entry_set_hardlink) \
  X(archive_entry_set_mode) \
  X(archive_entry_set_mtime) \
  X(archive_entry_set_pathname) \
  X(archive_entry_set_perm) \
  X(archive_entry_set_rdev) \
  X(archive_entry_set_rdevmajor) \
  X(archive_entry_set_rdevminor) \
  X(archive_entry_set_size) \
  X(archive_entry_set_symlink) \
  X(archive_entry_set_uid) \
  X(archive_entry_set_uname) \
  X(archive_entry_size) \
  X(archive_entry_symlink) \
  X(archive_entry_uid) \
  X(archive_entry_xattr_add_entry) \
  X(archive_entry_xattr_clear) \
  X(archive_entry_xattr_count) \
  X(archive_entry_xattr_next) \
  X(archive_entry_xattr_reset) \
  X(archive_error_string) \
  X(archive_read_data) \
  X(archive_read_data_block) \
  X(archive_read_free) \
  X(archive_read_new) \
  X(archive_read_next_header) \
  X(archive_read_open) \
  X(archive_read_open_fd) \
  X(archive_read_support_filter_all) \
  X(archive_read_support_filter_bzip2) \
  X(archive_read_support_filter_gzip) \
  X(archive_read_support_filter_xz) \
  X(archive_read_support_filter_zstd) \
  X(archive_read_support_format_empty) \
  X(archive_read_support_format_raw) \
  X(archive_read_support_format_tar) \
  X(archive_set_error) \
  X(archive_write_add_filter_gzip) \
  X(archive_write_close) \
  X(archive_write_data) \
  X(archive_write_data_block) \
  X(archive_write_disk_new) \
  X(archive_write_disk_set_options) \
  X(archive_write_finish_entry) \
  X(archive_write_free) \
  X(archive_write_header) \
  X(archive_write_new) \
  X(archive_write_open) \
  X(archive_write_open2) \
  X(archive_write_set_bytes_in_last_block) \
  X(archive_write_set_bytes_per_block) \
  X(archive_write_set_format_option) \
  X(archive_write_set_format_pax_restricted) \
  X(archive_write_set_format_raw) \
  X(archive_write_set_options)

typedef struct lazy_archive_fns {
#define LAZY_MEMBER(f) __typeof__(f) *f;
  LAZY_ARCHIVE_FUNCS(LAZY_MEMBER)
#undef LAZY_MEMBER
} lazy_archive_fns;

extern const lazy_archive_fns *lazy_archive_table;
/* Loads the library on the first call (a missing library ends arcad with a message). */
const lazy_archive_fns *lazy_archive_load(void);
static inline const lazy_archive_fns *lazy_archive(void) {
  const lazy_archive_fns *t = __atomic_load_n(&lazy_archive_table, __ATOMIC_ACQUIRE);
  return t ? t : lazy_archive_load();
}

#ifndef LAZY_IMPLEMENTATION
#define archive_entry_atime (lazy_archive()->archive_entry_atime)
#define archive_entry_atime_is_set (lazy_archive()->archive_entry_atime_is_set)
#define archive_entry_atime_nsec (lazy_archive()->archive_entry_atime_nsec)
#define archive_entry_clone (lazy_archive()->archive_entry_clone)
#define archive_entry_copy_stat (lazy_archive()->archive_entry_copy_stat)
#define archive_entry_copy_symlink (lazy_archive()->archive_entry_copy_symlink)
#define archive_entry_filetype (lazy_archive()->archive_entry_filetype)
#define archive_entry_free (lazy_archive()->archive_entry_free)
#define archive_entry_gid (lazy_archive()->archive_entry_gid)
#define archive_entry_hardlink (lazy_archive()->archive_entry_hardlink)
#define archive_entry_mode (lazy_archive()->archive_entry_mode)
#define archive_entry_mtime (lazy_archive()->archive_entry_mtime)
#define archive_entry_mtime_nsec (lazy_archive()->archive_entry_mtime_nsec)
#define archive_entry_new (lazy_archive()->archive_entry_new)
#define archive_entry_pathname (lazy_archive()->archive_entry_pathname)
#define archive_entry_perm (lazy_archive()->archive_entry_perm)
#define archive_entry_rdevmajor (lazy_archive()->archive_entry_rdevmajor)
#define archive_entry_rdevminor (lazy_archive()->archive_entry_rdevminor)
#define archive_entry_set_filetype (lazy_archive()->archive_entry_set_filetype)
#define archive_entry_set_gid (lazy_archive()->archive_entry_set_gid)
#define archive_entry_set_gname (lazy_archive()->archive_entry_set_gname)
#define archive_entry_set_hardlink (lazy_archive()->archive_entry_set_hardlink)
#define archive_entry_set_mode (lazy_archive()->archive_entry_set_mode)
#define archive_entry_set_mtime (lazy_archive()->archive_entry_set_mtime)
#define archive_entry_set_pathname (lazy_archive()->archive_entry_set_pathname)
#define archive_entry_set_perm (lazy_archive()->archive_entry_set_perm)
#define archive_entry_set_rdev (lazy_archive()->archive_entry_set_rdev)
#define archive_entry_set_rdevmajor (lazy_archive()->archive_entry_set_rdevmajor)
#define archive_entry_set_rdevminor (lazy_archive()->archive_entry_set_rdevminor)
#define archive_entry_set_size (lazy_archive()->archive_entry_set_size)
#define archive_entry_set_symlink (lazy_archive()->archive_entry_set_symlink)
#define archive_entry_set_uid (lazy_archive()->archive_entry_set_uid)
#define archive_entry_set_uname (lazy_archive()->archive_entry_set_uname)
#define archive_entry_size (lazy_archive()->archive_entry_size)
#define archive_entry_symlink (lazy_archive()->archive_entry_symlink)
#define archive_entry_uid (lazy_archive()->archive_entry_uid)
#define archive_entry_xattr_add_entry (lazy_archive()->archive_entry_xattr_add_entry)
#define archive_entry_xattr_clear (lazy_archive()->archive_entry_xattr_clear)
#define archive_entry_xattr_count (lazy_archive()->archive_entry_xattr_count)
#define archive_entry_xattr_next (lazy_archive()->archive_entry_xattr_next)
#define archive_entry_xattr_reset (lazy_archive()->archive_entry_xattr_reset)
#define archive_error_string (lazy_archive()->archive_error_string)
#define archive_read_data (lazy_archive()->archive_read_data)
#define archive_read_data_block (lazy_archive()->archive_read_data_block)
#define archive_read_free (lazy_archive()->archive_read_free)
#define archive_read_new (lazy_archive()->archive_read_new)
#define archive_read_next_header (lazy_archive()->archive_read_next_header)
#define archive_read_open (lazy_archive()->archive_read_open)
#define archive_read_open_fd (lazy_archive()->archive_read_open_fd)
#define archive_read_support_filter_all (lazy_archive()->archive_read_support_filter_all)
#define archive_read_support_filter_bzip2 (lazy_archive()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (lazy_archive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_xz (lazy_archive()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (lazy_archive()->archive_read_support_filter_zstd)
#define archive_read_support_format_empty (lazy_archive()->archive_read_support_format_empty)
#define archive_read_support_format_raw (lazy_archive()->archive_read_support_format_raw)
#define archive_read_support_format_tar (lazy_archive()->archive_read_support_format_tar)
#define archive_set_error (lazy_archive()->archive_set_error)
#define archive_write_add_filter_gzip (lazy_archive()->archive_write_add_filter_gzip)
#define archive_write_close (lazy_archive()->archive_write_close)
#define archive_write_data (lazy_archive()->archive_write_data)
#define archive_write_data_block (lazy_archive()->archive_write_data_block)
#define archive_write_disk_new (lazy_archive()->archive_write_disk_new)
#define archive_write_disk_set_options (lazy_archive()->archive_write_disk_set_options)
#define archive_write_finish_entry (lazy_archive()->archive_write_finish_entry)
#define archive_write_free (lazy_archive()->archive_write_free)
#define archive_write_header (lazy_archive()->archive_write_header)
#define archive_write_new (lazy_archive()->archive_write_new)
#define archive_write_open (lazy_archive()->archive_write_open)
#define archive_write_open2 (lazy_archive()->archive_write_open2)
#define archive_write_set_bytes_in_last_block (lazy_archive()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (lazy_archive()->archive_write_set_bytes_per_block)
#define archive_write_set_format_option (lazy_archive()->archive_write_set_format_option)
#define archive_write_set_format_pax_restricted (lazy_archive()->archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw (lazy_archive()->archive_write_set_format_raw)
#define archive_write_set_options (lazy_archive()->archive_write_set_options)
#endif

#endif /* ARCA_LAZY_ARCHIVE_H */
