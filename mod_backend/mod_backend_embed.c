/*
 * mod_backend_embed.c - binds the embedded resources of select= to the
 * resources of the location and the foreign keys between their tables:
 * which rows are related (many-to-one, one-to-many, many-to-many through
 * a declared junction), and the rules of the embedded resource (hidden
 * columns, owner scope) that its rows obey as if read directly.
 */
#include "mod_backend_private.h"

/* Table names as a foreign key and a BackendResource write them. */
static int same_table(const char *a, const char *b)
{
    if (!strncasecmp(a, "public.", 7)) {
        a += 7;
    }
    if (!strncasecmp(b, "public.", 7)) {
        b += 7;
    }
    return !strcasecmp(a, b);
}

/* A resource of the same location as res, by name. */
static be_resource_t *sibling(be_req_t *q, const be_resource_t *res,
                              const char *name)
{
    const char *slash = strrchr(res->path, '/');
    const char *path =
        apr_pstrcat(q->r->pool,
                    apr_pstrmemdup(q->r->pool, res->path,
                                   (apr_size_t)(slash - res->path) + 1),
                    name, NULL);

    return q->dc->resources
        ? apr_hash_get(q->dc->resources, path, APR_HASH_KEY_STRING)
        : NULL;
}

/* Column name of t, hidden or not (a relation's columns need not be
 * readable), or NULL. */
static const be_column_t *col(const be_table_t *t, const char *name)
{
    if (!name) {
        return t->key >= 0 ? &APR_ARRAY_IDX(t->cols, t->key, be_column_t)
                           : NULL;
    }
    return apr_hash_get(t->by_name, name, APR_HASH_KEY_STRING);
}

/* The columns of a foreign key of from that refers to to, as the pair
 * (from's, to's); 0 when a column is not there. */
static int fk_cols(apr_pool_t *p, const be_fk_t *fk, const be_table_t *from,
                   const be_table_t *to, const be_column_t ***fc,
                   const be_column_t ***tc)
{
    int i;

    *fc = apr_palloc(p, sizeof(**fc) * (apr_size_t)fk->ncols);
    *tc = apr_palloc(p, sizeof(**tc) * (apr_size_t)fk->ncols);
    for (i = 0; i < fk->ncols; i++) {
        if (!((*fc)[i] = col(from, fk->cols[i]))
            || !((*tc)[i] = col(to, fk->ref_cols[i]))) {
            return 0;
        }
    }
    return 1;
}

/* A !hint names a foreign key, or one of its columns. */
static int hinted(const be_fk_t *fk, const char *hint)
{
    int i;

    if (!hint || !strcmp(hint, fk->name)) {
        return 1;
    }
    for (i = 0; i < fk->ncols; i++) {
        if (!strcmp(hint, fk->cols[i])) {
            return 1;
        }
    }
    return 0;
}

