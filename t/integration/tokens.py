"""Makes JWTs for the tests, good and bad, with the standard library and
the openssl command: no JWT library, so the tests do not share a bug with
the code under test."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(header, payload):
    return (b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
            b64(json.dumps(payload, separators=(",", ":")).encode()))


def hs256(secret, payload, header=None):
    h = {"alg": "HS256", "typ": "JWT"}
    h.update(header or {})
    signing = segments(h, payload)
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(sig)


def _openssl_sign(pem, data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", pem],
                          input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def _der_to_raw(der):
    """ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to R||S, 32 bytes each."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def rs256(pem, payload, kid=None):
    h = {"alg": "RS256", "typ": "JWT"}
    if kid:
        h["kid"] = kid
    signing = segments(h, payload)
    return signing + "." + b64(_openssl_sign(pem, signing.encode()))


def es256(pem, payload, kid=None):
    h = {"alg": "ES256", "typ": "JWT"}
    if kid:
        h["kid"] = kid
    signing = segments(h, payload)
    return signing + "." + b64(_der_to_raw(_openssl_sign(pem,
                                                         signing.encode())))


def unsigned(payload):
    return segments({"alg": "none", "typ": "JWT"}, payload) + "."


def claims(sub, ttl=300, **more):
    now = int(time.time())
    c = {"sub": sub, "iat": now, "exp": now + ttl}
    c.update(more)
    return c


class Keys:
    """Key files in a directory: an HS256 secret, RSA and EC key pairs."""

    def bearer(self, user, **more):
        """An Authorization header with an HS256 token for user (and more
        claims)."""
        return {"Authorization": "Bearer " + hs256(self.secret,
                                                   claims(user, **more))}

    def __init__(self, d):
        self.dir = d
        self.secret = os.urandom(32).hex().encode()
        self.hs = os.path.join(d, "hs.key")
        with open(self.hs, "wb") as f:
            f.write(self.secret + b"\n")
        self.rs = os.path.join(d, "rs.pem")
        self.rs_pub = os.path.join(d, "rs_pub.pem")
        self.es = os.path.join(d, "es.pem")
        self.es_pub = os.path.join(d, "es_pub.pem")
        run = lambda *a: subprocess.run(a, check=True,
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
            "rsa_keygen_bits:2048", "-out", self.rs)
        run("openssl", "pkey", "-in", self.rs, "-pubout", "-out", self.rs_pub)
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", self.es)
        run("openssl", "pkey", "-in", self.es, "-pubout", "-out", self.es_pub)
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o644)
