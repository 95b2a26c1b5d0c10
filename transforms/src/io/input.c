/* beam_input: file -> (zip member ->) gunzip -> format reader -> records (see input.h). */
#include "beam/transforms/input.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beam/transforms/gzip_source.h"
#include "beam/transforms/jsonl_reader.h"
#include "beam/transforms/line_reader.h"
#include "beam/transforms/zip_reader.h"
#include "input_format.h"
#include "peek_source.h"
#include "range_source.h"

struct beam_input {
  beam_input_options opts;
  const beam_etl_schema *schema;
  beam_byte_source *raw;    /* the file or object (borrowed: the zip or stream chain owns it) */
  uint64_t raw_bytes;       /* raw->bytes_read once the plain file is closed */
  int64_t raw_size;
  beam_zip_reader *zip;
  size_t next_member;
  /* A byte range of a ZIP: the entries whose local header lies in it, in header order (else
   * every entry, in central-directory order). */
  bool zip_range;
  size_t *range_members, n_range_members;
  int64_t member_offset; /* the local header of the member being read */
  beam_byte_source *stream; /* the decoded stream being read, owned */
  beam_input_format format; /* of stream */
  beam_csv_reader *csv;
  beam_jsonl_reader *jsonl;
  beam_line_reader *lines;
  bool done;
  bool split_refused; /* the CSV reader refused a byte range (a newline inside quotes) */
  int64_t records, bad_records, members;
  int64_t entries; /* ZIP entries that are files (read or reported as unsupported) */
  struct timespec started;
};

static char empty_text[1] = "";

void beam_input_options_init(beam_input_options *o) {
  memset(o, 0, sizeof *o);
  o->format = BEAM_INPUT_FORMAT_AUTO;
  beam_csv_options_init(&o->csv);
  o->csv.delimiter = 0; /* ',' unless the name says .tsv */
}

static void close_stream(beam_input *in) {
  if (!in->zip && in->raw) {
    /* A plain file is owned by the stream chain: keep its count, drop the view. */
    in->raw_bytes = in->raw->bytes_read;
    in->raw = NULL;
  }
  beam_csv_reader_close(in->csv);
  beam_jsonl_reader_close(in->jsonl);
  beam_line_reader_close(in->lines);
  in->csv = NULL;
  in->jsonl = NULL;
  in->lines = NULL;
  beam_byte_source_close(in->stream);
  in->stream = NULL;
}

const beam_byte_source *beam_input_source(const beam_input *in) { return in->raw; }

void beam_input_close(beam_input *in) {
  if (!in) return;
  close_stream(in);
  beam_zip_close(in->zip);
  free(in->range_members);
  free(in);
}

/* Opens the format reader over s (owned from here on), a file or a ZIP member. */
static beam_status open_stream(beam_input *in, beam_byte_source *s, beam_error *err) {
  beam_name_kind kind = beam_input_name_kind(s->name);
  beam_byte_source *gz = NULL;
  int first = -1;
  bool cr_only = false;
  beam_status st = beam_gzip_detect_open(s, &gz, NULL, err);
  /* One look ahead: the format of a name that does not tell it, and lines ending in CR
   * alone, which reach the readers as LF lines at the same offsets. */
  if (st == BEAM_OK) st = beam_peek_source_open(gz, &in->stream, &first, &cr_only, err);
  if (st != BEAM_OK) {
    if (!in->zip) in->raw = NULL; /* the failed open closed the file with its chain */
    return st;
  }
  beam_input_format f = in->opts.format;
  if (f == BEAM_INPUT_FORMAT_AUTO) {
    if (kind == BEAM_NAME_CSV || kind == BEAM_NAME_TSV) f = BEAM_INPUT_FORMAT_CSV;
    else if (kind == BEAM_NAME_JSONL) f = BEAM_INPUT_FORMAT_JSONL;
    else f = first == '{' ? BEAM_INPUT_FORMAT_JSONL : BEAM_INPUT_FORMAT_CSV;
  }
  in->format = f;
  size_t bs = in->opts.buffer_size, mr = in->opts.max_record;
  switch (f) {
    case BEAM_INPUT_FORMAT_CSV: {
      beam_csv_options co = in->opts.csv;
      if (!co.delimiter) co.delimiter = kind == BEAM_NAME_TSV ? '\t' : ',';
      return beam_csv_reader_open(in->stream, &co, in->schema, bs, mr, &in->csv, err);
    }
    case BEAM_INPUT_FORMAT_JSONL:
      return beam_jsonl_reader_open(in->stream, in->schema, bs, mr, &in->jsonl, err);
    default:
      return beam_line_reader_open(in->stream, bs, mr, &in->lines, err);
  }
}

