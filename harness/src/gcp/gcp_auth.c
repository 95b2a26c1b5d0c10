/* Application Default Credentials: finding them, fetching and caching access tokens.
 * See beam/gcp_auth.h for the order and the contract. */
#include "beam/gcp_auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "gcp_jwt.h"

#define DEFAULT_SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define JWT_BEARER_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

struct beam_gcp_auth {
  beam_gcp_auth_kind kind;
  char *source;        /* key file path or metadata URL, for messages */
  char *token_uri;     /* service account / authorized user */
  char *client_email;  /* service account */
  char *private_key;
  char *key_id;
  char *client_id;     /* authorized user */
  char *client_secret;
  char *refresh_token;
  char *scope;
  int margin_s;
  beam_http_options http_opts;
  beam_http *http;     /* created at the first token request */
  pthread_mutex_t mu;  /* guards token, expires_at and http */
  char *token;
  double expires_at;   /* CLOCK_MONOTONIC seconds */
};

const char *beam_gcp_auth_kind_name(beam_gcp_auth_kind k) {
  switch (k) {
  case BEAM_GCP_AUTH_ANONYMOUS: return "anonymous";
  case BEAM_GCP_AUTH_SERVICE_ACCOUNT: return "service_account";
  case BEAM_GCP_AUTH_AUTHORIZED_USER: return "authorized_user";
  case BEAM_GCP_AUTH_METADATA: return "metadata";
  }
  return "unknown";
}

beam_gcp_auth_kind beam_gcp_auth_get_kind(const beam_gcp_auth *a) { return a->kind; }

static double monotonic_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wipes secrets before freeing them. */
static void free_secret(char *s) {
  if (!s) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  free(s);
}

void beam_gcp_auth_free(beam_gcp_auth *a) {
  if (!a) return;
  free(a->source);
  free(a->token_uri);
  free(a->client_email);
  free_secret(a->private_key);
  free(a->key_id);
  free(a->client_id);
  free_secret(a->client_secret);
  free_secret(a->refresh_token);
  free(a->scope);
  free_secret(a->token);
  beam_http_free(a->http);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

static beam_status auth_alloc(beam_gcp_auth_kind kind, const char *source,
                              const beam_gcp_auth_options *opts, beam_gcp_auth **out,
                              beam_error *err) {
  beam_gcp_auth *a = calloc(1, sizeof *a);
  if (!a) return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&a->mu, NULL);
  a->kind = kind;
  a->margin_s = opts && opts->refresh_margin_s > 0 ? opts->refresh_margin_s : 300;
  if (opts && opts->http) a->http_opts = *opts->http;
  else beam_http_options_init(&a->http_opts);
  a->source = strdup(source ? source : "");
  a->scope = strdup(opts && opts->scope ? opts->scope : DEFAULT_SCOPE);
  if (!a->source || !a->scope) {
    beam_gcp_auth_free(a);
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  *out = a;
  return BEAM_OK;
}

beam_status beam_gcp_auth_new_anonymous(beam_gcp_auth **out, beam_error *err) {
  *out = NULL;
  return auth_alloc(BEAM_GCP_AUTH_ANONYMOUS, "emulator", NULL, out, err);
}

/* ---- Key files --------------------------------------------------------------------- */

/* Copies a required string field of the key file. */
static beam_status take_field(const json_t *root, const char *path, const char *field,
                              bool required, char **dst, beam_error *err) {
  const char *v = json_string_value(json_object_get(root, field));
  if (!v || !*v) {
    if (!required) return BEAM_OK;
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "credentials %s: field \"%s\" is missing",
                          path, field);
  }
  *dst = strdup(v);
  return *dst ? BEAM_OK : beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
}

static beam_status load_key_file(beam_gcp_auth *a, const char *path, const json_t *root,
                                 beam_error *err) {
  const char *type = json_string_value(json_object_get(root, "type"));
  beam_status s;
  if (type && strcmp(type, "service_account") == 0) {
    a->kind = BEAM_GCP_AUTH_SERVICE_ACCOUNT;
    if ((s = take_field(root, path, "client_email", true, &a->client_email, err)) != BEAM_OK ||
        (s = take_field(root, path, "private_key", true, &a->private_key, err)) != BEAM_OK ||
        (s = take_field(root, path, "private_key_id", false, &a->key_id, err)) != BEAM_OK ||
        (s = take_field(root, path, "token_uri", false, &a->token_uri, err)) != BEAM_OK)
      return s;
  } else if (type && strcmp(type, "authorized_user") == 0) {
    a->kind = BEAM_GCP_AUTH_AUTHORIZED_USER;
    if ((s = take_field(root, path, "client_id", true, &a->client_id, err)) != BEAM_OK ||
        (s = take_field(root, path, "client_secret", true, &a->client_secret, err)) != BEAM_OK ||
        (s = take_field(root, path, "refresh_token", true, &a->refresh_token, err)) != BEAM_OK ||
        (s = take_field(root, path, "token_uri", false, &a->token_uri, err)) != BEAM_OK)
      return s;
  } else {
    return beam_error_set(err, BEAM_ERR_UNSUPPORTED,
                          "credentials %s: field \"type\" is \"%s\"; supported: service_account, "
                          "authorized_user", path, type ? type : "(missing)");
  }
  if (!a->token_uri && !(a->token_uri = strdup(DEFAULT_TOKEN_URI)))
    return beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  return BEAM_OK;
}

