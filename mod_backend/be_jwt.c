/*
 * be_jwt.c - verifying and signing JWTs with OpenSSL libcrypto.
 *
 * The algorithm is taken from the key, never from the token: a token
 * whose header names another algorithm than a configured key of its kid
 * is refused, so "alg":"none" and HS256-with-the-RSA-public-key (the
 * algorithm confusion attack) have nothing to verify against.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_thread_mutex.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "be_jwt.h"

static const char *const alg_names[] = {"HS256", "RS256", "ES256"};

/* ---------------------------------------------------------------------- */
/* base64url                                                               */

const char *be_b64url_encode(apr_pool_t *p, const unsigned char *d,
                             apr_size_t n)
{
    char *out = apr_palloc(p, (apr_size_t)apr_base64_encode_len((int)n));
    int len = apr_base64_encode_binary(out, d, (int)n) - 1;
    int i;

    while (len > 0 && out[len - 1] == '=') {
        len--;
    }
    out[len] = '\0';
    for (i = 0; i < len; i++) {
        if (out[i] == '+') {
            out[i] = '-';
        }
        else if (out[i] == '/') {
            out[i] = '_';
        }
    }
    return out;
}

unsigned char *be_b64url_decode(apr_pool_t *p, const char *s, apr_size_t len,
                                apr_size_t *out_len)
{
    char *std = apr_palloc(p, len + 4);
    unsigned char *out;
    apr_size_t i;

    if (len % 4 == 1) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '-') {
            c = '+';
        }
        else if (c == '_') {
            c = '/';
        }
        else if (!isalnum((unsigned char)c)) {
            return NULL; /* no padding, no standard alphabet extras */
        }
        std[i] = c;
    }
    while (i % 4) {
        std[i++] = '=';
    }
    std[i] = '\0';
    out = apr_palloc(p, (apr_size_t)apr_base64_decode_len(std) + 1);
    *out_len = (apr_size_t)apr_base64_decode_binary(out, std);
    return out;
}

/* ---------------------------------------------------------------------- */
/* Keys                                                                    */

