/*
 * mod_backend_authz.c - who may do what: the authz providers of
 * Require backend-role and Require backend-claim, the user's roles (from
 * the token, or BackendRoleQuery once per request), row ownership and
 * BackendOwnerBypass, and the SQL a site writes with :user and
 * :claim.NAME (BackendRoleQuery).
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_auth.h>
#include <apr_lib.h>

#include "mod_backend_private.h"
#include "be_jwt.h"

APLOG_USE_MODULE(backend);

/* ---------------------------------------------------------------------- */
/* SQL a site writes: :user, :claim.NAME, :roles, :header.NAME             */

const char *be_sqltpl_parse(apr_pool_t *p, const char *sql,
                            const be_sqltext_t **out)
{
    apr_array_header_t *stmts;
    const char *err =
        be_sql_cut(p, sql, NULL, BE_CTX_USER | BE_CTX_CLAIM, &stmts);

    if (err) {
        return err;
    }
    if (stmts->nelts != 1) {
        return "one statement, please";
    }
    *out = APR_ARRAY_IDX(stmts, 0, const be_sqltext_t *);
    return NULL;
}

static const be_value_t *text_or_null(request_rec *r, const char *s)
{
    be_value_t *v = apr_pcalloc(r->pool, sizeof(*v));

    v->kind = s ? BE_V_TEXT : BE_V_NULL;
    v->s = s;
    v->len = s ? strlen(s) : 0;
    return v;
}

/* The user's roles as a JSON array, or NULL when they could not be read. */
static const char *roles_json(request_rec *r)
{
    apr_array_header_t *roles = be_user_roles(r);
    be_buf_t b;
    int i;

    if (!roles) {
        return NULL;
    }
    be_buf_init(&b, r->pool, 64);
    be_buf_addc(&b, '[');
    for (i = 0; i < roles->nelts; i++) {
        const char *role = APR_ARRAY_IDX(roles, i, const char *);
        if (i) {
            be_buf_addc(&b, ',');
        }
        be_json_escape(&b, role, strlen(role));
    }
    be_buf_addc(&b, ']');
    return be_buf_cstr(&b);
}

static int has_any(const apr_array_header_t *have,
                   const apr_array_header_t *want);

const be_value_t *be_context_value(request_rec *r, const be_param_t *prm)
{
    static const be_value_t one = {BE_V_INT, 1, 0, NULL, 0},
                            zero = {BE_V_INT, 0, 0, NULL, 0};
    const be_claims_t *claims = be_rctx(r)->claims;
    const be_dir_conf_t *dc;
    const char *roles;

    switch (prm->kind) {
    case BE_P_BYPASS:
        dc = be_dconf(r);
        return dc->bypass && has_any(be_user_roles(r), dc->bypass) ? &one
                                                                   : &zero;
    case BE_P_USER:
        return text_or_null(r, r->user);
    case BE_P_CLAIM:
        return text_or_null(
            r, claims ? apr_table_get(claims->claims, prm->name) : NULL);
    case BE_P_HEADER:
        return text_or_null(r, apr_table_get(r->headers_in, prm->name));
    case BE_P_ROLES:
        return (roles = roles_json(r)) ? text_or_null(r, roles) : NULL;
    default:
        return NULL;
    }
}

/* The statement for one request: parameters bound to the user and the
 * claims of its token. */
static void sqltpl_stmt(request_rec *r, const be_sqltext_t *t, be_dialect_e d,
                        be_stmt_t *st)
{
    int i, n = t->params->nelts;
    const be_value_t **args =
        apr_palloc(r->pool, sizeof(*args) * (apr_size_t)(n + 1));

    for (i = 0; i < n; i++) {
        args[i] =
            be_context_value(r, &APR_ARRAY_IDX(t->params, i, be_param_t));
    }
    st->sql = be_sqltext_render(r->pool, t, NULL, d);
    st->nargs = n;
    st->args = args;
}

/* ---------------------------------------------------------------------- */
/* Roles and ownership                                                     */

apr_array_header_t *be_user_roles(request_rec *r)
{
    be_rctx_t *x = be_rctx(r);
    const be_dir_conf_t *dc = be_dconf(r);
    const be_claims_t *claims = x->claims;
    be_conn_t *c;
    be_stmt_t st;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};

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
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00040: no database connection for BackendRoleQuery");
        x->roles_failed = HTTP_SERVICE_UNAVAILABLE;
        return x->roles = NULL;
    }
    sqltpl_stmt(r, dc->role_query, c->ex->dialect, &st);
    if (c->ex->strings(c, r->pool, &st, x->roles, &err) != BE_DB_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "BE00041: BackendRoleQuery failed: %s",
                      err.message ? err.message : "");
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

const apr_array_header_t *be_rules_bound(request_rec *r,
                                         const be_dir_conf_t *dc,
                                         const be_resource_t *res,
                                         be_rule_action_e action, int *rc)
{
    const apr_array_header_t *texts = res->rules[action];
    apr_array_header_t *out;
    int i, j;

    *rc = OK;
    if (!texts || (dc->bypass && has_any(be_user_roles(r), dc->bypass))) {
        return NULL;
    }
    out = apr_array_make(r->pool, texts->nelts, sizeof(be_rule_sql_t));
    for (i = 0; i < texts->nelts; i++) {
        be_rule_sql_t *b = apr_array_push(out);
        b->text = APR_ARRAY_IDX(texts, i, const be_sqltext_t *);
        b->vals = apr_palloc(r->pool,
                             sizeof(*b->vals)
                                 * (apr_size_t)(b->text->params->nelts + 1));
        for (j = 0; j < b->text->params->nelts; j++) {
            if (!(b->vals[j] = be_context_value(
                      r, &APR_ARRAY_IDX(b->text->params, j, be_param_t)))) {
                *rc = be_rctx(r)->roles_failed;
                return NULL;
            }
        }
    }
    return out;
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
/* Require backend-role ROLE... / backend-claim NAME VALUE...              */

/* The words of a Require line, at least min of them (the message names
 * the provider's Require line otherwise). */
static const char *parse_words(cmd_parms *cmd, const char *line,
                               const void **parsed, int min,
                               const char *provider)
{
    apr_array_header_t *words = apr_array_make(cmd->pool, 4, sizeof(char *));
    const char *w;

    while (*line && (w = ap_getword_conf(cmd->pool, &line)) && *w) {
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    if (words->nelts < min) {
        return apr_psprintf(cmd->pool, "Require %s needs %s", provider,
                            min == 1 ? "at least one ROLE"
                                     : "a claim NAME and at least one VALUE");
    }
    *parsed = words;
    return NULL;
}

static const char *role_parse(cmd_parms *cmd, const char *line,
                              const void **parsed)
{
    return parse_words(cmd, line, parsed, 1, "backend-role");
}

static const char *claim_parse(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    return parse_words(cmd, line, parsed, 2, "backend-claim");
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
    if (!claims
        || !(have = apr_table_get(claims->claims,
                                  APR_ARRAY_IDX(words, 0, const char *)))) {
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
