/* The message ledger of an object-file sink's stream (object_ledger.h). */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "beam/log.h"
#include "beam/transforms/etl_time.h"
#include "object_ledger.h"
#include "object_ledger_segment.h"

/* Segments (object_ledger_segment.h): a process puts one for the markers it committed every
 * SEGMENT_MARKERS commits or SEGMENT_AGE_US, and, at its first read, for the markers it had to
 * read one by one when there were at least SEGMENT_MIN_READ of them (SEGMENT_MAX_READ a
 * segment). */
enum { SEGMENT_MARKERS = 1024, SEGMENT_MIN_READ = 32, SEGMENT_MAX_READ = 4096 };
#define SEGMENT_AGE_US (INT64_C(10) * 60 * 1000000)

/* ---- A set of unit digests ----------------------------------------------------------- */

enum { SLOT_EMPTY = 0, SLOT_COMMITTED, SLOT_CLAIMED, SLOT_GONE };

typedef struct unit_slot {
  uint8_t digest[16];
  int64_t at_us; /* when it was committed (its marker's instant) */
  uint8_t state;
} unit_slot;

typedef struct unit_set {
  unit_slot *slots;
  size_t n_slots; /* a power of two */
  size_t used;    /* slots not empty (gone ones too: they lengthen probes) */
  size_t committed;
  int64_t keep_us; /* committed units older than this are dropped when the set grows; 0: kept */
} unit_set;


static void digest_of(const char *key, uint8_t out[16]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL);
  memcpy(out, md, 16);
}

/* The slot holding d, or the empty one where it would go. */
static unit_slot *set_slot(const unit_set *s, const uint8_t d[16]) {
  uint64_t h;
  memcpy(&h, d, sizeof h);
  for (size_t i = (size_t)h & (s->n_slots - 1);; i = (i + 1) & (s->n_slots - 1)) {
    unit_slot *slot = &s->slots[i];
    if (slot->state == SLOT_EMPTY || memcmp(slot->digest, d, 16) == 0) return slot;
  }
}

/* Whether a slot survives a rehash: claimed, or committed within keep_us (a long run's set
 * forgets its old units as it grows: sink.h, message_ledger_days). */
static bool slot_kept(const unit_set *s, const unit_slot *slot, int64_t now) {
  if (slot->state == SLOT_CLAIMED) return true;
  return slot->state == SLOT_COMMITTED && (!s->keep_us || now - slot->at_us <= s->keep_us);
}

/* Rehashes the kept slots into a table at most a quarter full. */
static bool set_grow(unit_set *s) {
  int64_t now = beam_etl_now_micros();
  size_t live = 0;
  for (size_t i = 0; i < s->n_slots; i++) live += slot_kept(s, &s->slots[i], now);
  size_t n = 1024;
  while (n < 4 * (live + 1)) n *= 2;
  unit_set grown = {calloc(n, sizeof(unit_slot)), n, 0, 0, s->keep_us};
  if (!grown.slots) return false;
  for (size_t i = 0; i < s->n_slots; i++) {
    const unit_slot *old = &s->slots[i];
    if (!slot_kept(s, old, now)) continue;
    *set_slot(&grown, old->digest) = *old;
    grown.used++;
    grown.committed += old->state == SLOT_COMMITTED;
  }
  free(s->slots);
  *s = grown;
  return true;
}

/* The slot of d, made (state SLOT_GONE) when absent; NULL when out of memory. */
static unit_slot *set_take(unit_set *s, const uint8_t d[16]) {
  if ((s->used + 1) * 2 > s->n_slots && !set_grow(s)) return NULL;
  unit_slot *slot = set_slot(s, d);
  if (slot->state == SLOT_EMPTY) {
    memcpy(slot->digest, d, 16);
    slot->state = SLOT_GONE;
    s->used++;
  }
  return slot;
}

static int set_state(const unit_set *s, const uint8_t d[16]) {
  return s->n_slots ? set_slot(s, d)->state : SLOT_EMPTY;
}

/* ---- The registry of this process's ledgers ------------------------------------------ */

struct beam_object_ledger {
  char *root;
  int refs;
  unit_set units;
  beam_ledger_marker *fresh; /* committed by this process since its last segment */
  size_t n_fresh, cap_fresh;
  beam_object_ledger *next;
};

