/* Temporary files for the local runner's shuffles: created already unlinked, so nothing is
 * left behind whatever ends the process (kill -9 included), and written in whole. */
#ifndef BEAM_LOCAL_SPILL_H
#define BEAM_LOCAL_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "beam/status.h"

/* Opens an anonymous read-write file in dir (O_TMPFILE, else mkstemp + unlink at once).
 * what names the work for the error message ("GroupByKey X"). */
beam_status beam_spill_open(const char *dir, const char *what, int *fd, beam_error *err);

/* Writes len bytes at offset, retrying short writes. ENOSPC and EDQUOT fail with
 * "no space left on DIR while spilling WHAT: set --temp_dir". */
beam_status beam_spill_write(int fd, int64_t offset, const void *data, size_t len, const char *dir, const char *what,
                             beam_error *err);

/* Reads up to len bytes at offset into buf; *got < len only at the end of the file. */
beam_status beam_spill_read(int fd, int64_t offset, void *buf, size_t len, size_t *got, beam_error *err);

#endif