static apr_status_t free_pkey(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

const char *be_jwt_load_key(apr_pool_t *p, const char *alg, const char *file,
                            const char *kid, be_jwt_key_t **keyp)
{
    be_jwt_key_t *key = apr_pcalloc(p, sizeof(*key));
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;
    BIO *bio;
    EVP_PKEY *pk;

    if (!strcasecmp(alg, "hs256")) {
        key->alg = BE_ALG_HS256;
    }
    else if (!strcasecmp(alg, "rs256")) {
        key->alg = BE_ALG_RS256;
    }
    else if (!strcasecmp(alg, "es256")) {
        key->alg = BE_ALG_ES256;
    }
    else {
        return apr_psprintf(p, "unknown algorithm '%s' (hs256, rs256, es256)",
                            alg);
    }
    key->kid = kid;
    if (apr_file_open(&f, file, APR_FOPEN_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read the key file %s", file);
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    if (n > 0 && apr_file_read_full(f, buf, n, &n) != APR_SUCCESS) {
        apr_file_close(f);
        return apr_psprintf(p, "cannot read the key file %s", file);
    }
    apr_file_close(f);
    buf[n] = '\0';

    if (key->alg == BE_ALG_HS256) {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
            buf[--n] = '\0'; /* a trailing newline is not part of it */
        }
        if (n < 32) {
            return apr_psprintf(
                p, "the hs256 secret in %s is shorter than 32 bytes", file);
        }
        key->secret = (const unsigned char *)buf;
        key->secret_len = n;
        *keyp = key;
        return NULL;
    }

    bio = BIO_new_mem_buf(buf, (int)n);
    pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (pk) {
        key->priv = pk;
        key->pub = pk; /* a private key verifies too */
    }
    else {
        BIO_free(bio);
        bio = BIO_new_mem_buf(buf, (int)n);
        key->pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    if (!key->pub) {
        return apr_psprintf(p, "%s holds no PEM public or private key", file);
    }
    apr_pool_cleanup_register(p, key->pub, free_pkey, apr_pool_cleanup_null);
    if ((key->alg == BE_ALG_RS256
         && EVP_PKEY_base_id(key->pub) != EVP_PKEY_RSA)
        || (key->alg == BE_ALG_ES256
            && (EVP_PKEY_base_id(key->pub) != EVP_PKEY_EC
                || EVP_PKEY_get_bits(key->pub) != 256))) {
        return apr_psprintf(p, "the key in %s is not a%s key", file,
                            key->alg == BE_ALG_RS256 ? "n RSA" : " P-256 EC");
    }
    *keyp = key;
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Signatures                                                              */

static int hs256(const be_jwt_key_t *key, const char *data, apr_size_t n,
                 unsigned char out[32])
{
    unsigned int len = 32;

    return HMAC(EVP_sha256(), key->secret, (int)key->secret_len,
                (const unsigned char *)data, n, out, &len)
        != NULL
        && len == 32;
}

/* ES256 signatures are R||S, 32 bytes each; OpenSSL speaks DER. */
static unsigned char *es_to_der(const unsigned char *rs, apr_size_t *len,
                                apr_pool_t *p)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    unsigned char *der = NULL, *copy;
    int n;

    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return NULL;
    }
    n = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (n <= 0) {
        return NULL;
    }
    copy = apr_pmemdup(p, der, (apr_size_t)n);
    OPENSSL_free(der);
    *len = (apr_size_t)n;
    return copy;
}

static int der_to_es(const unsigned char *der, apr_size_t len,
                     unsigned char rs[64])
{
    const unsigned char *q = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)len);
    const BIGNUM *r, *s;
    int ok;

    if (!sig) {
        return 0;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, rs, 32) == 32 && BN_bn2binpad(s, rs + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok;
}

static int verify_sig(apr_pool_t *p, const be_jwt_key_t *key, const char *data,
                      apr_size_t n, const unsigned char *sig,
                      apr_size_t siglen)
{
    EVP_MD_CTX *ctx;
    int ok;

    if (key->alg == BE_ALG_HS256) {
        unsigned char mac[32];
        return siglen == 32 && hs256(key, data, n, mac)
            && CRYPTO_memcmp(mac, sig, 32) == 0;
    }
    if (key->alg == BE_ALG_ES256) {
        if (siglen != 64 || !(sig = es_to_der(sig, &siglen, p))) {
            return 0;
        }
    }
    if (!(ctx = EVP_MD_CTX_new())) {
        return 0;
    }
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pub) == 1
        && EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, n)
            == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* The JOSE header: the kid comes from the configuration (kid=ID) and may
 * hold any character, so it is written as a JSON string, escaped. */
static const char *jose_header(apr_pool_t *p, const be_jwt_key_t *key)
{
    be_buf_t b;

    be_buf_init(&b, p, 64);
    be_buf_printf(&b, "{\"alg\":\"%s\",\"typ\":\"JWT\"", alg_names[key->alg]);
    if (key->kid) {
        be_buf_adds(&b, ",\"kid\":");
        be_json_escape(&b, key->kid, strlen(key->kid));
    }
    be_buf_addc(&b, '}');
    return be_buf_cstr(&b);
}

const char *be_jwt_sign(apr_pool_t *p, const be_jwt_key_t *key,
                        const char *payload)
{
    const char *header = jose_header(p, key);
    const char *input = apr_pstrcat(
        p, be_b64url_encode(p, (const unsigned char *)header, strlen(header)),
        ".",
        be_b64url_encode(p, (const unsigned char *)payload, strlen(payload)),
        NULL);
    unsigned char mac[32], *sig;
    size_t siglen = 0;
    EVP_MD_CTX *ctx;
    int ok;

    if (key->alg == BE_ALG_HS256) {
        if (!hs256(key, input, strlen(input), mac)) {
            return NULL;
        }
        return apr_pstrcat(p, input, ".", be_b64url_encode(p, mac, 32), NULL);
    }
    if (!key->priv || !(ctx = EVP_MD_CTX_new())) {
        return NULL;
    }
    ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->priv) == 1
        && EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
                          strlen(input))
            == 1;
    sig = ok ? apr_palloc(p, siglen) : NULL;
    ok = ok
        && EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
                          strlen(input))
            == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return NULL;
    }
    if (key->alg == BE_ALG_ES256) {
        unsigned char rs[64];
        if (!der_to_es(sig, siglen, rs)) {
            return NULL;
        }
        return apr_pstrcat(p, input, ".", be_b64url_encode(p, rs, 64), NULL);
    }
    return apr_pstrcat(p, input, ".", be_b64url_encode(p, sig, siglen), NULL);
}