/* Every column of fk is in t's primary key: a junction's link. */
static int in_key(const be_table_t *t, const be_fk_t *fk)
{
    int i;

    for (i = 0; i < fk->ncols; i++) {
        const be_column_t *c = col(t, fk->cols[i]);
        if (!c || !c->pk) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    be_embed_t e;             /* the relation's part of it */
    const char *label;        /* NAME!hint that picks it */
    const be_resource_t *via; /* many-to-many: the junction */
} cand_t;

/* What a resource's rows obey when the user reads them: its owner scope
 * and its BackendRule read rules.  OK, or the answer is sent. */
static int read_scope(be_req_t *q, const be_resource_t *res,
                      const be_plan_t *pl, const be_value_t **owner,
                      const apr_array_header_t **rules)
{
    request_rec *r = q->r;
    int rc;

    if (pl->owner && be_owner_scoped(r, q->dc, res)) {
        be_value_t *v = apr_pcalloc(r->pool, sizeof(*v));
        if (!r->user) {
            return be_problem(r, HTTP_UNAUTHORIZED,
                              apr_psprintf(r->pool,
                                           "%s needs an authenticated user",
                                           res->name),
                              NULL);
        }
        if (be_filter_value(r->pool, pl->owner, r->user, v)) {
            return be_problem(r, HTTP_FORBIDDEN, "you may not do this", NULL);
        }
        *owner = v;
    }
    *rules = be_rules_bound(r, q->dc, res, BE_RULE_READ, &rc);
    if (rc != OK) {
        return be_problem(r, rc, "the user's roles could not be read", NULL);
    }
    return OK;
}

/* Junctions: resources of the location whose key holds a foreign key to
 * the parent's table and one to the child's. */
static void junctions(be_req_t *q, const be_plan_t *pp, const be_plan_t *cp,
                      const be_embed_t *e, apr_array_header_t *cands)
{
    apr_hash_index_t *hi;
    apr_pool_t *p = q->r->pool;

    for (hi = apr_hash_first(p, q->dc->resources); hi;
         hi = apr_hash_next(hi)) {
        be_resource_t *jr = apr_hash_this_val(hi);
        const be_plan_t *jp;
        be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
        int a, b;

        if (jr->fn || !(jp = be_db_plan(q->r, jr, q->conn, &err))
            || jp->table == pp->table || jp->table == cp->table
            || (e->hint && strcmp(e->hint, jr->name))) {
            continue;
        }
        for (a = 0; a < jp->table->fks->nelts; a++) {
            const be_fk_t *fa = &APR_ARRAY_IDX(jp->table->fks, a, be_fk_t);
            if (!same_table(fa->table, pp->table->name)
                || !in_key(jp->table, fa)) {
                continue;
            }
            for (b = 0; b < jp->table->fks->nelts; b++) {
                const be_fk_t *fb = &APR_ARRAY_IDX(jp->table->fks, b, be_fk_t);
                cand_t *c;
                if (b == a || !same_table(fb->table, cp->table->name)
                    || !in_key(jp->table, fb)) {
                    continue;
                }
                c = apr_array_push(cands);
                memset(c, 0, sizeof(*c));
                c->e.many = 1;
                c->e.via = jp;
                c->via = jr;
                c->e.npairs = fa->ncols;
                c->e.nvia = fb->ncols;
                c->label = apr_psprintf(p, "%s!%s", e->name, jr->name);
                if (!fk_cols(p, fa, jp->table, pp->table,
                             (const be_column_t ***)&c->e.jp,
                             (const be_column_t ***)&c->e.pcols)
                    || !fk_cols(p, fb, jp->table, cp->table,
                                (const be_column_t ***)&c->e.jc,
                                (const be_column_t ***)&c->e.ccols)) {
                    cands->nelts--;
                }
            }
        }
    }
}

/* BackendRelation of from's that refer to to: many-to-one when from is
 * the parent, one-to-many when it is the embedded resource. */
static void declared_relations(apr_pool_t *p, const be_resource_t *from,
                               const be_plan_t *fp, const be_resource_t *to,
                               const be_plan_t *tp, const be_embed_t *e,
                               int many, apr_array_header_t *cands)
{
    int i;

    for (i = 0; from->relations && i < from->relations->nelts; i++) {
        const be_relation_t *rel =
            &APR_ARRAY_IDX(from->relations, i, be_relation_t);
        const be_column_t **fc = apr_palloc(p, sizeof(*fc)),
                          **tc = apr_palloc(p, sizeof(*tc));
        cand_t *c;
        if (rel->target != to || (e->hint && strcmp(e->hint, rel->column))
            || !(fc[0] = col(fp->table, rel->column))
            || !(tc[0] = col(tp->table, rel->target_column))) {
            continue;
        }
        c = apr_array_push(cands);
        memset(c, 0, sizeof(*c));
        c->e.many = many;
        c->e.npairs = 1;
        c->e.pcols = many ? tc : fc;
        c->e.ccols = many ? fc : tc;
        c->label = apr_psprintf(p, "%s!%s", e->name, rel->column);
    }
}

/* The relations between the parent's rows and the embedded resource's. */
static apr_array_header_t *relations(be_req_t *q, const be_resource_t *pres,
                                     const be_plan_t *pp,
                                     const be_resource_t *cres,
                                     const be_plan_t *cp, const be_embed_t *e)
{
    apr_pool_t *p = q->r->pool;
    apr_array_header_t *cands = apr_array_make(p, 2, sizeof(cand_t));
    const be_table_t *pt = pp->table, *ct = cp->table;
    int i;

    /* many-to-one: the parent refers to it */
    for (i = 0; i < pt->fks->nelts; i++) {
        const be_fk_t *fk = &APR_ARRAY_IDX(pt->fks, i, be_fk_t);
        cand_t *c;
        if (!same_table(fk->table, ct->name) || !hinted(fk, e->hint)) {
            continue;
        }
        c = apr_array_push(cands);
        memset(c, 0, sizeof(*c));
        c->e.npairs = fk->ncols;
        c->label = apr_psprintf(p, "%s!%s", e->name, fk->name);
        if (!fk_cols(p, fk, pt, ct, (const be_column_t ***)&c->e.pcols,
                     (const be_column_t ***)&c->e.ccols)) {
            cands->nelts--;
        }
    }
    /* one-to-many: its rows refer to the parent */
    for (i = 0; i < ct->fks->nelts; i++) {
        const be_fk_t *fk = &APR_ARRAY_IDX(ct->fks, i, be_fk_t);
        cand_t *c;
        if (!same_table(fk->table, pt->name) || !hinted(fk, e->hint)) {
            continue;
        }
        c = apr_array_push(cands);
        memset(c, 0, sizeof(*c));
        c->e.many = 1;
        c->e.npairs = fk->ncols;
        c->label = apr_psprintf(p, "%s!%s", e->name, fk->name);
        if (!fk_cols(p, fk, ct, pt, (const be_column_t ***)&c->e.ccols,
                     (const be_column_t ***)&c->e.pcols)) {
            cands->nelts--;
        }
    }
    declared_relations(p, pres, pp, cres, cp, e, 0, cands);
    declared_relations(p, cres, cp, pres, pp, e, 1, cands);
    if (!cands->nelts) {
        junctions(q, pp, cp, e, cands);
    }
    return cands;
}

static int bind_list(be_req_t *q, const be_resource_t *pres,
                     const be_plan_t *pp, apr_array_header_t *select,
                     int depth);

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int bind_one(be_req_t *q, const be_resource_t *pres,
                    const be_plan_t *pp, be_select_t *s, int depth)
{
    request_rec *r = q->r;
    be_embed_t *e = s->embed;
    be_dberr_t err = {BE_DB_OK, NULL, NULL, NULL, 0, NULL};
    be_resource_t *cres = sibling(q, pres, e->name);
    const be_plan_t *cp;
    apr_array_header_t *cands;
    const cand_t *c;
    int i;

    if (!cres || cres->fn) {
        return be_problem(r, HTTP_BAD_REQUEST,
                          apr_psprintf(r->pool,
                                       "select: '%s' is not a resource of "
                                       "this location",
                                       e->name),
                          NULL);
    }
    if (!(cp = be_db_plan(r, cres, q->conn, &err))) {
        return be_db_problem(q, &err, 1);
    }
    cands = relations(q, pres, pp, cres, cp, e);
    if (cands->nelts == 0) {
        return be_problem(
            r, HTTP_BAD_REQUEST,
            apr_psprintf(r->pool,
                         "select: no relationship between %s and %s%s%s",
                         pres->name, e->name, e->hint ? " named " : "",
                         e->hint ? e->hint : ""),
            NULL);
    }
    if (cands->nelts > 1) {
        be_buf_t b;
        const char **labels =
            apr_palloc(r->pool, sizeof(*labels) * (apr_size_t)cands->nelts);
        for (i = 0; i < cands->nelts; i++) {
            labels[i] = APR_ARRAY_IDX(cands, i, cand_t).label;
        }
        qsort(labels, (size_t)cands->nelts, sizeof(*labels), by_text);
        be_buf_init(&b, r->pool, 128);
        for (i = 0; i < cands->nelts; i++) {
            be_buf_printf(&b, "%s%s", i ? ", " : "", labels[i]);
        }
        return be_problem(
            r, HTTP_MULTIPLE_CHOICES,
            apr_psprintf(r->pool,
                         "select: more than one relationship between %s and "
                         "%s; name one: %s",
                         pres->name, e->name, be_buf_cstr(&b)),
            NULL);
    }
    c = &APR_ARRAY_IDX(cands, 0, cand_t);
    if (e->spread && c->e.many) {
        return be_problem(r, HTTP_BAD_REQUEST,
                          apr_psprintf(r->pool,
                                       "select: ...%s: only a resource the "
                                       "row refers to (one row) can be "
                                       "spread",
                                       e->name),
                          NULL);
    }
    e->plan = cp;
    e->many = c->e.many;
    e->npairs = c->e.npairs;
    e->nvia = c->e.nvia;
    e->pcols = c->e.pcols;
    e->ccols = c->e.ccols;
    e->jp = c->e.jp;
    e->jc = c->e.jc;
    e->via = c->e.via;
    if ((i = read_scope(q, cres, cp, &e->owner, &e->rules)) != OK
        || (c->via
            && (i = read_scope(q, c->via, c->e.via, &e->via_owner,
                               &e->via_rules))
                != OK)) {
        return i;
    }
    if (e->spread) {
        for (i = 0; i < e->q->select->nelts; i++) {
            if (APR_ARRAY_IDX(e->q->select, i, be_select_t).embed) {
                return be_problem(r, HTTP_BAD_REQUEST,
                                  apr_psprintf(r->pool,
                                               "select: ...%s: a spread "
                                               "embeds nothing",
                                               e->name),
                                  NULL);
            }
        }
    }
    return bind_list(q, cres, cp, e->q->select, depth + 1);
}

static int bind_list(be_req_t *q, const be_resource_t *pres,
                     const be_plan_t *pp, apr_array_header_t *select,
                     int depth)
{
    int i, rc;

    for (i = 0; select && i < select->nelts; i++) {
        be_select_t *s = &APR_ARRAY_IDX(select, i, be_select_t);
        if (s->embed && (rc = bind_one(q, pres, pp, s, depth)) != OK) {
            return rc;
        }
    }
    return OK;
}

int be_embed_bind(be_req_t *q)
{
    const apr_array_header_t *select = q->q->select;
    int i, any = 0;

    for (i = 0; select && i < select->nelts && !any; i++) {
        any = APR_ARRAY_IDX(select, i, be_select_t).embed != NULL;
    }
    if (!any) {
        return OK;
    }
    if (q->res->fn) {
        return be_problem(q->r, HTTP_BAD_REQUEST,
                          "select: a function's rows embed nothing", NULL);
    }
    if (q->r->method_number != M_GET) {
        return be_problem(q->r, HTTP_BAD_REQUEST,
                          "select: resources are embedded in reads (GET); "
                          "a write answers its own rows",
                          NULL);
    }
    q->where.select = q->q->select;
    return bind_list(q, q->res, q->plan, q->q->select, 1);
}
