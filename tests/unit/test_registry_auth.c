/* The registry client's pure parts: base64, X-Registry-Auth decoding (moby
 * api/pkg/authconfig), WWW-Authenticate challenges (distribution's challenge parser, plus
 * several challenges per header), scope strings, Link pagination, the insecure-registry
 * test and endpoint list (moby daemon/pkg/registry), and the reading of registry error
 * answers (distribution registry/client/errors.go, errcode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "image/registry.h"
#include "image/registry_internal.h"

/* ---- base64 ----------------------------------------------------------------------------- */

static void expect_b64(const char *in, const char *want) {
  unsigned char *out = NULL;
  size_t n = 0;
  int rc = registry_base64_decode(in, strlen(in), &out, &n);
  if (!want) {
    if (rc == 0) fail_msg("'%s' decoded but should not", in);
    return;
  }
  if (rc < 0) fail_msg("'%s' did not decode", in);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(out, want, n);
  free(out);
}

static void test_base64(void **state) {
  expect_b64("", "");
  expect_b64("YQ==", "a");
  expect_b64("YQ", "a");
  expect_b64("YWI=", "ab");
  expect_b64("YWI", "ab");
  expect_b64("YWJj", "abc");
  expect_b64("Pj9-fj8", ">?~~?");   /* URL alphabet */
  expect_b64("Pj9+fj8", ">?~~?");   /* standard alphabet */
  expect_b64("Pj9-fj8=", ">?~~?");
  expect_b64("YWJj\r\n", "abc");
  expect_b64("Y", NULL);            /* a lone sextet */
  expect_b64("YWJjZ", NULL);
  expect_b64("YQ=", NULL);          /* wrong padding */
  expect_b64("YWI==", NULL);
  expect_b64("YWJj=", NULL);
  expect_b64("Y=Q=", NULL);         /* padding inside */
  expect_b64("YW J", NULL);
  expect_b64("YW*j", NULL);
}

/* ---- X-Registry-Auth -------------------------------------------------------------------- */

static void expect_auth_error(const char *header, const char *msg) {
  registry_auth a;
  arca_err e = {0};
  assert_int_equal(registry_auth_decode(header, &a, &e), -1);
  assert_int_equal(e.status, 400);
  if (strcmp(e.msg, msg)) fail_msg("%s: got '%s', want '%s'", header, e.msg, msg);
  assert_null(a.username);
}