/* ---------------------------------------------------------------------- */
/* The cache of verified signatures                                        */

/* A slot remembers one token whose signature verified against a key of
 * one key set ("scope": the configured array, alive as long as the
 * configuration), with its claims, flattened.  A hit needs the whole token
 * to match, byte for byte, so it proves what the verification proved and
 * the claims are what its payload says; they are still checked (exp, nbf,
 * iss, aud) on every request.  Only good signatures are remembered, so a
 * client cannot fill the cache with garbage. */
typedef struct {
    apr_uint64_t hash;
    const void *scope;
    char *token; /* malloc'd, or NULL */
    apr_size_t len;
    char *flat; /* the claims: malloc'd, see flatten() */
    apr_size_t flat_len;
} cache_slot_t;

struct be_jwt_cache_t {
    cache_slot_t *slots;
    apr_size_t n;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
};

static apr_uint64_t fnv1a(const char *s, apr_size_t n)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);

    while (n--) {
        h = (h ^ (unsigned char)*s++) * APR_UINT64_C(1099511628211);
    }
    return h;
}

static apr_status_t cache_free(void *data)
{
    be_jwt_cache_t *c = data;
    apr_size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->slots[i].token);
        free(c->slots[i].flat);
        c->slots[i].token = c->slots[i].flat = NULL;
    }
    return APR_SUCCESS;
}

be_jwt_cache_t *be_jwt_cache_create(apr_pool_t *p, apr_size_t slots)
{
    be_jwt_cache_t *c = apr_pcalloc(p, sizeof(*c));

    c->n = slots ? slots : 1;
    c->slots = apr_pcalloc(p, c->n * sizeof(cache_slot_t));
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, p)) {
        return NULL;
    }
#endif
    apr_pool_cleanup_register(p, c, cache_free, apr_pool_cleanup_null);
    return c;
}

static void cache_lock(be_jwt_cache_t *c, int on)
{
#if APR_HAS_THREADS
    (on ? apr_thread_mutex_lock : apr_thread_mutex_unlock)(c->mutex);
#else
    (void)c;
    (void)on;
#endif
}

/* Flattened claims: this head, then NUL-terminated strings (a claim holds
 * no NUL: be_json_parse_claims refuses them): each claim's name and
 * value, the names of those that are not strings, the audiences, the
 * roles, then sub and iss when there. */
typedef struct {
    double exp, nbf;
    int has_exp, has_nbf, has_sub, has_iss;
    int nclaims, nnonstr, naud, nroles;
} flat_head_t;

static apr_size_t put_str(char *at, const char *s)
{
    apr_size_t n = strlen(s) + 1;

    if (at) {
        memcpy(at, s, n);
    }
    return n;
}

/* Writes c flattened at out (when not NULL); returns its length. */
static apr_size_t flatten(const be_claims_t *c, char *out)
{
    const apr_array_header_t *t = apr_table_elts(c->claims);
    const apr_table_entry_t *e = (const apr_table_entry_t *)t->elts;
    const apr_array_header_t *ns = apr_table_elts(c->nonstrings);
    const apr_table_entry_t *nse = (const apr_table_entry_t *)ns->elts;
    apr_size_t n = sizeof(flat_head_t);
    int i;

    if (out) {
        flat_head_t h;
        h.exp = c->exp;
        h.nbf = c->nbf;
        h.has_exp = c->has_exp;
        h.has_nbf = c->has_nbf;
        h.has_sub = c->sub != NULL;
        h.has_iss = c->iss != NULL;
        h.nclaims = t->nelts;
        h.nnonstr = ns->nelts;
        h.naud = c->aud->nelts;
        h.nroles = c->roles->nelts;
        memcpy(out, &h, sizeof(h));
    }
#define AT (out ? out + n : NULL)
    for (i = 0; i < t->nelts; i++) {
        n += put_str(AT, e[i].key);
        n += put_str(AT, e[i].val);
    }
    for (i = 0; i < ns->nelts; i++) {
        n += put_str(AT, nse[i].key);
    }
    for (i = 0; i < c->aud->nelts; i++) {
        n += put_str(AT, APR_ARRAY_IDX(c->aud, i, const char *));
    }
    for (i = 0; i < c->roles->nelts; i++) {
        n += put_str(AT, APR_ARRAY_IDX(c->roles, i, const char *));
    }
    if (c->sub) {
        n += put_str(AT, c->sub);
    }
    if (c->iss) {
        n += put_str(AT, c->iss);
    }
#undef AT
    return n;
}

