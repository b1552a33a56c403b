#ifndef GRACE_BACKUP_C_FILE_SYSTEM_H
#define GRACE_BACKUP_C_FILE_SYSTEM_H

/// Flushes every dirty page and all metadata of the file system holding `fd` (Linux syncfs(2));
/// elsewhere falls back to sync(2). Returns 0, or -1 with errno set.
int grace_sync_file_system(int fd);

#endif