static void test_auth_decode(void **state) {
  registry_auth a;
  arca_err e = {0};
  /* no credentials */
  const char *empty[] = {NULL, "", "e30=", "e30", "bnVsbA=="};
  for (size_t i = 0; i < ARRAY_LEN(empty); i++) {
    assert_int_equal(registry_auth_decode(empty[i], &a, &e), 0);
    assert_true(registry_auth_is_empty(&a));
    assert_null(a.server_address);
    registry_auth_free(&a);
  }
  /* base64url, padded (what the CLI sends) */
  assert_int_equal(registry_auth_decode("eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJwPj9-fj8iLC"
                                        "JzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ==", &a, &e),
                   0);
  assert_string_equal(a.username, "alice");
  assert_string_equal(a.password, "p>?~~?");
  assert_string_equal(a.server_address, "127.0.0.1:5000");
  assert_null(a.identity_token);
  assert_null(a.registry_token);
  assert_false(registry_auth_is_empty(&a));
  registry_auth_free(&a);
  assert_null(a.username); /* free clears */
  /* standard alphabet, unpadded */
  assert_int_equal(registry_auth_decode("eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJwPj9+fj8iLC"
                                        "JzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ", &a, &e),
                   0);
  assert_string_equal(a.password, "p>?~~?");
  registry_auth_free(&a);
  /* tokens; key case does not matter (Go's decoder) */
  assert_int_equal(registry_auth_decode("eyJpZGVudGl0eXRva2VuIjoidG9rLTEiLCJyZWdpc3RyeXRva2VuIj"
                                        "oicnQiLCJVc2VybmFtZSI6IkJvYiJ9", &a, &e), 0);
  assert_string_equal(a.identity_token, "tok-1");
  assert_string_equal(a.registry_token, "rt");
  assert_string_equal(a.username, "Bob");
  assert_null(a.password);
  registry_auth_free(&a);
  /* "auth" = base64("carol:pa:ss"): split at the first colon */
  assert_int_equal(registry_auth_decode("eyJhdXRoIjoiWTJGeWIydzZjR0U2YzNNPSJ9", &a, &e), 0);
  assert_string_equal(a.username, "carol");
  assert_string_equal(a.password, "pa:ss");
  registry_auth_free(&a);
  /* an explicit username wins over "auth" */
  assert_int_equal(
      registry_auth_decode("eyJhdXRoIjoiWTJGeWIydzZjR0U2YzNNPSIsInVzZXJuYW1lIjoiZGF2ZSJ9", &a, &e),
      0);
  assert_string_equal(a.username, "dave");
  assert_null(a.password);
  registry_auth_free(&a);
  /* null values and unknown keys ("email") are ignored */
  assert_int_equal(registry_auth_decode("eyJ1c2VybmFtZSI6bnVsbCwicGFzc3dvcmQiOiJ4IiwiZW1haWwiOi"
                                        "JlQHgifQ==", &a, &e), 0);
  assert_null(a.username);
  assert_string_equal(a.password, "x");
  registry_auth_free(&a);
  /* trailing white space, or a closing brace, is not a second document for Go's More() */
  assert_int_equal(registry_auth_decode("eyJ1c2VybmFtZSI6ImEifSA=", &a, &e), 0);
  assert_string_equal(a.username, "a");
  registry_auth_free(&a);
  assert_int_equal(registry_auth_decode("eyJ1c2VybmFtZSI6ImEifX0=", &a, &e), 0);
  registry_auth_free(&a);

  expect_auth_error("%%%", "invalid X-Registry-Auth header: must be a valid base64url-encoded "
                           "string");
  expect_auth_error("eyJ1c2VybmFtZSI6NX0=",
                    "invalid X-Registry-Auth header: invalid JSON: json: cannot unmarshal number "
                    "into Go struct field AuthConfig.username of type string");
  expect_auth_error("ImFsaWNlIg==", "invalid X-Registry-Auth header: invalid JSON: json: cannot "
                                    "unmarshal string into Go value of type registry.AuthConfig");
  expect_auth_error("e30ge30=", "invalid X-Registry-Auth header: multiple JSON documents not "
                                "allowed");
  expect_auth_error("ICAg", "invalid X-Registry-Auth header: invalid JSON: EOF");
  /* a truncated document: Go's wording differs from jansson's, the prefix is Docker's */
  assert_int_equal(registry_auth_decode("eyJ1c2VybmFtZSI6", &a, &e), -1);
  assert_int_equal(e.status, 400);
  assert_true(str_has_prefix(e.msg, "invalid X-Registry-Auth header: invalid JSON: "));

  /* POST /auth body */
  const char *body = "{\"username\":\"u\",\"password\":\"p\","
                     "\"serveraddress\":\"https://index.docker.io/v1/\"}";
  assert_int_equal(registry_auth_from_json(body, strlen(body), &a, &e), 0);
  assert_string_equal(a.server_address, "https://index.docker.io/v1/");
  registry_auth copy;
  registry_auth_copy(&copy, &a);
  registry_auth_free(&a);
  assert_string_equal(copy.username, "u");
  assert_string_equal(copy.password, "p");
  registry_auth_free(&copy);
}

