/*
 * mod_backend_token.c - SetHandler backend-token: issues a signed token
 * (be_jwt_sign) to a user that another Apache authn provider accepted,
 * with the user's roles, BackendTokenIssuer/Audience and
 * BackendTokenLifetime; AuthType Bearer verifies it later.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

APLOG_USE_MODULE(backend);

/* The first BackendTokenKey that can sign (hs256, or a private key). */
static const be_jwt_key_t *signing_key(const be_dir_conf_t *dc)
{
    int i;

    for (i = 0; dc->keys && i < dc->keys->nelts; i++) {
        const be_jwt_key_t *k =
            APR_ARRAY_IDX(dc->keys, i, const be_jwt_key_t *);
        if (k->alg == BE_ALG_HS256 || k->priv) {
            return k;
        }
    }
    return NULL;
}

/* The claims of r->user's token, as JSON: sub, iat, exp, iss and aud when
 * configured, and the roles. */
static const char *token_claims(request_rec *r, const be_dir_conf_t *dc,
                                const apr_array_header_t *roles, int life)
{
    apr_int64_t now = (apr_int64_t)apr_time_sec(r->request_time);
    be_buf_t b;
    int i;

    be_buf_init(&b, r->pool, 256);
    be_buf_adds(&b, "{\"sub\":");
    be_json_escape(&b, r->user, strlen(r->user));
    be_buf_printf(&b, ",\"iat\":%lld,\"exp\":%lld", (long long)now,
                  (long long)(now + life));
    if (dc->issuer) {
        be_buf_adds(&b, ",\"iss\":");
        be_json_escape(&b, dc->issuer, strlen(dc->issuer));
    }
    if (dc->audience) {
        be_buf_adds(&b, ",\"aud\":");
        be_json_escape(&b, dc->audience, strlen(dc->audience));
    }
    be_buf_adds(&b, ",\"roles\":[");
    for (i = 0; i < roles->nelts; i++) {
        const char *role = APR_ARRAY_IDX(roles, i, const char *);
        if (i) {
            be_buf_addc(&b, ',');
        }
        be_json_escape(&b, role, strlen(role));
    }
    be_buf_adds(&b, "]}");
    return be_buf_cstr(&b);
}

static int issue_token(request_rec *r)
{
    const be_dir_conf_t *dc = be_dconf(r);
    const be_jwt_key_t *key;
    apr_array_header_t *roles;
    int life;
    const char *token;
    be_buf_t b;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD, POST");
        return be_problem(r, HTTP_METHOD_NOT_ALLOWED,
                          "ask for a token with GET or POST", NULL);
    }
    if (!r->user) {
        return be_problem(r, HTTP_UNAUTHORIZED, "authentication is required",
                          NULL);
    }
    if (!(key = signing_key(dc))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00044: backend-token needs a BackendTokenKey that "
                      "can sign (hs256, or a private key)");
        return be_problem(r, HTTP_INTERNAL_SERVER_ERROR, "no signing key",
                          NULL);
    }
    if (!(roles = be_user_roles(r))) {
        return be_rctx(r)->roles_failed == HTTP_SERVICE_UNAVAILABLE
            ? be_problem(r, HTTP_SERVICE_UNAVAILABLE, BE_DETAIL_UNAVAILABLE,
                         NULL)
            : be_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                         "the roles of the user could not be read", NULL);
    }
    life = be_conf_lifetime(dc);
    if (!(token =
              be_jwt_sign(r->pool, key, token_claims(r, dc, roles, life)))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00045: signing failed");
        return be_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the token could not be signed", NULL);
    }
    be_buf_init(&b, r->pool, strlen(token) + 80);
    be_buf_adds(&b, "{\"access_token\":\"");
    be_buf_adds(&b, token);
    be_buf_printf(&b, "\",\"token_type\":\"Bearer\",\"expires_in\":%d}", life);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return be_send_json(r, HTTP_OK, &b);
}

int be_token_handler(request_rec *r)
{
    int rc;

    if (!r->handler || strcmp(r->handler, "backend-token") != 0) {
        return DECLINED;
    }
    rc = issue_token(r);
    return rc == DONE ? OK : rc;
}
