/* Writing local files whole: the loops every writer of a local file needs (short writes,
 * EINTR) and an fsync that tolerates descriptors with nothing to make durable. Internal to
 * the io layer and the layers above it. */
#ifndef BEAM_IO_LOCAL_FILE_H
#define BEAM_IO_LOCAL_FILE_H

#include <stddef.h>
#include <stdint.h>

/* write() all len bytes, retrying short writes and EINTR. 0, or an errno (EIO when write
 * returned 0). */
int beam_local_write_all(int fd, const void *data, size_t len);

/* The same with pwrite() at off (the file offset is not moved). */
int beam_local_pwrite_all(int fd, const void *data, size_t len, uint64_t off);

/* fsync(fd): 0, or an errno; EINVAL and EROFS (a pipe, a device, a read-only mount: nothing
 * to make durable) count as success. */
int beam_local_fsync(int fd);

#endif
