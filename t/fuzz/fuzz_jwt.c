/*
 * fuzz_jwt.c - libFuzzer target for Bearer token verification: the input
 * as a compact token (against HS256, RS256 and ES256 keys), as the claims
 * of a token signed with the HS256 key, and as a header and claims (split
 * at the first newline), each verified without and with the cache of
 * verified tokens, which must give the same answer every time.  The
 * claims and header parsers are called directly as well.
 *
 * What lives across inputs is held by globals that LeakSanitizer sees
 * (APR may mmap its pools, which it does not scan): the keys here, and
 * the cache is made anew for each input, in that input's pool.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "be_jwt.h"

static apr_pool_t *gp;
static apr_array_header_t *keys;
static be_jwt_key_t *hs;
static EVP_PKEY *rsa, *ec;
static be_jwt_cache_t *cache;

static be_jwt_key_t *pkey_key(be_alg_e alg, EVP_PKEY *pk, const char *kid)
{
    be_jwt_key_t *k = apr_pcalloc(gp, sizeof(*k));

    k->alg = alg;
    k->kid = kid;
    k->pub = k->priv = pk;
    return k;
}

static void setup(void)
{
    static const char secret[] = "0123456789abcdef0123456789abcdef";

    apr_initialize();
    apr_pool_create(&gp, NULL);
    hs = apr_pcalloc(gp, sizeof(*hs));
    hs->alg = BE_ALG_HS256;
    hs->secret = (const unsigned char *)secret;
    hs->secret_len = sizeof(secret) - 1;
    keys = apr_array_make(gp, 3, sizeof(be_jwt_key_t *));
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = hs;
    rsa = EVP_RSA_gen(1024);
    ec = EVP_EC_gen("P-256");
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = pkey_key(BE_ALG_RS256, rsa, "rs");
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = pkey_key(BE_ALG_ES256, ec, NULL);
}

/* Everything the claims say, as one text to compare. */
static const char *claims_text(apr_pool_t *p, const be_claims_t *c)
{
    const apr_array_header_t *t = apr_table_elts(c->claims);
    const apr_table_entry_t *e = (const apr_table_entry_t *)t->elts;
    const apr_array_header_t *ns = apr_table_elts(c->nonstrings);
    const apr_table_entry_t *nse = (const apr_table_entry_t *)ns->elts;
    char *s = apr_psprintf(
        p, "%s|%s|%s|%s|%d:%.17g|%d:%.17g|", c->sub, c->iss ? c->iss : "-",
        apr_array_pstrcat(p, c->aud, ','), apr_array_pstrcat(p, c->roles, ','),
        c->has_exp, c->exp, c->has_nbf, c->nbf);
    int i;

    for (i = 0; i < t->nelts; i++) {
        s = apr_pstrcat(p, s, e[i].key, "=", e[i].val, ";", NULL);
    }
    for (i = 0; i < ns->nelts; i++) {
        s = apr_pstrcat(p, s, nse[i].key, ",", NULL);
    }
    return s;
}

/* What a verified token must be, whatever its bytes. */
static void check_claims(const be_claims_t *c)
{
    const unsigned char *u;

    if (!c->sub || !*c->sub) {
        abort();
    }
    for (u = (const unsigned char *)c->sub; *u; u++) {
        if (*u < 0x20 || *u == 0x7f) {
            abort(); /* a control character in the user's name */
        }
    }
    if ((c->has_exp
         && !(c->exp >= BE_JWT_TIME_MIN && c->exp <= BE_JWT_TIME_MAX))
        || (c->has_nbf
            && !(c->nbf >= BE_JWT_TIME_MIN && c->nbf <= BE_JWT_TIME_MAX))) {
        abort();
    }
}

/* One answer as text: "ok CLAIMS" or "no REASON KIND". */
static const char *answer(apr_pool_t *p, const char *token,
                          be_jwt_cache_t *with, const char *user_claim)
{
    be_jwt_policy_t pol = {keys, NULL, NULL, 30, user_claim, with, NULL};
    be_jwt_refusal_e kind = BE_JWT_REFUSED;
    be_claims_t *c = NULL;
    const char *why = be_jwt_verify(p, token, &pol,
                                    apr_time_from_sec(1700000000), &c, &kind);

    if (why) {
        return apr_psprintf(p, "no %s %d", why, (int)kind);
    }
    check_claims(c);
    return apr_pstrcat(p, "ok ", claims_text(p, c), NULL);
}

/* The same answer without the cache, on a first use of the cache and on
 * a hit, for sub and for another user claim. */
static void verify_all_ways(apr_pool_t *p, const char *token)
{
    static const char *const users[] = {NULL, "email"};
    int i;

    for (i = 0; i < 2; i++) {
        const char *plain = answer(p, token, NULL, users[i]);
        if (strcmp(plain, answer(p, token, cache, users[i])) != 0
            || strcmp(plain, answer(p, token, cache, users[i])) != 0) {
            abort();
        }
    }
}

static const char *signed_hs(apr_pool_t *p, const char *header,
                             apr_size_t hlen, const char *payload,
                             apr_size_t plen)
{
    const char *input = apr_pstrcat(
        p, be_b64url_encode(p, (const unsigned char *)header, hlen), ".",
        be_b64url_encode(p, (const unsigned char *)payload, plen), NULL);
    unsigned char mac[32];
    unsigned int len = 32;

    HMAC(EVP_sha256(), hs->secret, (int)hs->secret_len,
         (const unsigned char *)input, strlen(input), mac, &len);
    return apr_pstrcat(p, input, ".", be_b64url_encode(p, mac, 32), NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    const char *text = (const char *)data, *nl;
    apr_pool_t *p;
    be_jwt_refusal_e kind;
    be_claims_t *c;
    const char *alg, *kid;

    if (!gp) {
        setup();
    }
    apr_pool_create(&p, gp);
    /* few slots, so that the tokens of one input share some */
    cache = be_jwt_cache_create(p, 3);

    /* the bytes as a token (up to a NUL, as a header value would be) */
    verify_all_ways(p, apr_pstrmemdup(p, text, size));
    /* the bytes as the claims, then as a header and claims, signed */
    verify_all_ways(p, signed_hs(p, hdr, sizeof(hdr) - 1, text, size));
    if ((nl = memchr(text, '\n', size))) {
        verify_all_ways(p,
                        signed_hs(p, text, (apr_size_t)(nl - text), nl + 1,
                                  size - (apr_size_t)(nl - text) - 1));
    }
    /* the parsers alone */
    if (!be_json_parse_claims(p, text, size, &c, &kind)) {
        claims_text(p, c);
    }
    if (!be_json_parse_jose(p, text, size, &alg, &kid, &kind) && !alg) {
        abort();
    }
    apr_pool_destroy(p);
    return 0;
}