beam_status beam_gcp_auth_new_from_file(const char *path, const beam_gcp_auth_options *opts,
                                        beam_gcp_auth **out, beam_error *err) {
  *out = NULL;
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (!root)
    return beam_error_set(err, BEAM_ERR_INVALID_ARG, "credentials %s:%d: %s", path, jerr.line,
                          jerr.text);
  beam_gcp_auth *a;
  beam_status s = auth_alloc(BEAM_GCP_AUTH_ANONYMOUS, path, opts, &a, err);
  if (s == BEAM_OK) s = load_key_file(a, path, root, err);
  json_decref(root);
  if (s != BEAM_OK) {
    beam_gcp_auth_free(a);
    return s;
  }
  *out = a;
  return BEAM_OK;
}

static beam_status new_metadata(const beam_gcp_auth_options *opts, beam_gcp_auth **out,
                                beam_error *err) {
  const char *host = getenv("GCE_METADATA_HOST");
  char url[512];
  snprintf(url, sizeof url,
           "http://%s/computeMetadata/v1/instance/service-accounts/default/token",
           host && *host ? host : "metadata.google.internal");
  beam_status s = auth_alloc(BEAM_GCP_AUTH_METADATA, url, opts, out, err);
  if (s == BEAM_OK && !(opts && opts->http)) {
    /* Off Google Cloud there is no metadata server: fail within seconds, not minutes. */
    (*out)->http_opts.connect_timeout_ms = 2000;
    (*out)->http_opts.max_attempts = 3;
  }
  return s;
}

beam_status beam_gcp_auth_new_default(const beam_gcp_auth_options *opts, beam_gcp_auth **out,
                                      beam_error *err) {
  *out = NULL;
  const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
  if (env && *env) {
    beam_status s = beam_gcp_auth_new_from_file(env, opts, out, err);
    if (s != BEAM_OK) beam_error_prefix(err, "GOOGLE_APPLICATION_CREDENTIALS: ");
    return s;
  }
  char path[4096];
  const char *config = getenv("CLOUDSDK_CONFIG");
  const char *home = getenv("HOME");
  if (config && *config)
    snprintf(path, sizeof path, "%s/application_default_credentials.json", config);
  else
    snprintf(path, sizeof path, "%s/.config/gcloud/application_default_credentials.json",
             home ? home : "");
  struct stat sb;
  if ((config || home) && stat(path, &sb) == 0) return beam_gcp_auth_new_from_file(path, opts, out, err);
  return new_metadata(opts, out, err);
}

beam_status beam_gcp_auth_new_for_emulator(const char *emulator_env,
                                           const beam_gcp_auth_options *opts,
                                           beam_gcp_auth **out, beam_error *err) {
  const char *v = emulator_env ? getenv(emulator_env) : NULL;
  if (v && *v) return beam_gcp_auth_new_anonymous(out, err);
  return beam_gcp_auth_new_default(opts, out, err);
}

/* ---- Token requests ---------------------------------------------------------------- */

static beam_status form_add(beam_buf *b, const char *key, const char *value) {
  beam_status s = b->len ? beam_buf_append_byte(b, '&') : BEAM_OK;
  if (s == BEAM_OK) s = beam_buf_append_str(b, key);
  if (s == BEAM_OK) s = beam_buf_append_byte(b, '=');
  if (s == BEAM_OK) s = beam_http_append_escaped(b, value);
  return s;
}

static beam_status token_request_body(beam_gcp_auth *a, beam_buf *form, beam_error *err) {
  beam_status s;
  if (a->kind == BEAM_GCP_AUTH_SERVICE_ACCOUNT) {
    beam_buf jwt = BEAM_BUF_INIT;
    int64_t now = (int64_t)time(NULL);
    s = beam_gcp_jwt_sign(a->private_key, a->key_id, a->client_email, a->scope, a->token_uri, now,
                          now + 3600, &jwt, err);
    if (s == BEAM_OK && (s = beam_buf_terminate(&jwt)) != BEAM_OK) beam_error_set(err, s, "out of memory");
    if (s == BEAM_OK) {
      s = form_add(form, "grant_type", JWT_BEARER_GRANT);
      if (s == BEAM_OK) s = form_add(form, "assertion", (const char *)jwt.data);
      if (s != BEAM_OK) beam_error_set(err, s, "out of memory");
    }
    if (jwt.data) memset(jwt.data, 0, jwt.len);
    beam_buf_free(&jwt);
    if (s != BEAM_OK) beam_error_prefix(err, "credentials %s: ", a->source);
    return s;
  }
  s = form_add(form, "grant_type", "refresh_token");
  if (s == BEAM_OK) s = form_add(form, "client_id", a->client_id);
  if (s == BEAM_OK) s = form_add(form, "client_secret", a->client_secret);
  if (s == BEAM_OK) s = form_add(form, "refresh_token", a->refresh_token);
  return s == BEAM_OK ? s : beam_error_set(err, s, "out of memory");
}

