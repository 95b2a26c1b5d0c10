/* How a file may be split into units of work (beam_input_splittable, input.h), and the
 * quoted-newline check a CSV file needs before it is read by byte ranges. */
#include <stdlib.h>
#include <string.h>

#include "beam/transforms/gzip_source.h"
#include "beam/transforms/input.h"
#include "beam/transforms/zip_reader.h"
#include "input_format.h"
#include "peek_source.h"

enum { SNIFF_CAP = 64 * 1024 };

beam_status beam_input_sniff_start(beam_byte_source *src, beam_input_sniff *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  out->first = -1;
  uint8_t *buf = malloc(SNIFF_CAP);
  if (!buf) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
  uint64_t before = src->bytes_read;
  size_t got = 0;
  beam_status st = beam_byte_source_read_at(src, 0, buf, SNIFF_CAP, &got, err);
  src->bytes_read = before; /* a sniff is not progress */
  if (st == BEAM_OK) {
    out->gzip = beam_gzip_magic(buf, got);
    out->zip = beam_zip_magic(buf, got);
    out->cr_only = beam_cr_only_lines(buf, got);
    size_t i = got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < got && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
    if (i < got) out->first = buf[i];
  }
  free(buf);
  return st;
}

/* The archive's file entries and their uncompressed bytes. */
static void count_zip_files(const beam_zip_reader *z, beam_input_split_info *out) {
  for (size_t i = 0; i < beam_zip_count(z); i++) {
    const beam_zip_entry *e = beam_zip_entry_at(z, i);
    if (!beam_input_zip_entry_is_file(e->name, e->is_dir)) continue;
    out->members++;
    out->content_size += (int64_t)e->uncompressed_size;
  }
}

beam_status beam_input_splittable_source(beam_byte_source *src, const beam_input_options *opts,
                                         beam_input_split_info *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_input_options def;
  if (!opts) {
    beam_input_options_init(&def);
    opts = &def;
  }
  out->size = src->size;
  out->format = BEAM_INPUT_FORMAT_AUTO;
  beam_status st = BEAM_OK;
  if (!beam_byte_source_seekable(src) || !src->ops->seek || src->size < 0) {
    out->reason = "not a regular file (no size or cannot seek)";
  } else {
    beam_input_sniff sn;
    beam_name_kind kind = beam_input_name_kind(src->name);
    if ((st = beam_input_sniff_start(src, &sn, err)) != BEAM_OK) {
      beam_byte_source_close(src);
      return st;
    }
    if (kind == BEAM_NAME_ZIP || sn.zip) {
      beam_zip_reader *z = NULL;
      st = beam_zip_open(src, &z, err); /* owns src from here, even on failure */
      if (st == BEAM_OK) {
        out->kind = BEAM_INPUT_SPLIT_MEMBERS;
        count_zip_files(z, out);
      }
      beam_zip_close(z);
      return st;
    }
    if (sn.gzip) {
      out->reason = "gzip-compressed (a gzip stream cannot be entered mid-way)";
    } else {
      out->format = beam_input_resolve_format(opts->format, kind, sn.first);
      if (out->format == BEAM_INPUT_FORMAT_JSONL && sn.first == '[')
        out->reason = "a JSON array document, not JSON Lines";
      else if (sn.cr_only)
        out->reason = "lines end in CR alone (classic Mac line endings)";
      else
        out->kind = BEAM_INPUT_SPLIT_BYTES;
    }
  }
  beam_byte_source_close(src);
  return st;
}

static beam_status open_path(const char *path, beam_byte_source **src, beam_error *err) {
  if (!path || !*path) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "empty input path");
  return strncmp(path, "gs://", 5) == 0 ? beam_gcs_source_open(path, src, err)
                                        : beam_file_source_open(path, src, err);
}

beam_status beam_input_splittable(const char *path, const beam_input_options *opts,
                                  beam_input_split_info *out, beam_error *err) {
  memset(out, 0, sizeof *out);
  beam_byte_source *src = NULL;
  beam_status st = open_path(path, &src, err);
  if (st != BEAM_OK) return st;
  return beam_input_splittable_source(src, opts, out, err);
}

beam_status beam_input_zip_ranges(const char *path, int64_t start, int64_t end, int64_t split_size,
                                  beam_byte_range **out, size_t *n, beam_error *err) {
  *out = NULL;
  *n = 0;
  beam_byte_source *src = NULL;
  beam_zip_reader *z = NULL;
  beam_status st = open_path(path, &src, err);
  if (st == BEAM_OK) st = beam_zip_open(src, &z, err); /* owns src from here, even on failure */
  if (st == BEAM_OK) st = beam_zip_plan_ranges(z, start, end, split_size, out, n, err);
  beam_zip_close(z);
  return st;
}

beam_status beam_input_find_quoted_newline(const char *path, const beam_input_options *opts,
                                           int64_t *offset, beam_error *err) {
  *offset = -1;
  beam_input_options def;
  if (!opts) {
    beam_input_options_init(&def);
    opts = &def;
  }
  beam_byte_source *src = NULL;
  beam_status st = open_path(path, &src, err);
  if (st != BEAM_OK) return st;
  beam_csv_options co = opts->csv;
  if (!co.delimiter) co.delimiter = beam_input_name_kind(src->name) == BEAM_NAME_TSV ? '\t' : ',';
  st = beam_csv_find_quoted_newline(src, &co, offset, err);
  beam_byte_source_close(src);
  return st;
}
