/*
 * mod_backend_check.c - access-control mistakes no single directive shows,
 * refused when httpd reads its configuration (apachectl -t, startup and
 * every restart) rather than answered with a 500 by every request:
 *   AuthType Bearer without a BackendTokenKey,
 *   AuthBasicProvider backend-cache without BackendAuthnCache,
 *   BackendAuthnCache naming a provider no loaded module offers.
 *
 * AuthType and AuthBasicProvider belong to mod_authn_core and
 * mod_auth_basic, whose per-directory configuration is private, so the
 * configuration tree is read (as mod_backend_db.c reads mod_dbd's lines).
 * A <Location> is combined the way a request to its path sees it: the
 * main server's lines, the virtual host's, then every <Location> whose
 * path encloses it.  A directive in any other kind of section
 * (<Directory>, <Files>, <If>, a regex) may apply too, so it counts as
 * present: only what is surely missing is refused.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_auth.h>
#include <ap_provider.h>
#include <util_cfgtree.h>

#include "mod_backend_private.h"

APLOG_USE_MODULE(backend);

/* One section, or the server-level lines of a server: what it sets. */
typedef struct {
    const char *path;                /* <Location PATH>; NULL: other kind */
    const ap_directive_t *auth_type; /* the last AuthType */
    const ap_directive_t *basic;     /* the last AuthBasicProvider */
    const ap_directive_t *cache;     /* a BackendAuthnCache */
    const ap_directive_t *key;       /* a BackendTokenKey */
} sect_t;

/* The main server or one <VirtualHost>. */
typedef struct {
    sect_t *server;
    apr_array_header_t *sects;  /* sect_t*, in file order */
    int other_cache, other_key; /* set in a section of another kind */
} scope_t;

static const char *const section_names[] = {
    "<Location", "<LocationMatch", "<Directory",  "<DirectoryMatch",
    "<Files",    "<FilesMatch",    "<If",         "<ElseIf",
    "<Else",     "<Proxy",         "<ProxyMatch", NULL};

static int is_section(const char *name)
{
    int i;

    for (i = 0; section_names[i]; i++) {
        if (!strcasecmp(name, section_names[i])) {
            return 1;
        }
    }
    return 0;
}

/* The PATH of <Location PATH>, or NULL for a regex or wildcard. */
static const char *location_path(apr_pool_t *p, const ap_directive_t *d)
{
    const char *end = ap_strrchr_c(d->args, '>');
    const char *args = end
        ? apr_pstrmemdup(p, d->args, (apr_size_t)(end - d->args))
        : d->args;
    const char *path = ap_getword_conf(p, &args);

    if (strcasecmp(d->directive, "<Location") || path[0] != '/'
        || strpbrk(path, "*?[")) {
        return NULL;
    }
    return path;
}

static scope_t *scope_make(apr_pool_t *p)
{
    scope_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->server = apr_pcalloc(p, sizeof(sect_t));
    sc->sects = apr_array_make(p, 8, sizeof(sect_t *));
    return sc;
}

static void walk(apr_pool_t *p, const ap_directive_t *d, scope_t *sc,
                 sect_t *cur);

/* One line of the tree, into the section cur of scope sc. */
static void walk_one(apr_pool_t *p, const ap_directive_t *d, scope_t *sc,
                     sect_t *cur)
{
    if (is_section(d->directive)) {
        sect_t *s = apr_pcalloc(p, sizeof(*s));
        s->path = location_path(p, d);
        APR_ARRAY_PUSH(sc->sects, sect_t *) = s;
        walk(p, d->first_child, sc, s);
    }
    else if (d->first_child) {
        /* <Limit>, <RequireAll>...: their lines are the section's */
        walk(p, d->first_child, sc, cur);
    }
    else if (!strcasecmp(d->directive, "AuthType")) {
        cur->auth_type = d;
    }
    else if (!strcasecmp(d->directive, "AuthBasicProvider")) {
        cur->basic = d;
    }
    else if (!strcasecmp(d->directive, "BackendAuthnCache")) {
        cur->cache = cur->cache ? cur->cache : d;
    }
    else if (!strcasecmp(d->directive, "BackendTokenKey")) {
        cur->key = cur->key ? cur->key : d;
    }
}

static void walk(apr_pool_t *p, const ap_directive_t *d, scope_t *sc,
                 sect_t *cur)
{
    for (; d; d = d->next) {
        walk_one(p, d, sc, cur);
    }
}

/* Whether a request to PATH also gets <Location OUTER> (httpd's own rule:
 * a prefix that ends at a slash or at the end). */
static int encloses(const char *outer, const char *path)
{
    apr_size_t n = strlen(outer);

    return !strncmp(outer, path, n)
        && (n == 0 || outer[n - 1] == '/' || path[n] == '/'
            || path[n] == '\0');
}

/* What a request sees: s's lines folded over the ones merged before. */
static void fold(sect_t *into, const sect_t *s)
{
    into->auth_type = s->auth_type ? s->auth_type : into->auth_type;
    into->basic = s->basic ? s->basic : into->basic;
    into->cache = into->cache ? into->cache : s->cache;
    into->key = into->key ? into->key : s->key;
}

static void fold_locations(sect_t *into, const scope_t *sc, const char *path)
{
    int i;

    for (i = 0; i < sc->sects->nelts; i++) {
        const sect_t *s = APR_ARRAY_IDX(sc->sects, i, const sect_t *);
        if (s->path && encloses(s->path, path)) {
            fold(into, s);
        }
    }
}

