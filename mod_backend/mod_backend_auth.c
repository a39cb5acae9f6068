/*
 * mod_backend_auth.c - access control through Apache's own phases:
 * AuthType Bearer (tokens checked in check_authn), the backend-token
 * handler that issues them, the authz providers backend-role and
 * backend-claim, roles from tokens or BackendRoleQuery, row ownership,
 * and problem+json bodies for the 401/403 answers httpd itself sends.
 */
#include <stdio.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <mod_core.h>
#include <ap_provider.h>
#include <apr_buckets.h>
#include <apr_lib.h>
#include <util_filter.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

APLOG_USE_MODULE(backend);

be_rctx_t *be_rctx(request_rec *r)
{
    be_rctx_t *x = ap_get_module_config(r->request_config, &backend_module);

    if (!x) {
        x = apr_pcalloc(r->pool, sizeof(*x));
        ap_set_module_config(r->request_config, &backend_module, x);
    }
    return x;
}

static const be_dir_conf_t *dconf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &backend_module);
}

/* ---------------------------------------------------------------------- */
/* SQL a site writes: :user and :claim.NAME                                */

const char *be_sqltpl_parse(apr_pool_t *p, const char *sql, be_sqltpl_t **out)
{
    be_sqltpl_t *t = apr_pcalloc(p, sizeof(*t));
    const char *s = sql, *start = sql;
    char quote = 0;

    t->parts = apr_array_make(p, 4, sizeof(be_sqlpart_t));
    for (; *s; s++) {
        be_sqlpart_t *part;
        if (quote) {
            quote = *s == quote ? 0 : quote;
            continue;
        }
        if (*s == '\'' || *s == '"') {
            quote = *s;
            continue;
        }
        if (*s != ':' || s[1] == ':' || (s > sql && s[-1] == ':')) {
            continue;
        }
        if (strncmp(s, ":user", 5) == 0 && !apr_isalnum(s[5]) && s[5] != '_') {
            part = apr_array_push(t->parts);
            part->text = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
            part->claim = NULL;
            part = apr_array_push(t->parts);
            part->text = NULL;
            part->claim = NULL;
            s += 4;
            start = s + 1;
        }
        else if (strncmp(s, ":claim.", 7) == 0) {
            const char *n = s + 7;
            while (apr_isalnum(*n) || *n == '_') {
                n++;
            }
            if (n == s + 7) {
                return "':claim.' needs a claim name";
            }
            part = apr_array_push(t->parts);
            part->text = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
            part->claim = NULL;
            part = apr_array_push(t->parts);
            part->text = NULL;
            part->claim = apr_pstrmemdup(p, s + 7, (apr_size_t)(n - s - 7));
            s = n - 1;
            start = n;
        }
    }
    if (quote) {
        return "unterminated quote";
    }
    {
        be_sqlpart_t *part = apr_array_push(t->parts);
        part->text = apr_pstrdup(p, start);
        part->claim = NULL;
    }
    *out = t;
    return NULL;
}

int be_sqltpl_nargs(const be_sqltpl_t *t)
{
    int i, n = 0;

    for (i = 0; i < t->parts->nelts; i++) {
        n += APR_ARRAY_IDX(t->parts, i, be_sqlpart_t).text == NULL;
    }
    return n;
}

/* The statement for one request: parameters bound to the user and the
 * claims of its token. */
static void sqltpl_stmt(request_rec *r, const be_sqltpl_t *t, be_dialect_e d,
                        be_stmt_t *st)
{
    be_rctx_t *x = be_rctx(r);
    const be_claims_t *claims = x->claims;
    apr_array_header_t *args = apr_array_make(r->pool, 2,
                                              sizeof(const be_value_t *));
    be_buf_t b;
    int i;

    be_buf_init(&b, r->pool, 128);
    for (i = 0; i < t->parts->nelts; i++) {
        const be_sqlpart_t *part = &APR_ARRAY_IDX(t->parts, i, be_sqlpart_t);
        be_value_t *v;
        const char *val;
        if (part->text) {
            be_buf_adds(&b, part->text);
            continue;
        }
        val = part->claim ? (claims ? apr_table_get(claims->claims,
                                                    part->claim) : NULL)
                          : r->user;
        v = apr_pcalloc(r->pool, sizeof(*v));
        v->kind = val ? BE_V_TEXT : BE_V_NULL;
        v->s = val;
        v->len = val ? strlen(val) : 0;
        APR_ARRAY_PUSH(args, const be_value_t *) = v;
        be_buf_printf(&b, d == BE_DIALECT_PGSQL ? "$%d" : "?%d", args->nelts);
    }
    st->sql = be_buf_cstr(&b);
    st->nargs = args->nelts;
    st->args = (const be_value_t **)args->elts;
}

