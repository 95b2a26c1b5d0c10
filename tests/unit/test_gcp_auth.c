/* Application Default Credentials against a loopback token endpoint
 * (tests/gcp/fake_token_server.py) that verifies the RS256 JWT with the public key of a
 * key pair generated here, the refresh-token grant, and the metadata-server protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "beam/gcp_auth.h"
#include "peer_process.h"
#include "sink_test_util.h"

typedef struct fixture {
  char *dir;
  peer_process server;
  char token_uri[128];
  char *key_pem;
} fixture;

static char *generate_key(char *n_hex, char *e_hex, size_t cap) {
  EVP_PKEY *key = EVP_RSA_gen(2048);
  if (!key) return NULL;
  BIGNUM *n = NULL, *e = NULL;
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
  char *nh = BN_bn2hex(n), *eh = BN_bn2hex(e);
  snprintf(n_hex, cap, "%s", nh);
  snprintf(e_hex, cap, "%s", eh);
  OPENSSL_free(nh), OPENSSL_free(eh), BN_free(n), BN_free(e);
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
  char *data;
  long len = BIO_get_mem_data(bio, &data);
  char *pem = strndup(data, (size_t)len);
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = sink_test_tmpdir();
  char n_hex[1024], e_hex[1024], port_file[600], script[600];
  f->key_pem = generate_key(n_hex, e_hex, sizeof n_hex);
  if (!f->key_pem) return -1;
  snprintf(port_file, sizeof port_file, "%s/port", f->dir);
  snprintf(script, sizeof script, "%s/tests/gcp/fake_token_server.py", getenv("BEAM_SOURCE_DIR"));
  char *argv[] = {"python3", script, "--port-file", port_file, "--rsa-n", n_hex, "--rsa-e", e_hex,
                  "--kid", "key-1", "--expires-in", "10", "--lifetime", "60", NULL};
  f->server.pid = peer_spawn(argv);
  f->server.port = peer_wait_port_file(f->server.pid, port_file, 15000);
  if (!f->server.port) return -1;
  snprintf(f->token_uri, sizeof f->token_uri, "http://127.0.0.1:%d/token", f->server.port);
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  unsetenv("STORAGE_EMULATOR_HOST");
  setenv("CLOUDSDK_CONFIG", f->dir, 1); /* no gcloud file unless a test writes one */
  setenv("GCE_METADATA_HOST", "127.0.0.1:9", 1);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  peer_stop(&f->server);
  sink_test_rmdir(f->dir);
  free(f->key_pem);
  free(f);
  return 0;
}

static void write_json(const char *path, json_t *obj) {
  assert_int_equal(json_dump_file(obj, path, 0), 0);
  json_decref(obj);
}

static char *write_service_account(fixture *f, const char *email) {
  static char path[600];
  snprintf(path, sizeof path, "%s/sa.json", f->dir);
  write_json(path, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                             "project_id", "p", "private_key_id", "key-1", "private_key",
                             f->key_pem, "client_email", email, "token_uri", f->token_uri));
  return path;
}

static int issued(fixture *f) {
  beam_http *h;
  beam_error err;
  assert_int_equal(beam_http_new(NULL, &h, &err), BEAM_OK);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/count", f->server.port);
  beam_http_request rq = {.method = "GET", .url = url};
  beam_http_response rs = BEAM_HTTP_RESPONSE_INIT;
  assert_int_equal(beam_http_send(h, &rq, &rs, &err), BEAM_OK);
  json_t *root = json_loads((const char *)rs.body.data, 0, NULL);
  int n = (int)json_integer_value(json_object_get(root, "issued"));
  json_decref(root);
  beam_http_response_free(&rs);
  beam_http_free(h);
  return n;
}

static void service_account_jwt_is_verified_and_refreshed(void **state) {
  fixture *f = *state;
  setenv("GOOGLE_APPLICATION_CREDENTIALS", write_service_account(f, "sa@example.iam.gserviceaccount.com"), 1);
  beam_gcp_auth_options o = {.refresh_margin_s = 9}; /* tokens live 10 s: 1 s of caching */
  beam_gcp_auth *a;
  beam_error err;
  assert_int_equal(beam_gcp_auth_new_default(&o, &a, &err), BEAM_OK);
  assert_int_equal(beam_gcp_auth_get_kind(a), BEAM_GCP_AUTH_SERVICE_ACCOUNT);
  char tok[4096];
  int before = issued(f);
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_true(strncmp(tok, "tok-", 4) == 0);
  char first[64];
  snprintf(first, sizeof first, "%.63s", tok);
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_string_equal(tok, first); /* cached */
  assert_int_equal(issued(f), before + 1);
  peer_sleep_ms(1300);                  /* now inside the refresh margin */
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_string_not_equal(tok, first);
  assert_int_equal(issued(f), before + 2);
  beam_gcp_auth_invalidate(a);
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_int_equal(issued(f), before + 3);
  beam_gcp_auth_free(a);
}

static void wrong_issuer_is_refused_with_the_endpoint_message(void **state) {
  fixture *f = *state;
  setenv("GOOGLE_APPLICATION_CREDENTIALS", write_service_account(f, "other@example.com"), 1);
  beam_gcp_auth *a;
  beam_error err;
  assert_int_equal(beam_gcp_auth_new_default(NULL, &a, &err), BEAM_OK);
  char tok[4096];
  assert_int_not_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_non_null(strstr(err.message, "HTTP 400"));
  assert_non_null(strstr(err.message, "invalid_grant"));
  assert_null(strstr(err.message, "PRIVATE KEY"));
  beam_gcp_auth_free(a);
}

