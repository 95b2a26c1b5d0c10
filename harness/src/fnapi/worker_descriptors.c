/* ProcessBundleDescriptors: fetched once (GetProcessBundleDescriptor) or registered by the
 * runner, viewed as Components so the execution graph is built by the same code as in the
 * local runner, and kept with a pool of idle graphs so DoFn setup runs once per graph, not
 * once per bundle. Also the data and state channels, opened once per endpoint. */
#include <stdlib.h>
#include <string.h>

#include "beam/urns.h"
#include "worker_internal.h"

enum { DESCRIPTOR_TIMEOUT_MS = 60000, MAX_IDLE_GRAPHS = 16 };

/* Entries of a ProcessBundleDescriptor map and of a Components map have the same fields but
 * distinct generated types: copy key and value pointers into Components entries. */
#define VIEW_MAP(a, dst, n_dst, src, n_src, entry_type, entry_init)        \
  do {                                                                      \
    entry_type *entries_ = beam_arena_calloc(a, (n_src) + 1, sizeof *entries_); \
    dst = beam_arena_calloc(a, (n_src) + 1, sizeof *(dst));                 \
    if (!entries_ || !(dst)) return false;                                  \
    for (size_t i_ = 0; i_ < (n_src); i_++) {                               \
      entries_[i_] = (entry_type)entry_init;                                \
      entries_[i_].key = (src)[i_]->key;                                    \
      entries_[i_].value = (src)[i_]->value;                                \
      (dst)[i_] = &entries_[i_];                                            \
    }                                                                       \
    n_dst = (n_src);                                                        \
  } while (0)

static bool build_view(beam_worker_descriptor *d) {
  const FN(ProcessBundleDescriptor) *p = d->proto;
  PIPE(Components) *c = &d->components;
  *c = (PIPE(Components))PIPE_INIT(COMPONENTS);
  beam_arena *a = &d->arena;
  VIEW_MAP(a, c->transforms, c->n_transforms, p->transforms, p->n_transforms, PIPE(Components__TransformsEntry),
           PIPE_INIT(COMPONENTS__TRANSFORMS_ENTRY));
  VIEW_MAP(a, c->pcollections, c->n_pcollections, p->pcollections, p->n_pcollections,
           PIPE(Components__PcollectionsEntry), PIPE_INIT(COMPONENTS__PCOLLECTIONS_ENTRY));
  VIEW_MAP(a, c->windowing_strategies, c->n_windowing_strategies, p->windowing_strategies,
           p->n_windowing_strategies, PIPE(Components__WindowingStrategiesEntry),
           PIPE_INIT(COMPONENTS__WINDOWING_STRATEGIES_ENTRY));
  VIEW_MAP(a, c->coders, c->n_coders, p->coders, p->n_coders, PIPE(Components__CodersEntry),
           PIPE_INIT(COMPONENTS__CODERS_ENTRY));
  VIEW_MAP(a, c->environments, c->n_environments, p->environments, p->n_environments,
           PIPE(Components__EnvironmentsEntry), PIPE_INIT(COMPONENTS__ENVIRONMENTS_ENTRY));
  d->transform_ids = beam_arena_calloc(a, p->n_transforms + 1, sizeof *d->transform_ids);
  if (!d->transform_ids) return false;
  for (size_t i = 0; i < p->n_transforms; i++) d->transform_ids[d->n_transform_ids++] = p->transforms[i]->key;
  return true;
}

/* The data endpoint named by the descriptor's data ports (all of them name the same one in
 * every runner we know; a second endpoint is refused rather than silently ignored). */
static beam_status find_data_endpoint(beam_worker_descriptor *d, beam_error *err) {
  for (size_t i = 0; i < d->proto->n_transforms; i++) {
    const PIPE(PTransform) *t = d->proto->transforms[i]->value;
    if (!t->spec || (strcmp(t->spec->urn, BEAM_URN_DATA_SOURCE) != 0 && strcmp(t->spec->urn, BEAM_URN_DATA_SINK) != 0))
      continue;
    FN(RemoteGrpcPort) *port = FN_FN(remote_grpc_port__unpack)(NULL, t->spec->payload.len, t->spec->payload.data);
    const char *url = port && port->api_service_descriptor ? port->api_service_descriptor->url : NULL;
    beam_status s = BEAM_OK;
    if (!url || !url[0])
      s = beam_error_set(err, BEAM_ERR_MALFORMED, "data port %s has no endpoint", d->proto->transforms[i]->key);
    else if (!d->data_endpoint && !(d->data_endpoint = strdup(url)))
      s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    else if (strcmp(d->data_endpoint, url) != 0)
      s = beam_error_set(err, BEAM_ERR_UNSUPPORTED, "descriptor %s uses two data endpoints (%s, %s)", d->id,
                         d->data_endpoint, url);
    if (port) FN_FN(remote_grpc_port__free_unpacked)(port, NULL);
    if (s != BEAM_OK) return s;
  }
  return BEAM_OK;
}

