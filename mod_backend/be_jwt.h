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
    const char *kid;             /* or NULL */
    const unsigned char *secret; /* HS256 */
    apr_size_t secret_len;
    void *pub;  /* EVP_PKEY*, RS256/ES256 */
    void *priv; /* EVP_PKEY* when the PEM held a private key */
} be_jwt_key_t;

/* What a token says, once verified. */
typedef struct {
    apr_table_t *claims;     /* every top-level claim: strings as they
                                   are, other values as compact JSON */
    apr_table_t *nonstrings; /* the names of the claims whose value is
                                   not a JSON string (value "") */
    const char *sub;
    apr_array_header_t *roles; /* "role" and "roles" claims, strings */
    apr_array_header_t *aud;   /* "aud", strings */
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
    int *cache_hit; /* or NULL; else set: 1 when the cache answered */
} be_jwt_policy_t;

/* Why a token was refused, for the log tag: a hostile token (one a
 * correct issuer does not make) is told apart from an expired or forged
 * one. */
typedef enum {
    BE_JWT_REFUSED = 0,  /* format, signature, time, issuer, audience */
    BE_JWT_CLAIM_TYPE,   /* exp/nbf/iat not a finite number in range,
                               iss/sub/jti/aud or the user claim of
                               another type */
    BE_JWT_DUPLICATE,    /* a name twice in the claims or the header */
    BE_JWT_CONTROL_CHAR, /* a NUL in any name or string, a control
                               character in the user claim */
    BE_JWT_HEADER_TYPE,  /* alg/kid/typ/cty not a string, or crit */
    BE_JWT_NOT_JSON      /* NaN, Infinity, raw control characters... */
} be_jwt_refusal_e;

/* The earliest and latest NumericDate taken (1970 to the end of 9999). */
#define BE_JWT_TIME_MIN 0.0
#define BE_JWT_TIME_MAX 253402300799.0

/* Verifies a compact token.  Returns NULL with *out set, or the reason
 * for error_description (never echoing the token or a claim's value),
 * with *kind (when not NULL) saying which sort of refusal it is. */
const char *be_jwt_verify(apr_pool_t *p, const char *token,
                          const be_jwt_policy_t *pol, apr_time_t now,
                          be_claims_t **out, be_jwt_refusal_e *kind);

/* Signs a payload (a JSON object text) with key; NULL on failure. */
const char *be_jwt_sign(apr_pool_t *p, const be_jwt_key_t *key,
                        const char *payload);

/* base64url without padding */
const char *be_b64url_encode(apr_pool_t *p, const unsigned char *d,
                             apr_size_t n);
unsigned char *be_b64url_decode(apr_pool_t *p, const char *s, apr_size_t len,
                                apr_size_t *out_len);

/* be_json.c: the claims of a token payload, checked: strict JSON, no
 * name twice, no NUL, the registered claims of their types.  NULL with
 * *out set, or the reason (and *kind). */
const char *be_json_parse_claims(apr_pool_t *p, const char *text,
                                 apr_size_t len, be_claims_t **out,
                                 be_jwt_refusal_e *kind);
/* be_json.c: alg and kid (or NULL) of a token header, checked the same
 * way.  NULL, or the reason (and *kind). */
const char *be_json_parse_jose(apr_pool_t *p, const char *text, apr_size_t len,
                               const char **alg, const char **kid,
                               be_jwt_refusal_e *kind);

#endif /* BE_JWT_H */