static const char *next_str(const char **at)
{
    const char *s = *at;

    *at += strlen(s) + 1;
    return s;
}

/* The claims of a flattened copy in p (which the claims point into). */
static be_claims_t *unflatten(apr_pool_t *p, const char *flat)
{
    be_claims_t *c = apr_pcalloc(p, sizeof(*c));
    flat_head_t h;
    const char *at = flat + sizeof(h);
    int i;

    memcpy(&h, flat, sizeof(h));
    c->exp = h.exp;
    c->nbf = h.nbf;
    c->has_exp = h.has_exp;
    c->has_nbf = h.has_nbf;
    c->claims = apr_table_make(p, h.nclaims > 8 ? h.nclaims : 8);
    c->nonstrings = apr_table_make(p, h.nnonstr > 4 ? h.nnonstr : 4);
    c->aud = apr_array_make(p, h.naud > 1 ? h.naud : 1, sizeof(const char *));
    c->roles =
        apr_array_make(p, h.nroles > 2 ? h.nroles : 2, sizeof(const char *));
    for (i = 0; i < h.nclaims; i++) {
        const char *k = next_str(&at);
        /* (names were made unique by apr_table_set as they were parsed) */
        apr_table_addn(c->claims, k, next_str(&at));
    }
    for (i = 0; i < h.nnonstr; i++) {
        apr_table_addn(c->nonstrings, next_str(&at), "");
    }
    for (i = 0; i < h.naud; i++) {
        APR_ARRAY_PUSH(c->aud, const char *) = next_str(&at);
    }
    for (i = 0; i < h.nroles; i++) {
        APR_ARRAY_PUSH(c->roles, const char *) = next_str(&at);
    }
    c->sub = h.has_sub ? next_str(&at) : NULL;
    c->iss = h.has_iss ? next_str(&at) : NULL;
    return c;
}

/* The claims of a cached token, copied into p, or NULL. */
static be_claims_t *cache_get(be_jwt_cache_t *c, apr_pool_t *p,
                              const void *scope, const char *tok,
                              apr_size_t len, apr_uint64_t h)
{
    cache_slot_t *s = &c->slots[h % c->n];
    char *copy = NULL;

    cache_lock(c, 1);
    if (s->token && s->hash == h && s->scope == scope && s->len == len
        && memcmp(s->token, tok, len) == 0) {
        copy = apr_pmemdup(p, s->flat, s->flat_len);
    }
    cache_lock(c, 0);
    return copy ? unflatten(p, copy) : NULL;
}

static void cache_put(be_jwt_cache_t *c, const void *scope, const char *tok,
                      apr_size_t len, apr_uint64_t h, const be_claims_t *cl)
{
    cache_slot_t *s = &c->slots[h % c->n];
    apr_size_t flen = flatten(cl, NULL);
    char *copy = malloc(len), *flat = malloc(flen), *old, *old_flat;

    if (!copy || !flat) {
        free(copy);
        free(flat);
        return;
    }
    memcpy(copy, tok, len);
    flatten(cl, flat);
    cache_lock(c, 1);
    old = s->token;
    old_flat = s->flat;
    s->token = copy;
    s->flat = flat;
    s->flat_len = flen;
    s->hash = h;
    s->scope = scope;
    s->len = len;
    cache_lock(c, 0);
    free(old);
    free(old_flat);
}

/* ---------------------------------------------------------------------- */
/* Verification                                                            */