/* One lock for the registry and every ledger: a stream bundle takes it twice (a lookup, a
 * claim) and once more to settle, for set probes only (digests are computed before). The
 * first acquire of a destination reads its markers under it: other threads wait then, at
 * start. */
static pthread_mutex_t ledgers_lock = PTHREAD_MUTEX_INITIALIZER;
static beam_object_ledger *ledgers;

/* ---- Reading the markers --------------------------------------------------------------- */

typedef struct marker_names {
  char **names;
  size_t n, cap;
} marker_names;

static bool ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

/* A stream bundle's marker is named ".bundles/s<16 hex digits: its commit's instant in us>..."
 * (sink_objects.c); file bundles' markers are never read here. */
static bool stream_marker(const char *name) {
  const char *h = name + strlen(BEAM_OBJECT_LEDGER_FOLDER);
  return h[0] == 's' && strlen(h) > 17;
}

static beam_status collect_marker(void *ctx, const char *name, beam_error *err) {
  marker_names *m = ctx;
  bool marker = (ends_with(name, ".committed") || ends_with(name, ".pending")) && stream_marker(name);
  if (!marker && !beam_ledger_segment_name(name)) return BEAM_OK;
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    char **grown = realloc(m->names, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    m->names = grown;
    m->cap = cap;
  }
  if (!(m->names[m->n] = strdup(name))) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  m->n++;
  return BEAM_OK;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool has_name(const marker_names *m, const char *name) {
  return bsearch(&name, m->names, m->n, sizeof *m->names, by_name) != NULL;
}

/* A marker's JSON; NULL (and *s set) when it cannot be read. A marker gone since the listing
 * (another instance's tidying) is an empty object. */
static json_t *marker_load(beam_object_store *store, const char *name, beam_status *s, beam_error *err) {
  beam_buf text = BEAM_BUF_INIT;
  *s = store->ops->get(store, name, &text, err);
  json_t *root = NULL;
  if (*s == BEAM_ERR_NOT_FOUND) *s = BEAM_OK, root = json_object();
  else if (*s == BEAM_OK && !(root = json_loadb((const char *)text.data, text.len, 0, NULL)))
    *s = beam_error_set(err, BEAM_ERR_MALFORMED, "%s/%s: not a bundle marker (not JSON)", store->root, name);
  beam_buf_free(&text);
  return root;
}

/* Adds units (a JSON array) committed at at_us to the set. */
static beam_status add_units(beam_object_ledger *l, const json_t *units, int64_t at_us, beam_error *err) {
  size_t i;
  json_t *unit;
  json_array_foreach(units, i, unit) {
    if (!json_is_string(unit)) continue;
    uint8_t d[16];
    digest_of(json_string_value(unit), d);
    unit_slot *slot = set_take(&l->units, d);
    if (!slot) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    if (slot->state != SLOT_COMMITTED) slot->state = SLOT_COMMITTED, l->units.committed++;
    slot->at_us = at_us;
  }
  return BEAM_OK;
}

/* Reads committed marker name into the set, and into *kept (for a segment) unless it expired
 * or could not be read. */
static beam_status add_committed(beam_object_ledger *l, beam_object_store *store, const char *name,
                                 int64_t forget_before_us, beam_ledger_marker *kept, beam_error *err) {
  beam_status s;
  *kept = (beam_ledger_marker){0};
  json_t *root = marker_load(store, name, &s, err);
  const json_t *at = json_object_get(root, "committed_us");
  if (s != BEAM_OK || (forget_before_us && json_is_integer(at) && json_integer_value(at) < forget_before_us)) {
    json_decref(root);
    return s;
  }
  int64_t committed_at = json_is_integer(at) ? (int64_t)json_integer_value(at) : beam_etl_now_micros();
  json_t *units = json_object_get(root, "units");
  s = add_units(l, units, committed_at, err);
  if (s == BEAM_OK && json_is_array(units) && (kept->name = strdup(name)))
    kept->committed_us = committed_at, kept->units = json_incref(units);
  json_decref(root);
  return s;
}

/* ---- Whose commit a pending marker is ---------------------------------------------------- */

static char owner_token[128];
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

/* A process's start time (clock ticks since boot, /proc/PID/stat field 22), or -1. */
static long long process_start(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
  long long start = -1;
  for (int field = 2; p && *p; p++)
    if (*p == ' ' && ++field == 22) {
      start = strtoll(p + 1, NULL, 10);
      break;
    }
  return start;
}

static void owner_init(void) {
  char boot[64] = "";
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (f) {
    if (!fgets(boot, sizeof boot, f)) boot[0] = '\0';
    fclose(f);
  }
  boot[strcspn(boot, "\n")] = '\0';
  long long start = process_start((long)getpid());
  if (boot[0] && start >= 0) snprintf(owner_token, sizeof owner_token, "%s:%ld:%lld", boot, (long)getpid(), start);
}

const char *beam_object_ledger_owner(void) {
  pthread_once(&owner_once, owner_init);
  return owner_token;
}

/* Whether the commit that wrote marker can still complete: its process is alive on this
 * machine (boot id, pid and start time match), or it is on another machine (or from before a
 * reboot) and its marker is younger than STALE_PENDING_US. A marker without an owner (an
 * earlier release) is dead. */
#define STALE_PENDING_US (INT64_C(10) * 60 * 1000000)

static bool commit_may_be_alive(const json_t *marker) {
  const char *owner = json_string_value(json_object_get(marker, "owner"));
  if (!owner || !owner[0]) return false;
  const char *mine = beam_object_ledger_owner();
  const char *colon = strchr(owner, ':');
  size_t boot_len = colon ? (size_t)(colon - owner) : 0;
  if (colon && mine[0] && strncmp(owner, mine, boot_len) == 0 && mine[boot_len] == ':') {
    long pid = 0;
    long long start = -1;
    return sscanf(colon + 1, "%ld:%lld", &pid, &start) == 2 && pid > 0 && process_start(pid) == start;
  }
  int64_t since = (int64_t)json_integer_value(json_object_get(marker, "pending_us"));
  return beam_etl_now_micros() - since < STALE_PENDING_US;
}

/* A stream bundle's pending marker without its committed one: when its commit died (or can
 * no longer complete) its parts and the marker go; a commit another live process is making
 * is left alone. A file bundle's (no "units") is left for its retry, which takes its hour. */
static beam_status roll_back(beam_object_store *store, const char *name, beam_error *err) {
  beam_status s;
  json_t *root = marker_load(store, name, &s, err);
  if (s != BEAM_OK || !json_is_array(json_object_get(root, "units")) || commit_may_be_alive(root)) {
    json_decref(root);
    return s;
  }
  size_t i;
  json_t *part;
  json_array_foreach(json_object_get(root, "parts"), i, part) {
    if (!json_is_string(part)) continue;
    s = store->ops->remove(store, json_string_value(part), err);
    if (s == BEAM_ERR_NOT_FOUND) s = BEAM_OK;
    if (s != BEAM_OK) break;
  }
  if (s == BEAM_OK) {
    beam_log(BEAM_LOG_INFO, "%s: rolled back %s (a stream bundle whose commit did not complete; its messages come "
             "again)", store->root, name);
    s = store->ops->remove(store, name, err);
    if (s == BEAM_ERR_NOT_FOUND) s = BEAM_OK;
  }
  json_decref(root);
  return s;
}

/* What the first read gathers: the markers the segments name (sorted digests of their
 * names, so that they are not read again) and the markers read one by one (for a segment). */
typedef struct read_state {
  beam_object_ledger *l;
  int64_t forget_before_us;
  uint8_t (*covered)[16];
  size_t n_covered, cap_covered;
  beam_ledger_marker *read;
  size_t n_read, cap_read;
} read_state;

static beam_status segment_marker(void *ctx, const beam_ledger_marker *m, beam_error *err) {
  read_state *r = ctx;
  if (r->n_covered == r->cap_covered) {
    size_t cap = r->cap_covered ? 2 * r->cap_covered : 1024;
    uint8_t (*grown)[16] = realloc(r->covered, cap * sizeof *grown);
    if (!grown) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    r->covered = grown;
    r->cap_covered = cap;
  }
  digest_of(m->name, r->covered[r->n_covered++]);
  if (r->forget_before_us && m->committed_us < r->forget_before_us) return BEAM_OK;
  return add_units(r->l, m->units, m->committed_us, err);
}

/* A segment only repeats committed markers: one that cannot be read is passed over (its
 * markers are then read one by one; units it gave before failing are commits all the same). */
static beam_status read_segment(beam_object_store *store, const char *name, read_state *r, beam_error *err) {
  size_t covered_before = r->n_covered;
  beam_error why = {0};
  beam_status s = beam_ledger_segment_read(store, name, segment_marker, r, &why);
  if (s == BEAM_ERR_NOMEM) return beam_error_set(err, s, "%s", why.message);
  if (s != BEAM_OK) {
    beam_log(BEAM_LOG_WARN, "%s: ledger segment %s passed over, its markers are read instead (%s)", store->root, name,
             why.message);
    r->n_covered = covered_before;
  }
  return BEAM_OK;
}

static int by_digest(const void *a, const void *b) { return memcmp(a, b, 16); }

static bool covered(const read_state *r, const char *name) {
  uint8_t d[16];
  digest_of(name, d);
  return r->n_covered && bsearch(d, r->covered, r->n_covered, 16, by_digest) != NULL;
}

static beam_status keep_read(read_state *r, beam_ledger_marker *m, beam_error *err) {
  if (!m->name) return BEAM_OK;
  if (r->n_read == r->cap_read) {
    size_t cap = r->cap_read ? 2 * r->cap_read : 64;
    beam_ledger_marker *grown = realloc(r->read, cap * sizeof *grown);
    if (!grown) {
      beam_ledger_markers_clear(m, 1);
      return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
    r->read = grown;
    r->cap_read = cap;
  }
  r->read[r->n_read++] = *m;
  return BEAM_OK;
}

/* Segments of the markers read one by one, so that the next first read GETs them in bulk.
 * Best effort: a segment not put costs the next reader GETs, not units. */
static void put_read_segments(beam_object_store *store, read_state *r) {
  if (r->n_read < SEGMENT_MIN_READ) return;
  for (size_t at = 0; at < r->n_read; at += SEGMENT_MAX_READ) {
    size_t n = r->n_read - at < SEGMENT_MAX_READ ? r->n_read - at : SEGMENT_MAX_READ;
    beam_error err = {0};
    if (beam_ledger_segment_put(store, r->read + at, n, &err) != BEAM_OK) {
      beam_log(BEAM_LOG_WARN, "%s: the message ledger's markers stay unsegmented (%s)", store->root, err.message);
      return;
    }
  }
}

/* Lists the ledger objects named "<folder><letter><16 hex digits: an instant>..." from the
 * instant from_us on (0: all of them): the names of other letters (file bundles' markers are
 * hex digits), and the instants before, are not even sent. */
static beam_status list_stamped(beam_object_store *store, char letter, int64_t from_us, marker_names *m,
                                beam_error *err) {
  char from[64], to[64];
  snprintf(from, sizeof from, "%s%c%016llx", BEAM_OBJECT_LEDGER_FOLDER, letter, (unsigned long long)from_us);
  snprintf(to, sizeof to, "%s%c", BEAM_OBJECT_LEDGER_FOLDER, letter + 1);
  return store->ops->list(store, BEAM_OBJECT_LEDGER_FOLDER, from, to, collect_marker, m, err);
}

static beam_status ledger_read(beam_object_ledger *l, beam_object_store *store, int64_t forget_before_us,
                               beam_error *err) {
  l->units.keep_us = forget_before_us ? beam_etl_now_micros() - forget_before_us : 0;
  marker_names m = {0};
  read_state r = {.l = l, .forget_before_us = forget_before_us};
  /* Segments ("k" and the newest instant they hold) and stream markers ("s" and their
   * commit's instant) of the last message_ledger_days: a start lists what it may use. */
  int64_t from = forget_before_us > 0 ? forget_before_us : 0;
  beam_status s = list_stamped(store, 'k', from, &m, err);
  if (s == BEAM_OK) s = list_stamped(store, 's', from, &m, err);
  if (s == BEAM_OK && m.n) qsort(m.names, m.n, sizeof *m.names, by_name);
  for (size_t i = 0; s == BEAM_OK && i < m.n; i++) /* segments first: the markers they name are not read */
    if (beam_ledger_segment_name(m.names[i]) &&
        !(forget_before_us && beam_ledger_name_stamp(m.names[i]) < forget_before_us))
      s = read_segment(store, m.names[i], &r, err);
  if (s == BEAM_OK && r.n_covered) qsort(r.covered, r.n_covered, 16, by_digest);
  char twin[1024];
  for (size_t i = 0; s == BEAM_OK && i < m.n; i++) {
    const char *name = m.names[i];
    if (beam_ledger_segment_name(name)) continue;
    if (ends_with(name, ".committed")) {
      bool expired = forget_before_us && beam_ledger_name_stamp(name) < forget_before_us; /* not even read */
      if (expired || covered(&r, name)) continue;
      beam_ledger_marker kept;
      s = add_committed(l, store, name, forget_before_us, &kept, err);
      if (s == BEAM_OK) s = keep_read(&r, &kept, err);
      continue;
    }
    snprintf(twin, sizeof twin, "%.*s.committed", (int)(strlen(name) - strlen(".pending")), name);
    if (!has_name(&m, twin)) s = roll_back(store, name, err);
  }
  if (s == BEAM_OK) put_read_segments(store, &r);
  beam_ledger_markers_clear(r.read, r.n_read);
  free(r.read);
  free(r.covered);
  for (size_t i = 0; i < m.n; i++) free(m.names[i]);
  free(m.names);
  return s;
}

/* The destination's name for the registry: a directory's real path, so that "out" and "./out"
 * share one ledger (two would roll back each other's commits); a gs:// URI as it is. */
static char *destination_key(const beam_object_store *store) {
  char real[PATH_MAX];
  if (strncmp(store->root, "gs://", 5) != 0 && realpath(store->root, real)) return strdup(real);
  return strdup(store->root);
}

beam_status beam_object_ledger_acquire(beam_object_store *store, int64_t forget_before_us, beam_object_ledger **out,
                                       beam_error *err) {
  *out = NULL;
  char *key = destination_key(store);
  if (!key) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&ledgers_lock);
  beam_object_ledger *l = ledgers;
  while (l && strcmp(l->root, key) != 0) l = l->next;
  beam_status s = BEAM_OK;
  if (l) {
    l->refs++;
    free(key);
  } else if (!(l = calloc(1, sizeof *l)) || !(l->root = key)) {
    free(key);
    free(l);
    l = NULL;
    s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  } else if ((s = ledger_read(l, store, forget_before_us, err)) != BEAM_OK) {
    free(l->units.slots);
    free(l->root);
    free(l);
    l = NULL;
    beam_error_prefix(err, "reading the message ledger: ");
  } else {
    l->refs = 1;
    l->next = ledgers;
    ledgers = l;
  }
  pthread_mutex_unlock(&ledgers_lock);
  *out = l;
  return s;
}

void beam_object_ledger_release(beam_object_ledger *l) {
  if (!l) return;
  pthread_mutex_lock(&ledgers_lock);
  if (--l->refs == 0) {
    beam_object_ledger **at = &ledgers;
    while (*at != l) at = &(*at)->next;
    *at = l->next;
    beam_ledger_markers_clear(l->fresh, l->n_fresh);
    free(l->fresh);
    free(l->units.slots);
    free(l->root);
    free(l);
  }
  pthread_mutex_unlock(&ledgers_lock);
}

/* The units' digests, computed before the lock is taken (SHA-256 per key). NULL: no memory. */
static uint8_t (*digests_of(const char *const *keys, size_t n))[16] {
  uint8_t (*d)[16] = malloc((n ? n : 1) * sizeof *d);
  for (size_t i = 0; d && i < n; i++) digest_of(keys[i], d[i]);
  return d;
}

beam_status beam_object_ledger_find_many(beam_object_ledger *l, const char *const *keys, size_t n, bool *found,
                                         beam_error *err) {
  uint8_t (*d)[16] = digests_of(keys, n);
  if (!d) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_lock(&ledgers_lock);
  for (size_t i = 0; i < n; i++) found[i] = set_state(&l->units, d[i]) == SLOT_COMMITTED;
  pthread_mutex_unlock(&ledgers_lock);
  free(d);
  return BEAM_OK;
}

bool beam_object_ledger_any(beam_object_ledger *l) {
  pthread_mutex_lock(&ledgers_lock);
  bool any = l->units.committed > 0;
  pthread_mutex_unlock(&ledgers_lock);
  return any;
}

beam_status beam_object_ledger_claim(beam_object_ledger *l, const char *const *keys, size_t n, bool *all_committed,
                                     beam_error *err) {
  *all_committed = false;
  uint8_t (*d)[16] = digests_of(keys, n);
  if (!d) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  size_t committed = 0, busy = SIZE_MAX;
  pthread_mutex_lock(&ledgers_lock);
  for (size_t i = 0; i < n; i++) {
    int state = set_state(&l->units, d[i]);
    committed += state == SLOT_COMMITTED;
    if (state == SLOT_COMMITTED || state == SLOT_CLAIMED) busy = i;
  }
  beam_status s = BEAM_OK;
  if (n && committed == n) {
    *all_committed = true;
  } else if (busy != SIZE_MAX) {
    s = beam_error_set(err, BEAM_ERR_IO, "%s: message %s was committed by another bundle meanwhile", l->root, keys[busy]);
  } else {
    for (size_t i = 0; s == BEAM_OK && i < n; i++) {
      unit_slot *slot = set_take(&l->units, d[i]);
      if (slot) slot->state = SLOT_CLAIMED;
      else s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; s != BEAM_OK && i < n; i++) /* the claims made so far go */
      if (set_state(&l->units, d[i]) == SLOT_CLAIMED) set_slot(&l->units, d[i])->state = SLOT_GONE;
  }
  pthread_mutex_unlock(&ledgers_lock);
  free(d);
  return s;
}

void beam_object_ledger_settle(beam_object_ledger *l, const char *const *keys, size_t n, bool committed) {
  uint8_t (*d)[16] = digests_of(keys, n);
  uint8_t one[16];
  int64_t now = beam_etl_now_micros();
  pthread_mutex_lock(&ledgers_lock);
  for (size_t i = 0; i < n; i++) {
    const uint8_t *digest = d ? d[i] : (digest_of(keys[i], one), one); /* no memory: one at a time */
    unit_slot *slot = l->units.n_slots ? set_slot(&l->units, digest) : NULL;
    if (!slot || slot->state != SLOT_CLAIMED) continue;
    slot->state = committed ? SLOT_COMMITTED : SLOT_GONE;
    slot->at_us = now;
    l->units.committed += committed;
  }
  pthread_mutex_unlock(&ledgers_lock);
  free(d);
}

/* Appends a marker to l->fresh (under the lock); false when out of memory (the marker then
 * stays out of segments: read one by one later). */
static bool fresh_add(beam_object_ledger *l, const char *marker, int64_t committed_us, json_t *units) {
  if (l->n_fresh == l->cap_fresh) {
    size_t cap = l->cap_fresh ? 2 * l->cap_fresh : 64;
    beam_ledger_marker *grown = realloc(l->fresh, cap * sizeof *grown);
    if (!grown) return false;
    l->fresh = grown;
    l->cap_fresh = cap;
  }
  char *name = strdup(marker);
  if (!name) return false;
  l->fresh[l->n_fresh++] = (beam_ledger_marker){name, committed_us, units};
  return true;
}

void beam_object_ledger_note_commit(beam_object_ledger *l, beam_object_store *store, const char *marker,
                                    int64_t committed_us, const char *const *keys, size_t n) {
  json_t *units = json_array();
  for (size_t i = 0; units && i < n; i++)
    if (json_array_append_new(units, json_string(keys[i])) != 0) json_decref(units), units = NULL;
  if (!units) return;
  beam_ledger_marker *full = NULL;
  size_t n_full = 0;
  pthread_mutex_lock(&ledgers_lock);
  if (!fresh_add(l, marker, committed_us, units)) json_decref(units);
  if (l->n_fresh >= SEGMENT_MARKERS || (l->n_fresh && committed_us - l->fresh[0].committed_us >= SEGMENT_AGE_US)) {
    full = l->fresh, n_full = l->n_fresh; /* this thread puts them; the others go on */
    l->fresh = NULL, l->n_fresh = l->cap_fresh = 0;
  }
  pthread_mutex_unlock(&ledgers_lock);
  if (!n_full) return;
  beam_error err = {0};
  if (beam_ledger_segment_put(store, full, n_full, &err) != BEAM_OK)
    beam_log(BEAM_LOG_WARN, "%s: %zu committed markers stay unsegmented (%s)", store->root, n_full, err.message);
  beam_ledger_markers_clear(full, n_full);
  free(full);
}
