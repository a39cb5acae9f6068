/*
 * test_jwt.c - unit tests of be_jwt.c: signing and verifying tokens, their claims, the cache.
 * No httpd, no database.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "be_jwt.h"
#include "tap.h"
#include "unit.h"

static const char *write_file(const char *name, const char *data)
{
    const char *path =
        apr_psprintf(pool, "/tmp/be_unit_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    fputs(data, f);
    fclose(f);
    return path;
}

static const char *pem_of(EVP_PKEY *k, int private)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    const char *out;

    if (private) {
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    }
    else {
        PEM_write_bio_PUBKEY(b, k);
    }
    n = BIO_get_mem_data(b, &data);
    out = apr_pstrmemdup(pool, data, (apr_size_t)n);
    BIO_free(b);
    return out;
}

static const char *tok(const be_jwt_key_t *k, const char *payload)
{
    const char *t = be_jwt_sign(pool, k, payload);
    return t ? t : "(unsigned)";
}

/* Everything a token's claims say, as text. */
static const char *claims_text(const be_claims_t *c)
{
    const apr_array_header_t *t = apr_table_elts(c->claims);
    const apr_table_entry_t *e = (const apr_table_entry_t *)t->elts;
    char *s = apr_psprintf(pool, "sub=%s iss=%s aud=%s roles=%s",
                           c->sub ? c->sub : "-", c->iss ? c->iss : "-",
                           apr_array_pstrcat(pool, c->aud, ','),
                           apr_array_pstrcat(pool, c->roles, ','));
    int i;

    s = apr_psprintf(pool, "%s exp=%.0f nbf=%.0f |", s,
                     c->has_exp ? c->exp : -1, c->has_nbf ? c->nbf : -1);
    for (i = 0; i < t->nelts; i++) {
        s = apr_pstrcat(pool, s, " ", e[i].key, "=", e[i].val, NULL);
    }
    return s;
}

/* test_jwt runs twice: without and with a (small) cache of signatures,
 * which must not change any answer. */
static be_jwt_cache_t *jwt_cache;

static const char *check(const char *token, apr_array_header_t *keys,
                         apr_time_t now)
{
    be_jwt_policy_t pol = {keys, NULL, NULL, 30, NULL, jwt_cache, NULL};
    be_claims_t *c;
    const char *err = be_jwt_verify(pool, token, &pol, now, &c, NULL);

    return err ? err : apr_pstrcat(pool, "ok:", c->sub, NULL);
}

