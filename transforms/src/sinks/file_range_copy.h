/* Copying a byte range from one file to another inside the kernel where it can (internal to
 * the sinks layer: the JSON-lines sink writes a bundle's rows aside, then appends them to the
 * table file from there). */
#ifndef BEAM_TRANSFORMS_FILE_RANGE_COPY_H
#define BEAM_TRANSFORMS_FILE_RANGE_COPY_H

#include <stdint.h>

/* Copies len bytes of src at src_off to dst at dst_off. copy_file_range first: the kernel
 * copies without a trip through user space, and shares the extents (a reflink) where the
 * filesystem can; where it cannot (across filesystems, an old kernel), read and write.
 * Returns 0 or an errno (EIO when src ends before len bytes). */
int beam_sink_copy_range(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len);

#endif