/* ---------------------------------------------------------------------- */
/* Roles and ownership                                                     */

apr_array_header_t *be_user_roles(request_rec *r)
{
    be_rctx_t *x = be_rctx(r);
    const be_dir_conf_t *dc = dconf(r);
    const be_claims_t *claims = x->claims;
    be_conn_t *c;
    be_stmt_t st;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL};

    if (x->roles) {
        return x->roles;
    }
    if (claims && (claims->roles->nelts > 0 || !dc->role_query)) {
        return x->roles = claims->roles;
    }
    /* no roles in the token (or no token): ask the database */
    x->roles = apr_array_make(r->pool, 2, sizeof(const char *));
    if (!r->user || !dc->role_query) {
        return x->roles;
    }
    /* BackendRoleQuery, once per request, on the pooled connection */
    if (!(c = be_db_acquire(r, NULL))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00040: no database "
                      "connection for BackendRoleQuery");
        x->roles_failed = HTTP_SERVICE_UNAVAILABLE;
        return x->roles = NULL;
    }
    sqltpl_stmt(r, dc->role_query, c->ex->dialect, &st);
    if (c->ex->strings(c, r->pool, &st, x->roles, &err) != BE_DB_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00041: BackendRoleQuery "
                      "failed: %s", err.message ? err.message : "");
        x->roles_failed = err.rc == BE_DB_UNAVAILABLE
                          ? HTTP_SERVICE_UNAVAILABLE
                          : HTTP_INTERNAL_SERVER_ERROR;
        return x->roles = NULL;
    }
    return x->roles;
}

static int has_any(const apr_array_header_t *have,
                   const apr_array_header_t *want)
{
    int i, j;

    for (i = 0; have && i < have->nelts; i++) {
        for (j = 0; want && j < want->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(have, i, const char *),
                        APR_ARRAY_IDX(want, j, const char *))) {
                return 1;
            }
        }
    }
    return 0;
}

int be_owner_scoped(request_rec *r, const be_dir_conf_t *dc,
                    const be_resource_t *res)
{
    if (!res->owner) {
        return 0;
    }
    return !(dc->bypass && has_any(be_user_roles(r), dc->bypass));
}

/* ---------------------------------------------------------------------- */
/* Problem bodies for the 401 and 403 httpd sends itself                   */

static const char *problem_text(request_rec *r, int status,
                                const char *detail)
{
    const char *line = ap_get_status_line(status);

    /* (ap_custom_response marks a literal text with a leading quote) */
    return be_problem_json(r->pool, status, line + 4, detail, NULL);
}

/* httpd writes error pages as text/html; for our answers the body is a
 * problem, so the type is fixed on the way out. */
