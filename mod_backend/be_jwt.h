/*
 * be_jwt.h - JSON Web Tokens (RFC 7519) signed with HS256, RS256 or
 * ES256: verification for AuthType Bearer, signing for the token handler.
 * OpenSSL libcrypto; no httpd header.
 */
#ifndef BE_JWT_H
#define BE_JWT_H

#include "be_core.h"

typedef enum { BE_ALG_HS256 = 0, BE_ALG_RS256, BE_ALG_ES256 } be_alg_e;

typedef struct {
    be_alg_e alg;
    const char *kid;            /* or NULL */
    const unsigned char *secret; /* HS256 */
    apr_size_t secret_len;
    void *pub;                  /* EVP_PKEY*, RS256/ES256 */
    void *priv;                 /* EVP_PKEY* when the PEM held a private key */
} be_jwt_key_t;

/* What a token says, once verified. */
typedef struct {
    apr_table_t *claims;        /* every top-level claim: strings as they
                                   are, other values as compact JSON */
    const char *sub;
    apr_array_header_t *roles;  /* "role" and "roles" claims, strings */
    apr_array_header_t *aud;    /* "aud", strings */
    const char *iss;
    double exp, nbf;
    int has_exp, has_nbf;
} be_claims_t;

/* Loads a key: the secret file of hs256, or a PEM public or private key
 * for rs256/es256.  The key is freed with the pool.  NULL or an error. */
const char *be_jwt_load_key(apr_pool_t *p, const char *alg, const char *file,
                            const char *kid, be_jwt_key_t **key);

/* A process's cache of verified signatures (thread-safe). */
typedef struct be_jwt_cache_t be_jwt_cache_t;

/* A cache of `slots` tokens, freed with the pool; NULL on failure. */
be_jwt_cache_t *be_jwt_cache_create(apr_pool_t *p, apr_size_t slots);

typedef struct {
    const apr_array_header_t *keys; /* be_jwt_key_t* */
    const char *issuer;             /* or NULL: not checked */
    const char *audience;           /* or NULL: not checked */
    long leeway;                    /* seconds */
    const char *user_claim;         /* default "sub" */
    be_jwt_cache_t *cache;          /* or NULL: every signature verified */
} be_jwt_policy_t;

/* Verifies a compact token.  Returns NULL with *out set, or the reason
 * for error_description (never echoing the token). */
const char *be_jwt_verify(apr_pool_t *p, const char *token,
                          const be_jwt_policy_t *pol, apr_time_t now,
                          be_claims_t **out);

/* Signs a payload (a JSON object text) with key; NULL on failure. */
const char *be_jwt_sign(apr_pool_t *p, const be_jwt_key_t *key,
                        const char *payload);

/* base64url without padding */
const char *be_b64url_encode(apr_pool_t *p, const unsigned char *d,
                             apr_size_t n);
unsigned char *be_b64url_decode(apr_pool_t *p, const char *s,
                                apr_size_t len, apr_size_t *out_len);

/* be_json.c: the claims of a token payload; NULL when not a JSON object. */
be_claims_t *be_json_parse_claims(apr_pool_t *p, const char *text,
                                  apr_size_t len);
/* be_json.c: alg and kid of a token header; 0 when not a JSON object. */
int be_json_parse_jose(apr_pool_t *p, const char *text, apr_size_t len,
                       const char **alg, const char **kid);

#endif /* BE_JWT_H */