static void test_login_host(void **state) {
  arca_err e = {0};
  const char *cases[][2] = {
      {"", "index.docker.io"},
      {"https://index.docker.io/v1/", "index.docker.io"},
      {"docker.io", "docker.io"},
      {"127.0.0.1:5000", "127.0.0.1:5000"},
      {"http://127.0.0.1:5000", "127.0.0.1:5000"},
      {"localhost:5000/v2/", "localhost:5000"},
      {"[::1]:5000", "[::1]:5000"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    autofree char *h = registry_login_host(cases[i][0], &e);
    assert_non_null(h);
    assert_string_equal(h, cases[i][1]);
  }
  autofree char *none = registry_login_host(NULL, &e);
  assert_string_equal(none, "index.docker.io");
  assert_null(registry_login_host("https://exa mple.com", &e));
  assert_int_equal(e.status, 400);
  assert_true(str_has_prefix(e.msg, "unable to parse server address: "));
}

/* ---- WWW-Authenticate ------------------------------------------------------------------- */

static void test_challenges(void **state) {
  registry_challenge *c = NULL;
  /* Docker Hub */
  const char *hub[] = {"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker."
                       "io\",scope=\"repository:library/busybox:pull,push\""};
  size_t n = registry_parse_challenges(hub, 1, &c);
  assert_int_equal(n, 1);
  assert_string_equal(c[0].scheme, "bearer");
  assert_int_equal(c[0].nparams, 3);
  assert_string_equal(registry_challenge_param(&c[0], "realm"), "https://auth.docker.io/token");
  assert_string_equal(registry_challenge_param(&c[0], "service"), "registry.docker.io");
  /* the comma inside quotes is part of the value */
  assert_string_equal(registry_challenge_param(&c[0], "scope"),
                      "repository:library/busybox:pull,push");
  assert_null(registry_challenge_param(&c[0], "error"));
  registry_challenges_free(c, n);

  /* registry 2.8 with htpasswd; case-insensitive scheme and keys; lone scheme */
  const char *basic[] = {"BASIC Realm=\"Registry Realm\"", "Negotiate"};
  n = registry_parse_challenges(basic, 2, &c);
  assert_int_equal(n, 2);
  assert_string_equal(c[0].scheme, "basic");
  assert_string_equal(c[0].keys[0], "realm");
  assert_string_equal(registry_challenge_param(&c[0], "REALM"), "Registry Realm");
  assert_string_equal(c[1].scheme, "negotiate");
  assert_int_equal(c[1].nparams, 0);
  registry_challenges_free(c, n);

  /* several challenges in one header, escapes, tokens, spaces around '=' */
  const char *many[] = {"Basic realm=\"a \\\"quoted\\\" realm\", Bearer realm=https://t/token , "
                        "service = reg,error=\"insufficient_scope\",  Digest realm=x"};
  n = registry_parse_challenges(many, 1, &c);
  assert_int_equal(n, 3);
  assert_string_equal(c[0].scheme, "basic");
  assert_string_equal(registry_challenge_param(&c[0], "realm"), "a \"quoted\" realm");
  assert_string_equal(c[1].scheme, "bearer");
  assert_string_equal(registry_challenge_param(&c[1], "realm"), "https://t/token");
  assert_string_equal(registry_challenge_param(&c[1], "service"), "reg");
  assert_string_equal(registry_challenge_param(&c[1], "error"), "insufficient_scope");
  assert_string_equal(c[2].scheme, "digest");
  assert_string_equal(registry_challenge_param(&c[2], "realm"), "x");
  registry_challenges_free(c, n);

  /* an unterminated quote ends the parse; what came before stays */
  const char *bad[] = {"Bearer realm=\"https://t/token\",service=\"never closed", NULL,
                       "Basic realm=x"};
  n = registry_parse_challenges(bad, 3, &c);
  assert_int_equal(n, 2);
  assert_string_equal(registry_challenge_param(&c[0], "realm"), "https://t/token");
  assert_null(registry_challenge_param(&c[0], "service"));
  assert_string_equal(c[1].scheme, "basic");
  registry_challenges_free(c, n);

  /* duplicates: the last wins, as distribution's map */
  const char *dup[] = {"Bearer realm=a,realm=b"};
  n = registry_parse_challenges(dup, 1, &c);
  assert_int_equal(c[0].nparams, 1);
  assert_string_equal(registry_challenge_param(&c[0], "realm"), "b");
  registry_challenges_free(c, n);

  const char *nothing[] = {"", "  ,  ", "\"x\""};
  assert_int_equal(registry_parse_challenges(nothing, 3, &c), 0);
  registry_challenges_free(c, 0);
}

static void test_scopes(void **state) {
  autofree char *pull = registry_scope_repository("library/busybox", false);
  autofree char *push = registry_scope_repository("a/b/c", true);
  assert_string_equal(pull, "repository:library/busybox:pull");
  assert_string_equal(push, "repository:a/b/c:pull,push");
  autofree char *esc = reg_query_escape("repository:a/b:pull,push x~");
  assert_string_equal(esc, "repository%3Aa%2Fb%3Apull%2Cpush+x~");
}

/* ---- Link ------------------------------------------------------------------------------- */

static void test_link(void **state) {
  const char *base = "http://127.0.0.1:5000/v2/x/tags/list";
  /* registry 2.8's form: relative, quoted rel */
  autofree char *a = registry_link_next("</v2/x/tags/list?last=b&n=2>; rel=\"next\"", base);
  assert_string_equal(a, "http://127.0.0.1:5000/v2/x/tags/list?last=b&n=2");
  autofree char *b = registry_link_next(
      "<https://r.example/v2/x/tags/list?n=1&last=a>; title=\"x, y\"; rel=\"prev\", "
      "<https://other.example/page2>; REL=\"last NEXT\"", base);
  assert_string_equal(b, "https://other.example/page2");
  autofree char *c = registry_link_next("<page3>;rel=next", base);
  assert_string_equal(c, "http://127.0.0.1:5000/v2/x/tags/page3");
  assert_null(registry_link_next("</v2/x>; rel=\"prev\"", base));
  assert_null(registry_link_next("</v2/x>; rel=\"nextpage\"", base));
  assert_null(registry_link_next(NULL, base));
  assert_null(registry_link_next("", base));
  assert_null(registry_link_next("no angle brackets; rel=next", base));
  assert_null(registry_link_next("<unterminated; rel=next", base));
}

/* ---- endpoints -------------------------------------------------------------------------- */

static void test_insecure(void **state) {
  const char *none[] = {NULL};
  assert_true(registry_is_insecure("127.0.0.1:5000", none, 0));
  assert_true(registry_is_insecure("127.8.9.10", none, 0));
  assert_true(registry_is_insecure("[::1]:5000", none, 0));
  assert_true(registry_is_insecure("::1", none, 0));
  assert_true(registry_is_insecure("localhost:5000", none, 0)); /* resolves to loopback */
  assert_false(registry_is_insecure("10.1.2.3:5000", none, 0));
  assert_false(registry_is_insecure("docker.io", none, 0));
  assert_false(registry_is_insecure("", none, 0));

  const char *list[] = {"10.0.0.0/8", "myreg.invalid:5000", "https://other.invalid",
                        "fd00::/8"};
  assert_true(registry_is_insecure("10.1.2.3:5000", list, 4));
  assert_true(registry_is_insecure("10.1.2.3", list, 4));
  assert_false(registry_is_insecure("11.1.2.3:5000", list, 4));
  assert_true(registry_is_insecure("myreg.invalid:5000", list, 4));
  assert_false(registry_is_insecure("myreg.invalid:5001", list, 4)); /* exact names only */
  assert_true(registry_is_insecure("other.invalid", list, 4));       /* scheme ignored */
  assert_true(registry_is_insecure("[fd12::1]:443", list, 4));
  assert_false(registry_is_insecure("[fe80::1]:443", list, 4));
  assert_false(registry_is_insecure("docker.io", list, 4));
}

static void test_endpoints(void **state) {
  registry_endpoint *eps = NULL;
  size_t n = 0;
  arca_err e = {0};
  const char *mirrors[] = {"mirror.invalid:5000/", "http://127.0.0.1:5001"};
  assert_int_equal(registry_endpoints("docker.io", NULL, 0, mirrors, 2, &eps, &n, &e), 0);
  assert_int_equal(n, 3);
  assert_string_equal(eps[0].base_url, "https://mirror.invalid:5000");
  assert_string_equal(eps[0].domain, "docker.io");
  assert_true(eps[0].mirror);
  assert_false(eps[0].insecure);
  assert_string_equal(eps[1].base_url, "http://127.0.0.1:5001");
  assert_true(eps[1].insecure);
  assert_string_equal(eps[2].base_url, "https://registry-1.docker.io");
  assert_false(eps[2].mirror);
  assert_false(eps[2].insecure);
  registry_endpoints_free(eps, n);

  assert_int_equal(registry_endpoints("index.docker.io", NULL, 0, NULL, 0, &eps, &n, &e), 0);
  assert_int_equal(n, 1);
  assert_string_equal(eps[0].base_url, "https://registry-1.docker.io");
  registry_endpoints_free(eps, n);

  assert_int_equal(registry_endpoints("127.0.0.1:5000", NULL, 0, mirrors, 2, &eps, &n, &e), 0);
  assert_int_equal(n, 2);
  assert_string_equal(eps[0].base_url, "https://127.0.0.1:5000");
  assert_true(eps[0].insecure);
  assert_string_equal(eps[1].base_url, "http://127.0.0.1:5000");
  assert_string_equal(eps[1].domain, "127.0.0.1:5000");
  registry_endpoints_free(eps, n);

  assert_int_equal(registry_endpoints("ghcr.invalid", NULL, 0, NULL, 0, &eps, &n, &e), 0);
  assert_int_equal(n, 1);
  assert_string_equal(eps[0].base_url, "https://ghcr.invalid");
  assert_false(eps[0].insecure);
  registry_endpoints_free(eps, n);

  const char *insecure[] = {"ghcr.invalid"};
  assert_int_equal(registry_endpoints("ghcr.invalid", insecure, 1, NULL, 0, &eps, &n, &e), 0);
  assert_int_equal(n, 2);
  assert_string_equal(eps[1].base_url, "http://ghcr.invalid");
  registry_endpoints_free(eps, n);

  assert_int_equal(registry_endpoints("", NULL, 0, NULL, 0, &eps, &n, &e), -1);
  assert_int_equal(e.status, 400);
}

/* ---- error answers ---------------------------------------------------------------------- */

static void answer(reg_response *rs, long status, const char *ct, const char *body,
                   const char *www) {
  reg_response_init(rs);
  rs->status = status;
  rs->content_type = ct ? xstrdup(ct) : NULL;
  if (body) sb_puts(&rs->body, body);
  if (www) {
    rs->www_auth = xmalloc(sizeof *rs->www_auth);
    rs->www_auth[0] = xstrdup(www);
    rs->nwww_auth = 1;
  }
}

static void expect_error(long status, const char *ct, const char *body, const char *www,
                         const char *want_id, bool want_bare, const char *want_text,
                         int want_status) {
  reg_response rs;
  answer(&rs, status, ct, body, www);
  char text[1024];
  bool bare = true;
  const char *id = reg_error_text(&rs, text, sizeof text, &bare);
  if (want_id) {
    assert_non_null(id);
    assert_string_equal(id, want_id);
  } else {
    assert_null(id);
  }
  assert_int_equal(bare, want_bare);
  if (strcmp(text, want_text)) fail_msg("got '%s', want '%s'", text, want_text);
  arca_err e = {0};
  assert_int_equal(reg_fail_response(&rs, &e), -1);
  assert_int_equal(e.status, want_status);
  assert_string_equal(e.msg, want_text);
  reg_response_free(&rs);
}

static void test_error_answers(void **state) {
  const char *json = "application/json; charset=utf-8";
  /* registry 2.8, unknown tag: the detail keeps it a full errcode.Error */
  expect_error(404, json,
               "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
               "\"detail\":{\"Tag\":\"nope\"}}]}\n",
               NULL, "MANIFEST_UNKNOWN", false, "manifest unknown: manifest unknown", 404);
  /* without detail and with the code's own message distribution keeps a bare ErrorCode */
  expect_error(404, json,
               "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\","
               "\"message\":\"blob unknown to registry\"}]}",
               NULL, "BLOB_UNKNOWN", true, "blob unknown", 404);
  expect_error(404, json,
               "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known "
               "to registry\",\"detail\":{\"name\":\"x\"}},{\"code\":\"DENIED\"}]}",
               NULL, "NAME_UNKNOWN", false,
               "name unknown: repository name not known to registry", 404);
  /* an unknown code reads as UNKNOWN */
  expect_error(400, json, "{\"errors\":[{\"code\":\"WHATEVER\",\"message\":\"odd\"}]}", NULL,
               "UNKNOWN", false, "unknown: odd", 500);
  /* Docker Hub: the bearer challenge's error comes first */
  expect_error(401, json,
               "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\","
               "\"detail\":[{\"Type\":\"repository\",\"Name\":\"library/nope\","
               "\"Action\":\"pull\"}]}]}",
               "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
               "scope=\"repository:library/nope:pull\",error=\"insufficient_scope\"",
               "DENIED", false, "denied: requested access to the resource is denied", 403);
  expect_error(401, json, "{}",
               "Bearer realm=\"r\",error=\"invalid_token\",error_description=\"token expired\"",
               "UNAUTHORIZED", false, "unauthorized: token expired", 401);
  /* registry 2.8 htpasswd, wrong password */
  expect_error(401, json,
               "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\","
               "\"detail\":null}]}",
               "Basic realm=\"Registry Realm\"", "UNAUTHORIZED", true, "unauthorized", 401);
  /* token servers: {"details": ...} (Docker Hub's wrong password) */
  expect_error(401, "application/json", "{\"details\":\"incorrect username or password\"}", NULL,
               "UNAUTHORIZED", false, "unauthorized: incorrect username or password", 401);
  /* no or another content type: the body is the message */
  expect_error(403, NULL, "go away", NULL, "DENIED", false, "denied: go away", 403);
  expect_error(429, "text/plain", "slow down", NULL, "TOOMANYREQUESTS", false,
               "toomanyrequests: slow down", 500);
  expect_error(404, "text/html", "<html>", NULL, "UNKNOWN", false, "unknown: <html>", 500);
  /* JSON that is no error list */
  expect_error(404, json, "{\"errors\":[]}", NULL, NULL, false,
               "error parsing HTTP 404 response body: no error details found in HTTP response "
               "body: \"{\"errors\":[]}\"", 500);
  expect_error(401, json, "not json", NULL, "UNAUTHORIZED", false,
               "unauthorized: authentication required", 401);
  /* outside 4xx */
  expect_error(503, json, "{}", NULL, NULL, false,
               "received unexpected HTTP status: 503 Service Unavailable", 500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64),       cmocka_unit_test(test_auth_decode),
      cmocka_unit_test(test_login_host),   cmocka_unit_test(test_challenges),
      cmocka_unit_test(test_scopes),       cmocka_unit_test(test_link),
      cmocka_unit_test(test_insecure),     cmocka_unit_test(test_endpoints),
      cmocka_unit_test(test_error_answers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