apr_status_t be_problem_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (r->status == HTTP_UNAUTHORIZED || r->status == HTTP_FORBIDDEN) {
        if (r->content_type && !strncmp(r->content_type, "text/html", 9)) {
            ap_set_content_type(r, "application/problem+json");
        }
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static int is_bearer(request_rec *r)
{
    const char *t = ap_auth_type(r);
    return t && !strcasecmp(t, "Bearer");
}

/* httpd's own error answers (a refused Require, a failed Basic login)
 * run through the error filters: this is where an API location's 401 and
 * 403 get a problem body, and only then, not on every request.  A custom
 * response already set (ours for Bearer, or a site's ErrorDocument) stays.
 */
void be_insert_error_filter(request_rec *r)
{
    static const char unauthorized[] =
        "{\"type\":\"about:blank\",\"title\":\"Unauthorized\","
        "\"status\":401,\"detail\":\"authentication is required\"}";
    static const char forbidden[] =
        "{\"type\":\"about:blank\",\"title\":\"Forbidden\","
        "\"status\":403,\"detail\":\"you may not do this\"}";
    const be_dir_conf_t *dc = dconf(r);
    be_rctx_t *x;
    int status = r->status;

    if ((status != HTTP_UNAUTHORIZED && status != HTTP_FORBIDDEN) || !dc
        || (!dc->keys && apr_hash_count(dc->resources) == 0
            && !is_bearer(r))) {
        return;
    }
    x = be_rctx(r);
    if (!ap_auth_type(r) && !x->api) {
        return;
    }
    if (!ap_response_code_string(r, ap_index_of_response(status))) {
        ap_custom_response(r, status, status == HTTP_UNAUTHORIZED
                                          ? unauthorized : forbidden);
        x->problems = 1;
    }
    if (x->problems) {
        ap_add_output_filter(BE_PROBLEM_FILTER, NULL, r, r->connection);
    }
}

/* ---------------------------------------------------------------------- */
/* AuthType Bearer                                                         */

/* Logs why a token was refused, by sort (never the token or a claim's
 * value: why names claims, not what they hold). */
static void log_refusal(request_rec *r, const char *why,
                        be_jwt_refusal_e kind)
{
    switch (kind) {
    case BE_JWT_CLAIM_TYPE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00060: bearer token "
                      "refused, a claim of the wrong type: %s", why);
        break;
    case BE_JWT_DUPLICATE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00061: bearer token "
                      "refused, a name given twice: %s", why);
        break;
    case BE_JWT_CONTROL_CHAR:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00062: bearer token "
                      "refused, a NUL or control character: %s", why);
        break;
    case BE_JWT_HEADER_TYPE:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00063: bearer token "
                      "refused, a header parameter: %s", why);
        break;
    case BE_JWT_NOT_JSON:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00064: bearer token "
                      "refused, not JSON: %s", why);
        break;
    default:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BE00042: bearer token "
                      "refused: %s", why);
        break;
    }
}