static beam_status lines_next(beam_input *in, beam_arena *arena, beam_etl_record *rec,
                              beam_read_result *res, beam_error *err) {
  char *line;
  size_t len;
  int64_t lineno;
  bool eof;
  beam_status st = beam_line_reader_next(in->lines, &line, &len, &lineno, &eof, err);
  if (st != BEAM_OK) return st;
  if (eof) {
    *res = BEAM_READ_EOF;
    return BEAM_OK;
  }
  size_t n = in->schema ? in->schema->n_fields : 0;
  char *mem = beam_arena_alloc(arena, n * sizeof(beam_etl_cell) + len + 1);
  if (!mem) return beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", in->stream->name);
  beam_etl_cell *cells = (beam_etl_cell *)(void *)mem;
  char *text = mem + n * sizeof(beam_etl_cell);
  memcpy(text, line, len + 1);
  for (size_t i = 0; i < n; i++) cells[i] = (beam_etl_cell){BEAM_ETL_CELL_ABSENT, empty_text, 0};
  if (n) cells[0] = (beam_etl_cell){BEAM_ETL_CELL_TEXT, text, len};
  rec->schema = in->schema;
  rec->cells = cells;
  rec->origin.source = in->stream->name;
  rec->origin.line = lineno;
  rec->origin.raw.data = (const uint8_t *)text;
  rec->origin.raw.len = len;
  rec->origin.offset = (int64_t)beam_line_reader_offset(in->lines);
  *res = BEAM_READ_RECORD;
  return BEAM_OK;
}

/* Moves to the next ZIP member with a reader. Unsupported members come back as a bad
 * record (*res set); *res stays EOF when there are no more members. */
static beam_status next_member(beam_input *in, beam_arena *arena, beam_etl_record *rec,
                               beam_read_result *res, beam_etl_parse_error *perr,
                               beam_error *err) {
  *res = BEAM_READ_EOF;
  size_t count = in->zip_range ? in->n_range_members : beam_zip_count(in->zip);
  while (in->next_member < count) {
    size_t at = in->next_member++;
    size_t i = in->zip_range ? in->range_members[at] : at;
    const beam_zip_entry *e = beam_zip_entry_at(in->zip, i);
    if (!beam_input_zip_entry_is_file(e->name, e->is_dir)) continue;
    in->entries++;
    if (in->opts.zip_member && (size_t)in->entries != in->opts.zip_member) continue;
    in->member_offset = (int64_t)e->local_header_offset;
    beam_name_kind kind = beam_input_name_kind(e->name);
    if (kind == BEAM_NAME_UNKNOWN || kind == BEAM_NAME_ZIP) {
      size_t n = in->schema ? in->schema->n_fields : 0;
      beam_etl_cell *cells = n ? beam_arena_calloc(arena, n, sizeof *cells) : NULL;
      if (n && !cells) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
      for (size_t k = 0; k < n; k++) cells[k].data = empty_text;
      rec->schema = in->schema;
      rec->cells = cells;
      rec->origin.source = e->display_name;
      rec->origin.line = 0;
      rec->origin.raw.data = (const uint8_t *)empty_text;
      rec->origin.raw.len = 0;
      rec->origin.offset = 0;
      beam_etl_parse_error_set(perr, 0, NULL, 0,
                               "unsupported file in archive: '%s' (expected .csv, .tsv, .jsonl, "
                               ".json, .ndjson or .txt, optionally gzipped)",
                               e->name);
      *res = BEAM_READ_BAD_RECORD;
      return BEAM_OK;
    }
    beam_byte_source *m = NULL;
    beam_status st = beam_zip_open_member(in->zip, i, &m, err);
    if (st != BEAM_OK) return st;
    in->members++;
    st = open_stream(in, m, err);
    if (st != BEAM_OK) return st;
    return BEAM_OK;
  }
  in->done = true;
  if (in->zip_range) return BEAM_OK; /* a range may hold no member */
  /* An archive without a single file is not an empty load but a wrong or broken upload. */
  if (!in->entries) return beam_error_set(err, BEAM_ERR_MALFORMED, "the ZIP archive holds no files");
  if (in->opts.zip_member > (size_t)in->entries)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: member %zu asked for, the archive holds %lld files",
                          beam_zip_name(in->zip), in->opts.zip_member, (long long)in->entries);
  return BEAM_OK;
}