static void test_jwt(void)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    const char *secret =
        write_file("hs", "0123456789abcdef0123456789abcdef\n");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    const char *rs_priv = write_file("rs", pem_of(rsa, 1));
    const char *rs_pub = write_file("rspub", pem_of(rsa, 0));
    const char *es_priv = write_file("es", pem_of(ec, 1));
    be_jwt_key_t *hs, *rs, *rsp, *es, *esp, *forged;
    apr_array_header_t *keys = apr_array_make(pool, 4, sizeof(void *));
    const char *ok_payload =
        "{\"sub\":\"alice\",\"exp\":1700000100,\"roles\":[\"admin\"]}";
    const char *t, *dot;
    be_claims_t *c;
    be_jwt_policy_t pol = {NULL, "me", "api", 30, NULL, jwt_cache, NULL};

    OK(be_jwt_load_key(pool, "hs256", secret, NULL, &hs) == NULL, "hs key");
    OK(be_jwt_load_key(pool, "rs256", rs_priv, "r1", &rs) == NULL, "rs key");
    OK(be_jwt_load_key(pool, "rs256", rs_pub, "r1", &rsp) == NULL, "rs pub");
    OK(be_jwt_load_key(pool, "es256", es_priv, "e1", &es) == NULL, "es key");
    OK(be_jwt_load_key(pool, "es256", rs_pub, NULL, &esp) != NULL,
       "an RSA key is not an es256 key");
    OK(be_jwt_load_key(pool, "hs256", write_file("short", "short"), NULL, &esp)
           != NULL,
       "short secrets refused");
    OK(be_jwt_load_key(pool, "none", secret, NULL, &esp) != NULL,
       "alg none is no key");
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = hs;
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = rsp;
    APR_ARRAY_PUSH(keys, be_jwt_key_t *) = es;

    IS_STR(check(tok(hs, ok_payload), keys, now), "ok:alice", "HS256");
    IS_STR(check(tok(rs, ok_payload), keys, now), "ok:alice", "RS256");
    IS_STR(check(tok(es, ok_payload), keys, now), "ok:alice", "ES256");
    IS_STR(check(tok(hs, ok_payload), keys, apr_time_from_sec(1700000200)),
           "the token has expired", "expired");
    IS_STR(check(tok(hs, ok_payload), keys, apr_time_from_sec(1700000120)),
           "ok:alice", "within the leeway");
    IS_STR(check(tok(hs, "{\"sub\":\"a\",\"nbf\":1700001000}"), keys, now),
           "the token is not valid yet", "nbf");
    IS_STR(check(tok(hs, "{\"exp\":1700000100}"), keys, now),
           "the token has no sub claim", "no subject");
    IS_STR(check(tok(hs, "[1]"), keys, now),
           "the token payload is not a JSON object", "payload not object");

    /* attacks */
    IS_STR(
        check(apr_pstrcat(
                  pool,
                  be_b64url_encode(
                      pool, (const unsigned char *)"{\"alg\":\"none\"}", 14),
                  ".",
                  be_b64url_encode(pool, (const unsigned char *)ok_payload,
                                   strlen(ok_payload)),
                  ".", NULL),
              keys, now),
        "no key for algorithm none", "alg none");
    {
        /* HS256 keyed with the RSA public key: algorithm confusion */
        be_jwt_key_t fake = *hs;
        apr_array_header_t *only_rsa = apr_array_make(pool, 1, sizeof(void *));
        APR_ARRAY_PUSH(only_rsa, be_jwt_key_t *) = rsp;
        fake.secret = (const unsigned char *)pem_of(rsa, 0);
        fake.secret_len = strlen((const char *)fake.secret);
        forged = &fake;
        IS_STR(check(tok(forged, ok_payload), only_rsa, now),
               "no key for algorithm HS256", "algorithm confusion");
        IS_STR(check(tok(forged, ok_payload), keys, now),
               "the signature does not verify", "confusion with an hs key");
    }
    t = tok(hs, ok_payload);
    dot = strchr(t, '.');
    IS_STR(check(apr_pstrcat(
                     pool, apr_pstrmemdup(pool, t, (apr_size_t)(dot - t)), ".",
                     be_b64url_encode(
                         pool,
                         (const unsigned char
                              *)"{\"sub\":\"bob\",\"exp\":1700000100}",
                         33),
                     strrchr(t, '.'), NULL),
                 keys, now),
           "the signature does not verify", "tampered payload");
    IS_STR(check("garbage", keys, now),
           "the token is not a JWT (three base64url parts)", "garbage");
    IS_STR(check("a.b.c.d", keys, now),
           "the token is not a JWT (three base64url parts)", "four parts");
    IS_STR(check("!!.b.c", keys, now), "the token is not valid base64url",
           "bad base64url");
    t = tok(rs, ok_payload);
    IS_STR(check(apr_pstrcat(pool, apr_pstrmemdup(pool, t, strlen(t) - 3),
                             "AAA", NULL),
                 keys, now),
           "the signature does not verify", "RS256 signature changed");

    /* kid picks the key */
    {
        be_jwt_key_t other_es;
        EVP_PKEY *ec2 = EVP_EC_gen("P-256");
        be_jwt_load_key(pool, "es256", write_file("es2", pem_of(ec2, 1)), "e2",
                        &esp);
        EVP_PKEY_free(ec2);
        other_es = *esp;
        IS_STR(check(tok(&other_es, ok_payload), keys, now),
               "no key for algorithm ES256 and this kid", "unknown kid");
    }

    /* a kid with a quote and a backslash is written as a JSON string:
     * the issued token's header parses and its kid still picks the key */
    {
        be_jwt_key_t *odd;
        apr_array_header_t *just = apr_array_make(pool, 1, sizeof(void *));
        const char *hdr;
        apr_size_t hlen;

        OK(be_jwt_load_key(pool, "hs256", secret, "a\"b\\c", &odd) == NULL,
           "hs key with an odd kid");
        APR_ARRAY_PUSH(just, be_jwt_key_t *) = odd;
        t = tok(odd, ok_payload);
        dot = strchr(t, '.');
        hdr = (const char *)be_b64url_decode(
            pool, t, dot ? (apr_size_t)(dot - t) : 0, &hlen);
        IS_STR(hdr ? apr_pstrmemdup(pool, hdr, hlen) : "(none)",
               "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"a\\\"b\\\\c\"}",
               "kid escaped in the header");
        IS_STR(check(t, just, now), "ok:alice", "odd kid verifies");
    }

    /* issuer and audience */
    pol.keys = keys;
    OK(be_jwt_verify(
           pool,
           tok(hs, "{\"sub\":\"a\",\"iss\":\"me\",\"aud\":[\"x\",\"api\"]}"),
           &pol, now, &c, NULL)
           == NULL,
       "iss and aud match");
    IS_STR(be_jwt_verify(
               pool,
               tok(hs, "{\"sub\":\"a\",\"iss\":\"you\",\"aud\":\"api\"}"),
               &pol, now, &c, NULL),
           "the token has another issuer", "wrong iss");
    IS_STR(be_jwt_verify(
               pool, tok(hs, "{\"sub\":\"a\",\"iss\":\"me\",\"aud\":\"web\"}"),
               &pol, now, &c, NULL),
           "the token is meant for another audience", "wrong aud");
    OK(be_jwt_verify(
           pool, tok(hs, ok_payload),
           &(be_jwt_policy_t){keys, NULL, NULL, 30, NULL, jwt_cache, NULL},
           now, &c, NULL)
               == NULL
           && c->roles->nelts == 1,
       "roles claim");

    if (jwt_cache) {
        /* a remembered signature still has its claims checked, and only
         * for the key set that verified it */
        apr_array_header_t *only_rsa = apr_array_make(pool, 1, sizeof(void *));
        /* every claim of the rich token below, as claims_text says it */
        const char *all =
            "sub=alice iss=me aud=x,api roles=admin,ops exp=1700000100 "
            "nbf=1699999000 | sub=alice iss=me aud=[\"x\",\"api\"] "
            "roles=[\"admin\",\"ops\"] exp=1700000100 nbf=1699999000 n=1.5 "
            "obj={\"a\":[1,2]} note=caf\xc3\xa9";
        APR_ARRAY_PUSH(only_rsa, be_jwt_key_t *) = rsp;
        t = tok(hs, ok_payload);
        IS_STR(check(t, keys, now), "ok:alice", "cached: first use");
        IS_STR(check(t, keys, now), "ok:alice", "cached: again");
        {
            int hit = -1;
            be_jwt_policy_t counted = {keys, NULL,      NULL, 30,
                                       NULL, jwt_cache, &hit};
            OK(!be_jwt_verify(pool, t, &counted, now, &c, NULL) && hit == 1,
               "cache_hit says the cache answered");
            OK(!be_jwt_verify(pool, tok(hs, "{\"sub\":\"zed\"}"), &counted,
                              now, &c, NULL)
                   && hit == 0,
               "cache_hit says a new token was verified");
        }
        IS_STR(check(t, keys, apr_time_from_sec(1700000200)),
               "the token has expired", "cached: expired all the same");
        IS_STR(check(t, only_rsa, now), "no key for algorithm HS256",
               "cached: another key set verifies afresh");
        IS_STR(check(apr_pstrcat(pool, t, "A", NULL), keys, now),
               "the signature does not verify", "cached: one more byte");
        IS_STR(check(apr_pstrmemdup(pool, t, strlen(t) - 1), keys, now),
               "the signature does not verify", "cached: one byte less");
        /* a hit gives the claims a fresh parse gave, every one */
        t = tok(hs,
                "{\"sub\":\"alice\",\"iss\":\"me\",\"aud\":[\"x\",\"api\"],"
                "\"roles\":[\"admin\",\"ops\"],\"exp\":1700000100,\"nbf\":"
                "1699999000,\"n\":1.5,\"obj\":{\"a\":[1,2]},\"note\":"
                "\"caf\u00e9\"}");
        OK(be_jwt_verify(pool, t, &pol, now, &c, NULL) == NULL,
           "rich: first use");
        IS_STR(claims_text(c), all, "rich: parsed");
        OK(be_jwt_verify(pool, t, &pol, now, &c, NULL) == NULL, "rich: again");
        IS_STR(claims_text(c), all, "rich: from the cache");
    }
    unlink(secret);
    unlink(rs_priv);
    unlink(rs_pub);
    unlink(es_priv);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

