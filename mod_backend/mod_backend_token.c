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
#include <http_core.h>
#include <apr_base64.h>
#include <ap_expr.h>

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

/* The longest JSON login body read */
#define BE_LOGIN_MAX 8192

/* The body of a JSON login, or NULL when it is not one that fits. */
static const char *login_body(request_rec *r, apr_size_t *len)
{
    apr_bucket_brigade *bb =
        apr_brigade_create(r->pool, r->connection->bucket_alloc);
    char *buf = apr_palloc(r->pool, BE_LOGIN_MAX + 1);
    apr_size_t n = 0;
    int eos = 0;

    while (!eos) {
        apr_bucket *b;
        if (ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                           APR_BLOCK_READ, BE_LOGIN_MAX)
            != APR_SUCCESS) {
            return NULL;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *d;
            apr_size_t k;
            if (APR_BUCKET_IS_EOS(b)) {
                eos = 1;
                break;
            }
            if (apr_bucket_read(b, &d, &k, APR_BLOCK_READ) != APR_SUCCESS
                || n + k > BE_LOGIN_MAX) {
                return NULL;
            }
            memcpy(buf + n, d, k);
            n += k;
        }
        apr_brigade_cleanup(bb);
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A member of a JSON login: a string without NUL, or NULL. */
static const char *login_member(const be_jobject_t *obj, const char *key)
{
    int i;

    for (i = 0; i < obj->fields->nelts; i++) {
        const be_jfield_t *f = &APR_ARRAY_IDX(obj->fields, i, be_jfield_t);
        if (strcmp(f->key, key) == 0 && f->kind == BE_J_STRING
            && strlen(f->s) == f->len) {
            return f->s;
        }
    }
    return NULL;
}

int be_token_login(request_rec *r)
{
    core_dir_config *cd = ap_get_core_module_config(r->per_dir_config);
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *handler = NULL, *err = NULL, *body, *user, *pass, *plain;
    be_jdoc_t *doc;
    apr_size_t len;
    char *coded;

    if (r->method_number != M_POST || r->main
        || apr_table_get(r->headers_in, "Authorization") || !ct
        || strncasecmp(ct, "application/json", 16) != 0) {
        return DECLINED;
    }
    if (cd->expr_handler) {
        handler = ap_expr_str_exec(r, cd->expr_handler, &err);
    }
    if (!handler || strcmp(handler, "backend-token") != 0) {
        return DECLINED;
    }
    /* from here on, a failure is a 401 without a Basic challenge, which
     * would open a browser's login dialog */
    apr_table_setn(r->notes, BE_NOTE_JSON_LOGIN, "1");
    if (!(body = login_body(r, &len))
        || be_json_parse_body(r->pool, body, len, 4, 0, &doc, &err)
            != BE_JSON_OK) {
        return DECLINED;
    }
    user = login_member(APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *),
                        "username");
    pass = login_member(APR_ARRAY_IDX(doc->objects, 0, be_jobject_t *),
                        "password");
    if (!user || !pass || !*user || strchr(user, ':')) {
        return DECLINED;
    }
    /* the credentials go the way Basic's do: AuthBasicProvider, and
     * backend-cache, check them */
    plain = apr_pstrcat(r->pool, user, ":", pass, NULL);
    coded = apr_palloc(r->pool,
                       (apr_size_t)apr_base64_encode_len((int)strlen(plain)));
    apr_base64_encode(coded, plain, (int)strlen(plain));
    apr_table_setn(r->headers_in, "Authorization",
                   apr_pstrcat(r->pool, "Basic ", coded, NULL));
    return DECLINED;
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