static void authorized_user_from_gcloud_config(void **state) {
  fixture *f = *state;
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  char path[600];
  snprintf(path, sizeof path, "%s/application_default_credentials.json", f->dir);
  write_json(path, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "authorized_user", "client_id",
                             "cid", "client_secret", "csecret", "refresh_token", "rtok",
                             "token_uri", f->token_uri));
  beam_gcp_auth *a;
  beam_error err;
  assert_int_equal(beam_gcp_auth_new_default(NULL, &a, &err), BEAM_OK);
  assert_int_equal(beam_gcp_auth_get_kind(a), BEAM_GCP_AUTH_AUTHORIZED_USER);
  char tok[4096];
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_true(strncmp(tok, "tok-", 4) == 0);
  beam_gcp_auth_free(a);
  /* A wrong secret: the endpoint's reason comes back, the secret does not. */
  write_json(path, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "authorized_user", "client_id",
                             "cid", "client_secret", "s3cr3t-value", "refresh_token", "rtok",
                             "token_uri", f->token_uri));
  assert_int_equal(beam_gcp_auth_new_default(NULL, &a, &err), BEAM_OK);
  assert_int_not_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_non_null(strstr(err.message, "unknown client"));
  assert_null(strstr(err.message, "s3cr3t"));
  beam_gcp_auth_free(a);
  remove(path);
}

static void metadata_server_last(void **state) {
  fixture *f = *state;
  unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  char host[64];
  snprintf(host, sizeof host, "127.0.0.1:%d", f->server.port);
  setenv("GCE_METADATA_HOST", host, 1);
  beam_gcp_auth *a;
  beam_error err;
  assert_int_equal(beam_gcp_auth_new_default(NULL, &a, &err), BEAM_OK);
  assert_int_equal(beam_gcp_auth_get_kind(a), BEAM_GCP_AUTH_METADATA);
  char tok[4096];
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_true(strncmp(tok, "tok-", 4) == 0);
  beam_gcp_auth_free(a);
}

static void emulator_is_anonymous(void **state) {
  (void)state;
  setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1", 1);
  beam_gcp_auth *a;
  beam_error err;
  assert_int_equal(beam_gcp_auth_new_for_emulator("STORAGE_EMULATOR_HOST", NULL, &a, &err), BEAM_OK);
  assert_int_equal(beam_gcp_auth_get_kind(a), BEAM_GCP_AUTH_ANONYMOUS);
  char tok[16] = "x";
  assert_int_equal(beam_gcp_auth_token(a, tok, sizeof tok, &err), BEAM_OK);
  assert_string_equal(tok, "");
  beam_gcp_auth_free(a);
  unsetenv("STORAGE_EMULATOR_HOST");
}

static void bad_key_file_names_the_field(void **state) {
  fixture *f = *state;
  char path[600];
  snprintf(path, sizeof path, "%s/bad.json", f->dir);
  write_json(path, json_pack("{s:s, s:s}", "type", "service_account", "client_email", "x@y"));
  setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
  beam_gcp_auth *a;
  beam_error err;
  assert_int_equal(beam_gcp_auth_new_default(NULL, &a, &err), BEAM_ERR_INVALID_ARG);
  assert_non_null(strstr(err.message, "private_key"));
  assert_non_null(strstr(err.message, "bad.json"));
  write_json(path, json_pack("{s:s}", "type", "external_account"));
  assert_int_equal(beam_gcp_auth_new_default(NULL, &a, &err), BEAM_ERR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "external_account"));
}

typedef struct thread_arg {
  beam_gcp_auth *a;
  char tok[4096];
  beam_status s;
} thread_arg;

static void *take_token(void *p) {
  thread_arg *t = p;
  beam_error err;
  t->s = beam_gcp_auth_token(t->a, t->tok, sizeof t->tok, &err);
  return NULL;
}

static void concurrent_callers_share_one_fetch(void **state) {
  fixture *f = *state;
  setenv("GOOGLE_APPLICATION_CREDENTIALS", write_service_account(f, "sa@example.iam.gserviceaccount.com"), 1);
  beam_gcp_auth *a;
  beam_error err;
  beam_gcp_auth_options o = {.refresh_margin_s = 1};
  assert_int_equal(beam_gcp_auth_new_default(&o, &a, &err), BEAM_OK);
  int before = issued(f);
  thread_arg args[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    args[i].a = a;
    pthread_create(&th[i], NULL, take_token, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].s, BEAM_OK);
    assert_string_equal(args[i].tok, args[0].tok);
  }
  assert_int_equal(issued(f), before + 1);
  beam_gcp_auth_free(a);
}

static void base64url_vectors(void **state) {
  (void)state;
  const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff"};
  const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy", "-_8"};
  for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
    beam_buf b = BEAM_BUF_INIT;
    assert_int_equal(beam_base64url_append(&b, in[i], strlen(in[i])), BEAM_OK);
    assert_int_equal(beam_buf_terminate(&b), BEAM_OK);
    assert_string_equal(b.data ? (char *)b.data : "", out[i]);
    beam_buf_free(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(base64url_vectors),
      cmocka_unit_test(service_account_jwt_is_verified_and_refreshed),
      cmocka_unit_test(wrong_issuer_is_refused_with_the_endpoint_message),
      cmocka_unit_test(authorized_user_from_gcloud_config),
      cmocka_unit_test(concurrent_callers_share_one_fetch),
      cmocka_unit_test(metadata_server_last),
      cmocka_unit_test(emulator_is_anonymous),
      cmocka_unit_test(bad_key_file_names_the_field),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