static int bearer_fail(request_rec *r, const char *why,
                       be_jwt_refusal_e kind)
{
    const char *safe = why ? ap_escape_quotes(r->pool, why) : NULL;

    apr_table_setn(r->err_headers_out, "WWW-Authenticate", why
        ? apr_psprintf(r->pool, "Bearer error=\"invalid_token\", "
                       "error_description=\"%s\"", safe)
        : "Bearer");
    ap_custom_response(r, HTTP_UNAUTHORIZED, problem_text(
                           r, HTTP_UNAUTHORIZED,
                           why ? apr_pstrcat(r->pool, "invalid token: ", why,
                                             NULL)
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

void be_auth_child_init(apr_pool_t *pchild)
{
    token_cache = be_jwt_cache_create(pchild, BE_TOKEN_CACHE_SLOTS);
}

int be_check_bearer(request_rec *r)
{
    const be_dir_conf_t *dc = dconf(r);
    const char *h, *token;
    be_jwt_policy_t pol;
    be_claims_t *claims;
    be_jwt_refusal_e kind;
    const char *why;

    if (!is_bearer(r)) {
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
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00043: AuthType Bearer "
                      "without BackendTokenKey");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    pol.keys = dc->keys;
    pol.issuer = dc->issuer;
    pol.audience = dc->audience;
    pol.leeway = be_conf_leeway(dc);
    pol.user_claim = be_conf_user_claim(dc);
    pol.cache = token_cache;
    if ((why = be_jwt_verify(r->pool, token, &pol, r->request_time,
                             &claims, &kind))) {
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

/* ---------------------------------------------------------------------- */
/* Require backend-role ROLE... / backend-claim NAME VALUE...              */

static const char *parse_words(cmd_parms *cmd, const char *line,
                               const void **parsed, int min)
{
    apr_array_header_t *words = apr_array_make(cmd->pool, 4, sizeof(char *));
    const char *w;

    while (*line && (w = ap_getword_conf(cmd->pool, &line)) && *w) {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    if (words->nelts < min) {
        return apr_psprintf(cmd->pool, "Require %s needs %s",
                            cmd->cmd ? cmd->cmd->name : "",
                            min == 1 ? "at least one ROLE"
                                     : "a claim NAME and at least one VALUE");
    }
    *parsed = words;
    return NULL;
}

static const char *role_parse(cmd_parms *cmd, const char *line,
                              const void **parsed)
{
    const char *err = parse_words(cmd, line, parsed, 1);
    return err ? "Require backend-role needs at least one ROLE" : NULL;
}

static const char *claim_parse(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    const char *err = parse_words(cmd, line, parsed, 2);
    return err ? "Require backend-claim needs a claim NAME and at least one "
                 "VALUE" : NULL;
}

static authz_status role_check(request_rec *r, const char *line,
                               const void *parsed)
{
    apr_array_header_t *roles;

    (void)line;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (!(roles = be_user_roles(r))) {
        return AUTHZ_GENERAL_ERROR;
    }
    return has_any(roles, parsed) ? AUTHZ_GRANTED : AUTHZ_DENIED;
}

static authz_status claim_check(request_rec *r, const char *line,
                                const void *parsed)
{
    const apr_array_header_t *words = parsed;
    const be_claims_t *claims = be_rctx(r)->claims;
    const char *have;
    int i;

    (void)line;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (!claims || !(have = apr_table_get(claims->claims,
                                          APR_ARRAY_IDX(words, 0,
                                                        const char *)))) {
        return AUTHZ_DENIED;
    }
    for (i = 1; i < words->nelts; i++) {
        if (!strcmp(have, APR_ARRAY_IDX(words, i, const char *))) {
            return AUTHZ_GRANTED;
        }
    }
    return AUTHZ_DENIED;
}

const authz_provider be_role_provider = {role_check, role_parse};
const authz_provider be_claim_provider = {claim_check, claim_parse};

/* ---------------------------------------------------------------------- */
/* SetHandler backend-token                                                */

static int issue_token(request_rec *r)
{
    const be_dir_conf_t *dc;
    const be_jwt_key_t *key = NULL;
    apr_array_header_t *roles;
    apr_int64_t now = (apr_int64_t)apr_time_sec(r->request_time);
    int life, i;
    const char *token;
    be_buf_t b;

    dc = dconf(r);
    if (r->method_number != M_GET && r->method_number != M_POST) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD, POST");
        return be_problem(r, HTTP_METHOD_NOT_ALLOWED, "ask for a token with "
                          "GET or POST", NULL);
    }
    if (!r->user) {
        return be_problem(r, HTTP_UNAUTHORIZED, "authentication is required",
                          NULL);
    }
    for (i = 0; dc->keys && i < dc->keys->nelts; i++) {
        const be_jwt_key_t *k = APR_ARRAY_IDX(dc->keys, i,
                                              const be_jwt_key_t *);
        if (k->alg == BE_ALG_HS256 || k->priv) {
            key = k; /* the first key that can sign */
            break;
        }
    }
    if (!key) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00044: backend-token "
                      "needs a BackendTokenKey that can sign (hs256, or a "
                      "private key)");
        return be_problem(r, HTTP_INTERNAL_SERVER_ERROR, "no signing key",
                          NULL);
    }
    if (!(roles = be_user_roles(r))) {
        return be_rctx(r)->roles_failed == HTTP_SERVICE_UNAVAILABLE
               ? be_problem(r, HTTP_SERVICE_UNAVAILABLE,
                            BE_DETAIL_UNAVAILABLE, NULL)
               : be_problem(r, HTTP_INTERNAL_SERVER_ERROR,
                            "the roles of the user could not be read", NULL);
    }
    life = be_conf_lifetime(dc);

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
    if (!(token = be_jwt_sign(r->pool, key, be_buf_cstr(&b)))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "BE00045: signing failed");
        return be_problem(r, HTTP_INTERNAL_SERVER_ERROR, "the token could "
                          "not be signed", NULL);
    }
    be_buf_init(&b, r->pool, strlen(token) + 80);
    be_buf_adds(&b, "{\"access_token\":\"");
    be_buf_adds(&b, token);
    be_buf_printf(&b, "\",\"token_type\":\"Bearer\",\"expires_in\":%d}",
                  life);
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
