/*
 * mod_backend_bearer.c - AuthType Bearer: check_authn verifies the token
 * of the Authorization header (be_jwt.c) against BackendTokenKey, with a
 * per-child cache of verified tokens, and sets r->user and the claims;
 * a refusal answers 401 with an invalid_token challenge and a problem
 * body, and note_auth_failure challenges again after a refused Require.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

APLOG_USE_MODULE(backend);

/* AuthType Bearer applies to this request. */
int be_is_bearer(request_rec *r)
{
    const char *t = ap_auth_type(r);
    return t && !strcasecmp(t, "Bearer");
}

/* Logs why a token was refused, by sort (never the token or a claim's
 * value: why names claims, not what they hold). */
static void log_refusal(request_rec *r, const char *why, be_jwt_refusal_e kind)
{
    switch (kind) {
    case BE_JWT_CLAIM_TYPE:
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            "BE00060: bearer token refused, a claim of the wrong type: %s",
            why);
        break;
    case BE_JWT_DUPLICATE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "BE00061: bearer token refused, a name given twice: %s",
                      why);
        break;
    case BE_JWT_CONTROL_CHAR:
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            "BE00062: bearer token refused, a NUL or control character: %s",
            why);
        break;
    case BE_JWT_HEADER_TYPE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "BE00063: bearer token refused, a header parameter: %s",
                      why);
        break;
    case BE_JWT_NOT_JSON:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "BE00064: bearer token refused, not JSON: %s", why);
        break;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "BE00042: bearer token refused: %s", why);
        break;
    }
}

static int bearer_fail(request_rec *r, const char *why, be_jwt_refusal_e kind)
{
    const char *safe = why ? ap_escape_quotes(r->pool, why) : NULL;

    apr_table_setn(
        r->err_headers_out, "WWW-Authenticate",
        why ? apr_psprintf(
            r->pool,
            "Bearer error=\"invalid_token\", error_description=\"%s\"", safe)
            : "Bearer");
    ap_custom_response(
        r, HTTP_UNAUTHORIZED,
        be_problem_text(
            r, HTTP_UNAUTHORIZED,
            why ? apr_pstrcat(r->pool, "invalid token: ", why, NULL)
                : "a bearer token is required"));
    be_rctx(r)->problems = 1;
    if (why) {
        log_refusal(r, why, kind);
    }
    return HTTP_UNAUTHORIZED;
}

/* Verified tokens and their claims, per child: RS256/ES256 verification
 * costs tens of microseconds, HS256 takes OpenSSL's locks, decoding and
 * parsing the claims a few more; a client sends the same token again and
 * again. */
#define BE_TOKEN_CACHE_SLOTS 1024
static be_jwt_cache_t *token_cache;

void be_bearer_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    token_cache = be_jwt_cache_create(pchild, BE_TOKEN_CACHE_SLOTS);
}

int be_check_bearer(request_rec *r)
{
    const be_dir_conf_t *dc = be_dconf(r);
    const char *h, *token;
    be_jwt_policy_t pol;
    be_claims_t *claims;
    be_jwt_refusal_e kind;
    const char *why;
    int hit = 0;

    if (!be_is_bearer(r)) {
        return DECLINED;
    }
    h = apr_table_get(r->headers_in, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        return bearer_fail(r, NULL, BE_JWT_REFUSED);
    }
    token = h + 7;
    while (*token == ' ') {
        token++;
    }
    if (!dc->keys) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00043: AuthType Bearer without BackendTokenKey");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    pol.keys = dc->keys;
    pol.issuer = dc->issuer;
    pol.audience = dc->audience;
    pol.leeway = be_conf_leeway(dc);
    pol.user_claim = be_conf_user_claim(dc);
    pol.cache = token_cache;
    pol.cache_hit = &hit;
    why = be_jwt_verify(r->pool, token, &pol, r->request_time, &claims, &kind);
    if (pol.cache) {
        be_metrics_cache(BE_CACHE_TOKEN, hit);
    }
    if (why) {
        return bearer_fail(r, why, kind);
    }
    r->user = apr_pstrdup(r->pool, claims->sub);
    r->ap_auth_type = "Bearer";
    be_rctx(r)->claims = claims;
    return OK;
}

/* mod_authz_core asks the auth type to challenge again after a refusal. */
int be_note_auth_failure(request_rec *r, const char *type)
{
    if (strcasecmp(type, "Bearer") != 0) {
        return DECLINED;
    }
    if (!apr_table_get(r->err_headers_out, "WWW-Authenticate")) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate", "Bearer");
    }
    return OK;
}
