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
    apr_array_header_t *args =
        apr_array_make(r->pool, 2, sizeof(const be_value_t *));
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
        val = part->claim
            ? (claims ? apr_table_get(claims->claims, part->claim) : NULL)
            : r->user;
        v = apr_pcalloc(r->pool, sizeof(*v));
        v->kind = val ? BE_V_TEXT : BE_V_NULL;
        v->s = val;
        v->len = val ? strlen(val) : 0;
        APR_ARRAY_PUSH(args, const be_value_t *) = v;
        be_sql_placeholder(&b, d, args->nelts);
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
    const be_dir_conf_t *dc = be_dconf(r);
    const be_claims_t *claims = x->claims;
    be_conn_t *c;
    be_stmt_t st;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0};

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