/* A token of any header and payload text, signed with the HS256 key k. */
static const char *hs_raw(const be_jwt_key_t *k, const char *header,
                          const char *payload)
{
    const char *input = apr_pstrcat(
        pool,
        be_b64url_encode(pool, (const unsigned char *)header, strlen(header)),
        ".",
        be_b64url_encode(pool, (const unsigned char *)payload,
                         strlen(payload)),
        NULL);
    unsigned char mac[32];
    unsigned int len = 32;

    HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
         (const unsigned char *)input, strlen(input), mac, &len);
    return apr_pstrcat(pool, input, ".", be_b64url_encode(pool, mac, 32),
                       NULL);
}

/* "ok:USER", or the reason and the sort of refusal: "REASON (KIND)". */
static const char *hostile(const be_jwt_key_t *k, const char *header,
                           const char *payload, const char *user_claim)
{
    apr_array_header_t *keys = apr_array_make(pool, 1, sizeof(void *));
    be_jwt_policy_t pol = {keys, NULL, NULL, 30, user_claim, jwt_cache, NULL};
    apr_time_t now = apr_time_from_sec(1700000000);
    be_jwt_refusal_e kind = (be_jwt_refusal_e)-1;
    const char *t =
        hs_raw(k, header ? header : "{\"alg\":\"HS256\"}", payload);
    be_claims_t *c;
    const char *err, *again;

    APR_ARRAY_PUSH(keys, const be_jwt_key_t *) = k;
    err = be_jwt_verify(pool, t, &pol, now, &c, &kind);
    if (!err) {
        return apr_pstrcat(pool, "ok:", c->sub, NULL);
    }
    /* the same answer the second time: the cache let nothing through */
    again = be_jwt_verify(pool, t, &pol, now, &c, NULL);
    if (!again || strcmp(again, err) != 0) {
        return "(another answer the second time)";
    }
    return apr_psprintf(pool, "%s (%d)", err, (int)kind);
}