static int first_word_is(apr_pool_t *p, const ap_directive_t *d,
                         const char *word)
{
    const char *args = d->args;

    return !strcasecmp(ap_getword_conf(p, &args), word);
}

static int names_word(apr_pool_t *p, const ap_directive_t *d, const char *word)
{
    const char *args = d->args, *w;

    while (*args && (w = ap_getword_conf(p, &args)) && *w) {
        if (!strcmp(w, word)) {
            return 1;
        }
    }
    return 0;
}

/* Logs each offending line once; returns 1 when it was new. */
static int refuse(apr_pool_t *p, server_rec *s, apr_hash_t *seen,
                  const ap_directive_t *d, const char *msg)
{
    if (apr_hash_get(seen, &d, sizeof(d))) {
        return 0;
    }
    apr_hash_set(seen, apr_pmemdup(p, &d, sizeof(d)), sizeof(d), d);
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s (%s:%d)", msg, d->filename,
                 d->line_num);
    return 1;
}

/* The combined view v of one place: what is surely missing. */
static int check_view(apr_pool_t *p, server_rec *s, apr_hash_t *seen,
                      const sect_t *v, const scope_t *main_sc,
                      const scope_t *sc)
{
    int bad = 0;

    if (v->auth_type && first_word_is(p, v->auth_type, "Bearer") && !v->key
        && !main_sc->other_key && !sc->other_key) {
        bad |= refuse(p, s, seen, v->auth_type,
                      "BE00070: AuthType Bearer needs a BackendTokenKey in "
                      "the same section or in a <Location> that encloses it");
    }
    if (v->auth_type && first_word_is(p, v->auth_type, "Basic") && v->basic
        && names_word(p, v->basic, "backend-cache") && !v->cache
        && !main_sc->other_cache && !sc->other_cache) {
        bad |= refuse(p, s, seen, v->basic,
                      "BE00071: AuthBasicProvider backend-cache needs "
                      "BackendAuthnCache naming the providers to ask, in the "
                      "same section or in a <Location> that encloses it");
    }
    return bad;
}

static int check_scope(apr_pool_t *p, server_rec *s, apr_hash_t *seen,
                       const scope_t *main_sc, const scope_t *sc)
{
    sect_t base = {0}, v;
    int i, bad;

    fold(&base, main_sc->server);
    if (sc != main_sc) {
        fold(&base, sc->server);
    }
    bad = check_view(p, s, seen, &base, main_sc, sc);
    for (i = 0; i < sc->sects->nelts; i++) {
        const sect_t *sect = APR_ARRAY_IDX(sc->sects, i, const sect_t *);
        v = base;
        if (sect->path) {
            fold_locations(&v, main_sc, sect->path);
            if (sc != main_sc) {
                fold_locations(&v, sc, sect->path);
            }
        }
        else {
            fold(&v, sect);
        }
        bad |= check_view(p, s, seen, &v, main_sc, sc);
    }
    return bad;
}

static void note_others(scope_t *sc)
{
    int i;

    for (i = 0; i < sc->sects->nelts; i++) {
        const sect_t *sect = APR_ARRAY_IDX(sc->sects, i, const sect_t *);
        if (!sect->path) {
            sc->other_cache |= sect->cache != NULL;
            sc->other_key |= sect->key != NULL;
        }
    }
}

/* Every BackendAuthnCache line names providers that are loaded. */
static int check_cache_providers(apr_pool_t *p, server_rec *s,
                                 const ap_directive_t *d)
{
    int bad = 0;

    for (; d; d = d->next) {
        if (d->first_child) {
            bad |= check_cache_providers(p, s, d->first_child);
        }
        else if (!strcasecmp(d->directive, "BackendAuthnCache")) {
            const char *args = d->args, *name;
            while (*args && (name = ap_getword_conf(p, &args)) && *name) {
                const authn_provider *prov = ap_lookup_provider(
                    AUTHN_PROVIDER_GROUP, name, AUTHN_PROVIDER_VERSION);
                if (prov && prov->check_password) {
                    continue;
                }
                ap_log_error(
                    APLOG_MARK, APLOG_EMERG, 0, s,
                    "BE00072: BackendAuthnCache: no authn provider '%s' that "
                    "checks passwords is loaded (%s:%d); load its module, "
                    "e.g. LoadModule authn_%s_module",
                    name, d->filename, d->line_num, name);
                bad = 1;
            }
        }
    }
    return bad;
}

int be_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                    server_rec *s)
{
    scope_t *main_sc = scope_make(ptemp);
    apr_array_header_t *vhosts = apr_array_make(ptemp, 4, sizeof(scope_t *));
    apr_hash_t *seen = apr_hash_make(ptemp);
    const ap_directive_t *d;
    int i, bad;

    (void)pconf;
    (void)plog;
    for (d = ap_conftree; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost")) {
            scope_t *vh = scope_make(ptemp);
            walk(ptemp, d->first_child, vh, vh->server);
            APR_ARRAY_PUSH(vhosts, scope_t *) = vh;
        }
        else {
            walk_one(ptemp, d, main_sc, main_sc->server);
        }
    }
    note_others(main_sc);
    bad = check_scope(ptemp, s, seen, main_sc, main_sc);
    for (i = 0; i < vhosts->nelts; i++) {
        scope_t *vh = APR_ARRAY_IDX(vhosts, i, scope_t *);
        note_others(vh);
        bad |= check_scope(ptemp, s, seen, main_sc, vh);
    }
    bad |= check_cache_providers(ptemp, s, ap_conftree);
    return bad ? HTTP_INTERNAL_SERVER_ERROR : OK;
}
