#ifndef GRACE_BACKUP_C_FILE_SYSTEM_H
#define GRACE_BACKUP_C_FILE_SYSTEM_H

/// Flushes every dirty page and all metadata of the file system holding `fd` (Linux syncfs(2));
/// elsewhere falls back to sync(2). Returns 0, or -1 with errno set.
int grace_sync_file_system(int fd);

/// Starts writing a range of a file's dirty pages to disk and returns without waiting (Linux
/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE); a later fsync has less left to do. Elsewhere
/// does nothing. Returns 0, or -1 with errno set.
int grace_start_writeback(int fd, long long offset, long long length);

#endif