static int listed(const apr_array_header_t *a, const char *s)
{
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Checks the header and the signature; NULL when good. */
static const char *verify_signature(apr_pool_t *p, const char *token,
                                    const char *dot1, const char *dot2,
                                    const be_jwt_policy_t *pol,
                                    be_jwt_refusal_e *kind)
{
    unsigned char *hdr, *sig;
    apr_size_t hlen, slen;
    const char *alg, *kid, *why;
    int i, tried = 0;

    hdr = be_b64url_decode(p, token, (apr_size_t)(dot1 - token), &hlen);
    sig = be_b64url_decode(p, dot2 + 1, strlen(dot2 + 1), &slen);
    if (!hdr || !sig) {
        return "the token is not valid base64url";
    }
    if ((why = be_json_parse_jose(p, (const char *)hdr, hlen, &alg, &kid,
                                  kind))) {
        return why;
    }
    for (i = 0; pol->keys && i < pol->keys->nelts; i++) {
        const be_jwt_key_t *k =
            APR_ARRAY_IDX(pol->keys, i, const be_jwt_key_t *);
        if (strcmp(alg, alg_names[k->alg]) != 0
            || (kid && k->kid && strcmp(kid, k->kid) != 0)) {
            continue;
        }
        tried++;
        if (verify_sig(p, k, token, (apr_size_t)(dot2 - token), sig, slen)) {
            return NULL;
        }
    }
    if (!tried) {
        return apr_psprintf(p, "no key for algorithm %s%s", alg,
                            kid ? " and this kid" : "");
    }
    return "the signature does not verify";
}

/* The user's name: a string, with no control character (it reaches logs,
 * SQL parameters and other modules as r->user).  NULL when good. */
static const char *user_check(apr_pool_t *p, be_claims_t *c, const char *claim,
                              be_jwt_refusal_e *kind)
{
    const unsigned char *u;

    if (strcmp(claim, "sub") != 0) {
        c->sub = apr_table_get(c->claims, claim);
    }
    if (!c->sub || !*c->sub) {
        return apr_psprintf(p, "the token has no %s claim", claim);
    }
    if (apr_table_get(c->nonstrings, claim)) {
        *kind = BE_JWT_CLAIM_TYPE;
        return apr_psprintf(p, "the %s claim is not a string", claim);
    }
    for (u = (const unsigned char *)c->sub; *u; u++) {
        /* C0, DEL, and C1 (U+0080..U+009F, C2 80..C2 9F in UTF-8) */
        if (*u < 0x20 || *u == 0x7f
            || (*u == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)) {
            *kind = BE_JWT_CONTROL_CHAR;
            return apr_psprintf(p, "the %s claim holds a control character",
                                claim);
        }
    }
    return NULL;
}

const char *be_jwt_verify(apr_pool_t *p, const char *token,
                          const be_jwt_policy_t *pol, apr_time_t now,
                          be_claims_t **out, be_jwt_refusal_e *kindp)
{
    const char *dot1 = strchr(token, '.'), *dot2, *why;
    unsigned char *body;
    apr_size_t blen, len;
    apr_uint64_t h = 0;
    be_claims_t *c;
    double t = (double)apr_time_sec(now);
    be_jwt_refusal_e ignored, *kind = kindp ? kindp : &ignored;

    *kind = BE_JWT_REFUSED;
    if (!dot1 || !(dot2 = strchr(dot1 + 1, '.')) || strchr(dot2 + 1, '.')) {
        return "the token is not a JWT (three base64url parts)";
    }
    len = strlen(token);
    c = NULL;
    if (pol->cache) {
        h = fnv1a(token, len);
        c = cache_get(pol->cache, p, pol->keys, token, len, h);
    }
    if (pol->cache_hit) {
        *pol->cache_hit = c != NULL;
    }
    if (!c) {
        if ((why = verify_signature(p, token, dot1, dot2, pol, kind))) {
            return why;
        }
        body = be_b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1),
                                &blen);
        if (!body) {
            return "the token is not valid base64url";
        }
        /* only claims that passed every check are remembered */
        if ((why = be_json_parse_claims(p, (const char *)body, blen, &c,
                                        kind))) {
            return why;
        }
        if (pol->cache) {
            cache_put(pol->cache, pol->keys, token, len, h, c);
        }
    }
    if (c->has_exp && t > c->exp + (double)pol->leeway) {
        return "the token has expired";
    }
    if (c->has_nbf && t + (double)pol->leeway < c->nbf) {
        return "the token is not valid yet";
    }
    if (pol->issuer && (!c->iss || strcmp(c->iss, pol->issuer) != 0)) {
        return "the token has another issuer";
    }
    if (pol->audience && !listed(c->aud, pol->audience)) {
        return "the token is meant for another audience";
    }
    if ((why = user_check(p, c, pol->user_claim ? pol->user_claim : "sub",
                          kind))) {
        return why;
    }
    *out = c;
    return NULL;
}