static void descriptor_free(beam_worker_descriptor *d) {
  for (size_t i = 0; i < d->n_idle; i++) beam_exec_graph_free(d->idle[i]);
  free(d->idle);
  beam_arena_free(&d->arena);
  if (d->proto) FN_FN(process_bundle_descriptor__free_unpacked)(d->proto, NULL);
  free(d->data_endpoint);
  free(d->id);
  free(d);
}

/* Takes ownership of proto. */
static beam_status add_descriptor(beam_worker *w, FN(ProcessBundleDescriptor) *proto, beam_worker_descriptor **out,
                                  beam_error *err) {
  beam_worker_descriptor *d = calloc(1, sizeof *d);
  if (!d || !(d->id = strdup(proto->id))) {
    free(d);
    FN_FN(process_bundle_descriptor__free_unpacked)(proto, NULL);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  d->proto = proto;
  beam_status s = build_view(d) ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  if (s == BEAM_OK) s = find_data_endpoint(d, err);
  if (s != BEAM_OK) {
    descriptor_free(d);
    return s;
  }
  pthread_mutex_lock(&w->lock);
  d->next = w->descriptors;
  w->descriptors = d;
  pthread_mutex_unlock(&w->lock);
  *out = d;
  return BEAM_OK;
}

static beam_worker_descriptor *find_descriptor(beam_worker *w, const char *id) {
  pthread_mutex_lock(&w->lock);
  beam_worker_descriptor *d = w->descriptors;
  while (d && strcmp(d->id, id) != 0) d = d->next;
  pthread_mutex_unlock(&w->lock);
  return d;
}

beam_status beam_worker_descriptor_register(beam_worker *w, const FN(ProcessBundleDescriptor) *pbd, beam_error *err) {
  if (find_descriptor(w, pbd->id)) return BEAM_OK;
  /* A private copy: the request it came in is freed after the response. */
  size_t size = FN_FN(process_bundle_descriptor__get_packed_size)(pbd);
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  FN_FN(process_bundle_descriptor__pack)(pbd, bytes);
  FN(ProcessBundleDescriptor) *copy = FN_FN(process_bundle_descriptor__unpack)(NULL, size, bytes);
  free(bytes);
  if (!copy) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  beam_worker_descriptor *d = NULL;
  return add_descriptor(w, copy, &d, err);
}

beam_status beam_worker_descriptor_get(beam_worker *w, const char *id, beam_worker_descriptor **out, beam_error *err) {
  if ((*out = find_descriptor(w, id))) return BEAM_OK;
  FN(GetProcessBundleDescriptorRequest) req = FN_INIT(GET_PROCESS_BUNDLE_DESCRIPTOR_REQUEST);
  req.process_bundle_descriptor_id = (char *)id;
  size_t size = FN_FN(get_process_bundle_descriptor_request__get_packed_size)(&req);
  uint8_t bytes[512];
  if (size > sizeof bytes) return beam_error_set(err, BEAM_ERR_INVALID_ARG, "descriptor id too long");
  FN_FN(get_process_bundle_descriptor_request__pack)(&req, bytes);
  beam_buf resp = BEAM_BUF_INIT;
  beam_status s = beam_grpc_unary(w->control.channel, FN_CONTROL_SERVICE "GetProcessBundleDescriptor", bytes, size,
                                  DESCRIPTOR_TIMEOUT_MS, &resp, err);
  FN(ProcessBundleDescriptor) *pbd = s == BEAM_OK ? FN_FN(process_bundle_descriptor__unpack)(NULL, resp.len, resp.data) : NULL;
  beam_buf_free(&resp);
  if (s != BEAM_OK) return beam_error_prefix(err, "GetProcessBundleDescriptor %s: ", id);
  if (!pbd) return beam_error_set(err, BEAM_ERR_MALFORMED, "descriptor %s: undecodable", id);
  /* Two bundles may fetch the same descriptor at once; the second copy is dropped. */
  if ((*out = find_descriptor(w, id))) {
    FN_FN(process_bundle_descriptor__free_unpacked)(pbd, NULL);
    return BEAM_OK;
  }
  return add_descriptor(w, pbd, out, err);
}

beam_status beam_worker_graph_take(beam_worker *w, beam_worker_descriptor *d, beam_exec_graph **out, beam_error *err) {
  pthread_mutex_lock(&w->lock);
  *out = d->n_idle ? d->idle[--d->n_idle] : NULL;
  pthread_mutex_unlock(&w->lock);
  if (*out) return BEAM_OK;
  beam_status s = beam_exec_graph_build(&d->components, d->transform_ids, d->n_transform_ids, w->options, out, err);
  if (s != BEAM_OK) return beam_error_prefix(err, "descriptor %s: ", d->id);
  return BEAM_OK;
}

void beam_worker_graph_return(beam_worker *w, beam_worker_descriptor *d, beam_exec_graph *g, bool healthy) {
  /* A graph whose bundle failed may hold half-done state in its DoFns: build afresh. */
  if (healthy) {
    pthread_mutex_lock(&w->lock);
    if (d->n_idle == d->cap_idle && d->cap_idle < MAX_IDLE_GRAPHS) {
      size_t cap = d->cap_idle ? d->cap_idle * 2 : 2;
      beam_exec_graph **grown = realloc(d->idle, cap * sizeof *grown);
      if (grown) d->idle = grown, d->cap_idle = cap;
    }
    bool kept = d->n_idle < d->cap_idle;
    if (kept) d->idle[d->n_idle++] = g;
    pthread_mutex_unlock(&w->lock);
    if (kept) return;
  }
  beam_exec_graph_free(g);
}

void beam_worker_descriptors_free(beam_worker *w) {
  for (beam_worker_descriptor *d = w->descriptors, *next; d; d = next) {
    next = d->next;
    descriptor_free(d);
  }
  w->descriptors = NULL;
  for (size_t i = 0; i < w->n_data_channels; i++) beam_data_channel_free(w->data_channels[i]);
  free(w->data_channels);
  w->data_channels = NULL;
  w->n_data_channels = 0;
  for (size_t i = 0; i < w->n_state_channels; i++) beam_state_channel_free(w->state_channels[i]);
  free(w->state_channels);
  w->state_channels = NULL;
  w->n_state_channels = 0;
}

beam_status beam_worker_data_channel(beam_worker *w, const char *endpoint, beam_data_channel **out, beam_error *err) {
  pthread_mutex_lock(&w->lock);
  beam_status s = BEAM_OK;
  *out = NULL;
  for (size_t i = 0; i < w->n_data_channels && !*out; i++)
    if (strcmp(beam_data_channel_endpoint(w->data_channels[i]), endpoint) == 0) *out = w->data_channels[i];
  if (!*out) {
    beam_data_channel **grown = realloc(w->data_channels, (w->n_data_channels + 1) * sizeof *grown);
    if (!grown) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    else w->data_channels = grown;
    if (s == BEAM_OK) s = beam_data_channel_open(endpoint, w->id, out, err);
    if (s == BEAM_OK) w->data_channels[w->n_data_channels++] = *out;
  }
  pthread_mutex_unlock(&w->lock);
  return s;
}

beam_status beam_worker_state_channel(beam_worker *w, const char *endpoint, beam_state_channel **out,
                                      beam_error *err) {
  pthread_mutex_lock(&w->lock);
  beam_status s = BEAM_OK;
  *out = NULL;
  for (size_t i = 0; i < w->n_state_channels && !*out; i++)
    if (strcmp(beam_state_channel_endpoint(w->state_channels[i]), endpoint) == 0) *out = w->state_channels[i];
  if (!*out) {
    beam_state_channel **grown = realloc(w->state_channels, (w->n_state_channels + 1) * sizeof *grown);
    if (!grown) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
    else w->state_channels = grown;
    if (s == BEAM_OK) s = beam_state_channel_open(endpoint, w->id, out, err);
    if (s == BEAM_OK) w->state_channels[w->n_state_channels++] = *out;
  }
  pthread_mutex_unlock(&w->lock);
  return s;
}

void beam_worker_channels_cancel(beam_worker *w) {
  pthread_mutex_lock(&w->lock);
  for (size_t i = 0; i < w->n_data_channels; i++) beam_data_channel_cancel(w->data_channels[i]);
  for (size_t i = 0; i < w->n_state_channels; i++) beam_state_channel_cancel(w->state_channels[i]);
  pthread_mutex_unlock(&w->lock);
}