#define HOSTILE(payload, want, name) \
    IS_STR(hostile(hs, NULL, (payload), NULL), (want), (name))
#define HOSTILE_HDR(header, want, name) \
    IS_STR(hostile(hs, (header), "{\"sub\":\"alice\"}", NULL), (want), (name))

/* Claims and headers no correct issuer writes. */
static void test_hostile_tokens(void)
{
    const char *secret = write_file("hs2", "0123456789abcdef0123456789abcdef");
    be_jwt_key_t *hs;
    char *num, *str, *dup, *ctl, *hdr, *nj;
    static const char *const times[] = {"exp", "nbf", "iat"};
    int i;

    OK(be_jwt_load_key(pool, "hs256", secret, NULL, &hs) == NULL,
       "hostile: key");
    num = apr_psprintf(pool, " (%d)", BE_JWT_CLAIM_TYPE);
    str = num;
    dup = apr_psprintf(pool, " (%d)", BE_JWT_DUPLICATE);
    ctl = apr_psprintf(pool, " (%d)", BE_JWT_CONTROL_CHAR);
    hdr = apr_psprintf(pool, " (%d)", BE_JWT_HEADER_TYPE);
    nj = apr_psprintf(pool, " (%d)", BE_JWT_NOT_JSON);

    /* exp, nbf, iat: finite numbers from 1970 to 9999 */
    for (i = 0; i < 3; i++) {
        const char *n = times[i];
        const char *bad_type =
            apr_pstrcat(pool, "the ", n, " claim is not a number", num, NULL);
        const char *range =
            apr_pstrcat(pool, "the ", n, " claim is out of range", num, NULL);
#define P(v) apr_psprintf(pool, "{\"sub\":\"alice\",\"%s\":%s}", n, v)
#define NAME(what) apr_pstrcat(pool, n, " ", what, NULL)
        HOSTILE(P("\"0\""), bad_type, NAME("as a string"));
        HOSTILE(P("\"NaN\""), bad_type, NAME("as the string NaN"));
        HOSTILE(P("null"), bad_type, NAME("null"));
        HOSTILE(P("true"), bad_type, NAME("true"));
        HOSTILE(P("false"), bad_type, NAME("false"));
        HOSTILE(P("[1700000000]"), bad_type, NAME("an array"));
        HOSTILE(P("{}"), bad_type, NAME("an object"));
        HOSTILE(P("1e400"), range, NAME("1e400"));
        HOSTILE(P("-1e400"), range, NAME("-1e400"));
        HOSTILE(P("1e300"), range, NAME("past 9999"));
        HOSTILE(P("99999999999999999999"), range, NAME("past INT64_MAX"));
        HOSTILE(P("-1"), range, NAME("before 1970"));
        HOSTILE(
            P("NaN"),
            apr_pstrcat(pool, "the token payload is not valid JSON", nj, NULL),
            NAME("NaN"));
        HOSTILE(
            P("Infinity"),
            apr_pstrcat(pool, "the token payload is not valid JSON", nj, NULL),
            NAME("Infinity"));
        HOSTILE(
            P("-Infinity"),
            apr_pstrcat(pool, "the token payload is not valid JSON", nj, NULL),
            NAME("-Infinity"));
        HOSTILE(
            P("1."),
            apr_pstrcat(pool, "the token payload is not valid JSON", nj, NULL),
            NAME("1."));
#undef P
#undef NAME
    }
    HOSTILE("{\"sub\":\"alice\",\"exp\":1700000100.5,\"nbf\":0,\"iat\":"
            "1699999999}",
            "ok:alice", "good times, fractions");
    HOSTILE("{\"sub\":\"alice\",\"exp\":2.5e9}", "ok:alice",
            "exp with an exponent");
    HOSTILE("{\"sub\":\"alice\",\"exp\":253402300799}", "ok:alice",
            "exp at the end of 9999");

    /* iss, sub, jti strings; aud a string or an array of strings */
    HOSTILE("{\"sub\":5}",
            apr_pstrcat(pool, "the sub claim is not a string", str, NULL),
            "sub a number");
    HOSTILE("{\"sub\":null}",
            apr_pstrcat(pool, "the sub claim is not a string", str, NULL),
            "sub null");
    HOSTILE("{\"sub\":[\"alice\"]}",
            apr_pstrcat(pool, "the sub claim is not a string", str, NULL),
            "sub an array");
    HOSTILE("{\"sub\":\"alice\",\"iss\":true}",
            apr_pstrcat(pool, "the iss claim is not a string", str, NULL),
            "iss a boolean");
    HOSTILE("{\"sub\":\"alice\",\"jti\":{}}",
            apr_pstrcat(pool, "the jti claim is not a string", str, NULL),
            "jti an object");
    HOSTILE("{\"sub\":\"alice\",\"aud\":5}",
            apr_pstrcat(pool,
                        "the aud claim is not a string or an array of strings",
                        str, NULL),
            "aud a number");
    HOSTILE("{\"sub\":\"alice\",\"aud\":[\"api\",1]}",
            apr_pstrcat(pool,
                        "the aud claim is not a string or an array of strings",
                        str, NULL),
            "aud with a number in it");
    HOSTILE("{\"sub\":\"alice\",\"aud\":[\"api\",\"web\"],\"iss\":\"me\","
            "\"jti\":\"j1\"}",
            "ok:alice", "good iss, aud and jti");

    /* a name twice, anywhere, however it is written */
    HOSTILE("{\"sub\":\"alice\",\"sub\":\"bob\"}",
            apr_pstrcat(pool, "a claim name appears twice", dup, NULL),
            "sub twice");
    HOSTILE("{\"exp\":1700000100,\"sub\":\"a\",\"exp\":\"0\"}",
            apr_pstrcat(pool, "a claim name appears twice", dup, NULL),
            "exp twice");
    HOSTILE("{\"sub\":\"alice\",\"\\u0073ub\":\"bob\"}",
            apr_pstrcat(pool, "a claim name appears twice", dup, NULL),
            "sub twice, escaped");
    HOSTILE("{\"sub\":\"alice\",\"o\":{\"x\":1,\"x\":2}}",
            apr_pstrcat(pool, "a claim name appears twice", dup, NULL),
            "twice, nested");
    HOSTILE("{\"sub\":\"alice\",\"o\":[{\"x\":1},{\"x\":2}],\"s\":\"a:b\"}",
            "ok:alice", "the same name in two objects");

    /* NUL anywhere; control characters in the user's name */
    HOSTILE("{\"sub\":\"alice\\u0000bob\"}",
            apr_pstrcat(pool, "a claim holds a NUL character", ctl, NULL),
            "NUL in sub");
    HOSTILE("{\"sub\\u0000x\":\"alice\"}",
            apr_pstrcat(pool, "a claim holds a NUL character", ctl, NULL),
            "NUL in a claim name");
    HOSTILE("{\"sub\":\"alice\",\"dept\":\"sales\\u0000x\"}",
            apr_pstrcat(pool, "a claim holds a NUL character", ctl, NULL),
            "NUL in another claim");
    HOSTILE("{\"sub\":\"a\\\\u0000\"}", "ok:a\\u0000",
            "an escaped backslash before u0000 is no NUL");
    HOSTILE("{\"sub\":\"alice\\nbob\"}",
            apr_pstrcat(pool, "the sub claim holds a control character", ctl,
                        NULL),
            "newline in sub");
    HOSTILE("{\"sub\":\"alice\\u001b[2J\"}",
            apr_pstrcat(pool, "the sub claim holds a control character", ctl,
                        NULL),
            "ESC in sub");
    HOSTILE("{\"sub\":\"alice\\u007f\"}",
            apr_pstrcat(pool, "the sub claim holds a control character", ctl,
                        NULL),
            "DEL in sub");
    HOSTILE("{\"sub\":\"alice\\u0085\"}",
            apr_pstrcat(pool, "the sub claim holds a control character", ctl,
                        NULL),
            "C1 NEL in sub");
    HOSTILE("{\"sub\":\"alice\tbob\"}",
            apr_pstrcat(pool, "the token payload is not valid JSON", nj, NULL),
            "a raw tab in sub");
    HOSTILE("{\"sub\":\"caf\\u00e9 \\u2028\"}", "ok:caf\xc3\xa9 \xe2\x80\xa8",
            "other characters in sub");
    IS_STR(hostile(hs, NULL, "{\"email\":5}", "email"),
           apr_pstrcat(pool, "the email claim is not a string", str, NULL),
           "user claim a number");
    IS_STR(hostile(hs, NULL, "{\"email\":\"a\\u0001@x\"}", "email"),
           apr_pstrcat(pool, "the email claim holds a control character", ctl,
                       NULL),
           "control character in the user claim");
    IS_STR(hostile(hs, NULL, "{\"sub\":\"a\\n\",\"email\":\"a@x\"}", "email"),
           "ok:a@x", "control characters in sub when it is not the user");

    /* the header the same way */
    HOSTILE_HDR("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "ok:alice",
                "header: good");
    HOSTILE_HDR(
        "{\"alg\":\"HS256\",\"alg\":\"none\"}",
        apr_pstrcat(pool, "a header parameter appears twice", dup, NULL),
        "header: alg twice");
    HOSTILE_HDR(
        "{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"b\"}",
        apr_pstrcat(pool, "a header parameter appears twice", dup, NULL),
        "header: kid twice");
    HOSTILE_HDR("{\"alg\":[\"HS256\"]}",
                apr_pstrcat(pool, "the alg header parameter is not a string",
                            hdr, NULL),
                "header: alg array");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"kid\":5}",
                apr_pstrcat(pool, "the kid header parameter is not a string",
                            hdr, NULL),
                "header: kid number");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"typ\":null}",
                apr_pstrcat(pool, "the typ header parameter is not a string",
                            hdr, NULL),
                "header: typ null");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"cty\":{}}",
                apr_pstrcat(pool, "the cty header parameter is not a string",
                            hdr, NULL),
                "header: cty object");
    HOSTILE_HDR(
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
        apr_pstrcat(pool, "the token header names critical extensions (crit)",
                    hdr, NULL),
        "header: crit");
    HOSTILE_HDR("{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}",
                apr_pstrcat(pool, "a header parameter holds a NUL character",
                            ctl, NULL),
                "header: NUL in kid");
    HOSTILE_HDR(
        "{\"alg\":\"HS256\",\"x\":NaN}",
        apr_pstrcat(pool, "the token header is not valid JSON", nj, NULL),
        "header: NaN");
    HOSTILE_HDR("{\"kid\":\"a\"}",
                apr_psprintf(pool, "the token header is not valid (%d)",
                             BE_JWT_REFUSED),
                "header: no alg");

    if (jwt_cache) {
        /* a token remembered for one user claim is checked for another */
        IS_STR(hostile(hs, NULL, "{\"sub\":\"alice\",\"email\":7}", NULL),
               "ok:alice", "cached: sub is the user");
        IS_STR(hostile(hs, NULL, "{\"sub\":\"alice\",\"email\":7}", "email"),
               apr_pstrcat(pool, "the email claim is not a string", str, NULL),
               "cached: email is not a string");
    }
    unlink(secret);
}

int main(void)
{
    unit_start();
    test_jwt();
    test_hostile_tokens();
    /* again with a (small) cache of signatures */
    jwt_cache = be_jwt_cache_create(pool, 3);
    test_jwt();
    test_hostile_tokens();
    unit_end();
    return tap_done();
}