beam_status beam_input_next(beam_input *in, beam_arena *arena, beam_etl_record *rec,
                            beam_read_result *res, beam_etl_parse_error *perr,
                            beam_error *err) {
  *res = BEAM_READ_EOF;
  beam_etl_parse_error_clear(perr);
  for (;;) {
    if (in->done) return BEAM_OK;
    beam_status st;
    if (!in->stream) {
      if (!in->zip) {
        in->done = true;
        return BEAM_OK;
      }
      if ((st = next_member(in, arena, rec, res, perr, err)) != BEAM_OK) return st;
      if (*res == BEAM_READ_BAD_RECORD) {
        in->records++;
        in->bad_records++;
        rec->origin.member_offset = in->member_offset;
        return BEAM_OK;
      }
      if (in->done) return BEAM_OK;
    }
    if (in->csv) {
      st = beam_csv_reader_next(in->csv, arena, rec, res, perr, err);
      if (st != BEAM_OK && beam_csv_reader_split_refused(in->csv)) in->split_refused = true;
    } else if (in->jsonl) st = beam_jsonl_reader_next(in->jsonl, arena, rec, res, perr, err);
    else st = lines_next(in, arena, rec, res, err);
    if (st != BEAM_OK) return st;
    if (*res != BEAM_READ_EOF) {
      in->records++;
      if (*res == BEAM_READ_BAD_RECORD) in->bad_records++;
      rec->origin.member_offset = in->zip ? in->member_offset : -1;
      return BEAM_OK;
    }
    close_stream(in);
    if (!in->zip) in->done = true;
  }
}

void beam_input_get_stats(const beam_input *in, beam_input_stats *stats) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  stats->records = in->records;
  stats->bad_records = in->bad_records;
  stats->bytes_read = in->raw ? in->raw->bytes_read : in->raw_bytes;
  stats->size = in->raw_size;
  stats->members = in->members;
  stats->split_refused = in->split_refused;
  stats->elapsed_seconds = (double)(now.tv_sec - in->started.tv_sec) +
                           (double)(now.tv_nsec - in->started.tv_nsec) / 1e9;
}

/* Whether opts ask for less than the whole file (a whole-file range reads as unsplit). */
static bool is_ranged(const beam_input_options *o, int64_t size) {
  return o->range_start > 0 || (o->range_end > 0 && (size < 0 || o->range_end < size));
}

/* Refuses what a byte range cannot read (what beam_input_splittable calls WHOLE), says
 * whether the file is a ZIP archive (*zip, read by member) and otherwise resolves the format
 * from the file's first bytes, as the unsplit input does. */
static beam_status check_range(const beam_input *in, beam_byte_source *src, beam_name_kind kind,
                               beam_input_format *f, bool *zip, beam_error *err) {
  *zip = false;
  if (in->opts.range_start < 0)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "%s: negative range start %lld", src->name,
                          (long long)in->opts.range_start);
  if (!beam_byte_source_seekable(src) || !src->ops->seek)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED, "%s: a byte range needs a seekable file", src->name);
  beam_input_sniff sn;
  beam_status st = beam_input_sniff_start(src, &sn, err);
  if (st != BEAM_OK) return st;
  if (kind == BEAM_NAME_ZIP || sn.zip) {
    *zip = true;
    return BEAM_OK;
  }
  if (sn.gzip)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                          "%s: a gzip file cannot be read by byte range: read it whole", src->name);
  if (sn.cr_only)
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                          "%s: lines that end in CR alone cannot be read by byte range: read it whole", src->name);
  *f = beam_input_resolve_format(in->opts.format, kind, sn.first);
  if (*f == BEAM_INPUT_FORMAT_JSONL && sn.first == '[')
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                          "%s: the input is a JSON array; expected JSON Lines (one JSON object per line)",
                          src->name);
  return BEAM_OK;
}

/* Opens the members of a ZIP whose local headers lie in the range (see input.h). Takes
 * ownership of src. */
static beam_status open_zip_range(beam_input *in, beam_byte_source *src, beam_error *err) {
  in->zip_range = true;
  beam_status st = beam_zip_open(src, &in->zip, err); /* owns src from here, even on failure */
  if (st != BEAM_OK) return st;
  in->raw = beam_zip_archive(in->zip);
  in->raw->bytes_read = 0; /* the central directory is not progress: members' bytes are */
  int64_t end = in->opts.range_end > 0 ? in->opts.range_end : -1;
  return beam_zip_members_in(in->zip, in->opts.range_start, end, &in->range_members, &in->n_range_members, err);
}

/* Opens the reader of one byte range of a plain file (see input.h). Takes ownership of src
 * (in->stream owns it, or it is closed here on failure). A CSV header is read, and checked,
 * here rather than on the first next. */
