#define _GNU_SOURCE
#include <unistd.h>
#include "CFileSystem.h"

int grace_sync_file_system(int fd) {
#if defined(__linux__)
    return syncfs(fd);
#else
    (void)fd;
    sync();
    return 0;
#endif
}