static beam_status parse_token_response(beam_gcp_auth *a, const beam_http_response *rs,
                                        beam_error *err) {
  json_t *root = json_loadb((const char *)rs->body.data, rs->body.len, 0, NULL);
  const char *token = json_string_value(json_object_get(root, "access_token"));
  json_t *exp = json_object_get(root, "expires_in");
  beam_status s = BEAM_OK;
  if (!token || !*token || !json_is_number(exp)) {
    s = beam_error_set(err, BEAM_ERR_MALFORMED,
                       "credentials %s: token response lacks access_token or expires_in",
                       a->source);
  } else {
    free_secret(a->token);
    a->token = strdup(token);
    a->expires_at = monotonic_now() + json_number_value(exp);
    if (!a->token) s = beam_error_set(err, BEAM_ERR_NOMEM, "out of memory");
  }
  json_decref(root);
  return s;
}

static beam_status fetch_token(beam_gcp_auth *a, beam_error *err) {
  beam_status s = BEAM_OK;
  if (!a->http && (s = beam_http_new(&a->http_opts, &a->http, err)) != BEAM_OK) return s;
  beam_http_request rq = {0};
  beam_buf form = BEAM_BUF_INIT;
  static const char *const metadata_headers[] = {"Metadata-Flavor: Google", NULL};
  if (a->kind == BEAM_GCP_AUTH_METADATA) {
    rq.method = "GET";
    rq.url = a->source;
    rq.headers = metadata_headers;
  } else {
    if ((s = token_request_body(a, &form, err)) != BEAM_OK) {
      beam_buf_free(&form);
      return s;
    }
    rq.method = "POST";
    rq.url = a->token_uri;
    rq.content_type = "application/x-www-form-urlencoded";
    rq.body = form.data;
    rq.body_len = form.len;
  }
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  s = beam_http_send(a->http, &rq, &rs, err);
  if (form.data) memset(form.data, 0, form.len);
  beam_buf_free(&form);
  if (s == BEAM_OK) s = parse_token_response(a, &rs, err);
  else
    beam_error_prefix(err, "credentials (%s, %s): fetching a token: ",
                      beam_gcp_auth_kind_name(a->kind),
                      a->kind == BEAM_GCP_AUTH_METADATA ? "metadata server" : a->source);
  if (rs.body.data) memset(rs.body.data, 0, rs.body.len);
  beam_http_response_free(&rs);
  return s;
}

beam_status beam_gcp_auth_token(beam_gcp_auth *a, char *buf, size_t cap, beam_error *err) {
  if (cap) buf[0] = '\0';
  if (a->kind == BEAM_GCP_AUTH_ANONYMOUS) return BEAM_OK;
  pthread_mutex_lock(&a->mu);
  beam_status s = BEAM_OK;
  if (!a->token || monotonic_now() >= a->expires_at - a->margin_s) s = fetch_token(a, err);
  if (s == BEAM_OK) {
    if (strlen(a->token) >= cap)
      s = beam_error_set(err, BEAM_ERR_INVALID_ARG, "credentials: token buffer too small");
    else
      memcpy(buf, a->token, strlen(a->token) + 1);
  }
  pthread_mutex_unlock(&a->mu);
  return s;
}

void beam_gcp_auth_invalidate(beam_gcp_auth *a) {
  pthread_mutex_lock(&a->mu);
  free_secret(a->token);
  a->token = NULL;
  pthread_mutex_unlock(&a->mu);
}

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static beam_gcp_auth *shared_auth;

beam_status beam_gcp_auth_shared_default(beam_gcp_auth **out, beam_error *err) {
  pthread_mutex_lock(&shared_lock);
  beam_status s = BEAM_OK;
  if (!shared_auth) s = beam_gcp_auth_new_default(NULL, &shared_auth, err);
  *out = shared_auth;
  pthread_mutex_unlock(&shared_lock);
  return s;
}

beam_status beam_gcp_auth_send(beam_gcp_auth *a, beam_http *h, beam_http_request *rq, beam_http_response *rs,
                               beam_error *err) {
  char token[4096];
  beam_status s = BEAM_OK;
  for (int attempt = 0; attempt < 2; attempt++) {
    if ((s = beam_gcp_auth_token(a, token, sizeof token, err)) != BEAM_OK) break;
    rq->bearer_token = token;
    s = beam_http_send(h, rq, rs, err);
    rq->bearer_token = NULL;
    if (!(s != BEAM_OK && rs->status == 401 && attempt == 0 && !rq->read)) break;
    beam_gcp_auth_invalidate(a); /* revoked or expired early: one fresh token */
  }
  memset(token, 0, sizeof token);
  return s;
}