static beam_status open_range(beam_input *in, beam_byte_source *src, beam_error *err) {
  beam_name_kind kind = beam_input_name_kind(src->name);
  beam_input_format f = BEAM_INPUT_FORMAT_CSV;
  bool zip = false;
  beam_status st = check_range(in, src, kind, &f, &zip, err);
  if (st != BEAM_OK) {
    beam_byte_source_close(src);
    return st;
  }
  if (zip) return open_zip_range(in, src, err);
  in->raw = src;
  in->stream = src; /* owned through in->stream from here on */
  in->format = f;
  uint64_t start = (uint64_t)in->opts.range_start;
  uint64_t end = in->opts.range_end > 0 ? (uint64_t)in->opts.range_end : BEAM_RANGE_NO_END;
  size_t bs = in->opts.buffer_size, mr = in->opts.max_record;
  beam_csv_options co = in->opts.csv;
  if (!co.delimiter) co.delimiter = kind == BEAM_NAME_TSV ? '\t' : ',';
  if (f == BEAM_INPUT_FORMAT_CSV && co.header && start > 0) {
    /* Every range knows the header, read from the file's start; none returns it as data. */
    uint64_t header_end = 0;
    if ((st = beam_csv_reader_open(src, &co, in->schema, bs, mr, &in->csv, err)) != BEAM_OK ||
        (st = beam_csv_reader_read_header(in->csv, &header_end, err)) != BEAM_OK)
      return st;
    if (header_end > start) start = header_end;
  }
  uint64_t first = 0;
  in->stream = NULL;
  if ((st = beam_range_source_open(src, start, end, &in->stream, &first, err)) != BEAM_OK) {
    in->raw = NULL; /* closed with src */
    return st;
  }
  switch (f) {
    case BEAM_INPUT_FORMAT_CSV:
      if (!in->csv && (st = beam_csv_reader_open(in->stream, &co, in->schema, bs, mr, &in->csv, err)) != BEAM_OK)
        return st;
      beam_csv_reader_read_range(in->csv, in->stream, first);
      return BEAM_OK;
    case BEAM_INPUT_FORMAT_JSONL:
      if ((st = beam_jsonl_reader_open(in->stream, in->schema, bs, mr, &in->jsonl, err)) != BEAM_OK) return st;
      beam_jsonl_reader_start_at(in->jsonl, first);
      return BEAM_OK;
    default:
      if ((st = beam_line_reader_open(in->stream, bs, mr, &in->lines, err)) != BEAM_OK) return st;
      beam_line_reader_start_at(in->lines, first);
      return BEAM_OK;
  }
}

beam_status beam_input_open_source(beam_byte_source *src, const beam_input_options *opts,
                                   const beam_etl_schema *schema, beam_input **out,
                                   beam_error *err) {
  *out = NULL;
  beam_input *in = calloc(1, sizeof *in);
  if (!in) {
    beam_status st = beam_error_set(err, BEAM_ERR_NOMEM, "%s: out of memory", src->name);
    beam_byte_source_close(src);
    return st;
  }
  clock_gettime(CLOCK_MONOTONIC, &in->started);
  if (opts) in->opts = *opts;
  else beam_input_options_init(&in->opts);
  in->schema = schema;
  in->raw_size = src->size;
  beam_status st = BEAM_OK;
  if (is_ranged(&in->opts, src->size)) {
    if ((st = open_range(in, src, err)) != BEAM_OK) {
      beam_input_close(in);
      return st;
    }
    *out = in;
    return BEAM_OK;
  }
  bool is_zip = beam_input_name_kind(src->name) == BEAM_NAME_ZIP;
  if (!is_zip && beam_byte_source_seekable(src)) {
    uint8_t magic[4];
    size_t got = 0;
    st = beam_byte_source_read_at(src, 0, magic, sizeof magic, &got, err);
    if (st != BEAM_OK) {
      beam_byte_source_close(src);
      free(in);
      return st;
    }
    is_zip = beam_zip_magic(magic, got);
    src->bytes_read = 0; /* the sniff is not progress */
  }
  if (is_zip) {
    st = beam_zip_open(src, &in->zip, err); /* owns src from here, even on failure */
    if (st == BEAM_OK) in->raw = beam_zip_archive(in->zip);
    if (st == BEAM_OK) in->raw->bytes_read = 0; /* the central directory is not progress */
  } else {
    /* The stream chain owns src from here; in->raw is a borrowed view for progress. */
    in->raw = src;
    st = open_stream(in, src, err);
  }
  if (st != BEAM_OK) {
    beam_input_close(in);
    return st;
  }
  *out = in;
  return BEAM_OK;
}

beam_status beam_input_open(const char *path, const beam_input_options *opts,
                            const beam_etl_schema *schema, beam_input **out, beam_error *err) {
  *out = NULL;
  if (!path || !*path) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "empty input path");
  beam_byte_source *src = NULL;
  beam_status st = strncmp(path, "gs://", 5) == 0 ? beam_gcs_source_open(path, &src, err)
                                                  : beam_file_source_open(path, &src, err);
  if (st != BEAM_OK) return st;
  return beam_input_open_source(src, opts, schema, out, err);
}
