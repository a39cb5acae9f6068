"""Bearer tokens that are signed with the right key but say things no
correct issuer writes, on both drivers: registered claims of the wrong
type or out of range, names given twice, NUL and control characters in
the user's name, and JOSE headers of the same sorts.  Each is a 401 with
the invalid_token challenge and a problem body, logged at info with its
own tag and without the token; a good token still gets its user's rows."""

import hashlib
import hmac
import time

import pytest
import requests

from conftest import make_db, site_per_driver
from expected import assert_problem
from harness import LIBEXEC, Httpd, make_tmpdir
import tokens

SCHEMA = {
    "sqlite": "CREATE TABLE notes (id INTEGER PRIMARY KEY, "
              "owner TEXT NOT NULL, body TEXT NOT NULL);",
    "pgsql": "CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL, "
             "body text NOT NULL);",
}

CONF = """
LoadModule authz_user_module "{libexec}/mod_authz_user.so"
<Location /api>
    SetHandler backend
    BackendResource notes owner=owner
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    Require valid-user
</Location>
<Location /byemail>
    SetHandler backend
    BackendResource notes owner=owner
    AuthType Bearer
    BackendTokenKey hs256 {k.hs}
    BackendTokenUserClaim email
    Require valid-user
</Location>
"""

TAGS = ("BE00060", "BE00061", "BE00062", "BE00063", "BE00064")
ALICE_NOTES = [{"id": 1, "owner": "alice", "body": "alice's"}]
HS256 = '{"alg":"HS256","typ":"JWT"}'


class Site:
    def __init__(self, driver, pg):
        self.db = make_db(driver, pg, "hostile")
        self.db.script(SCHEMA[driver])
        self.db.script("INSERT INTO notes (owner, body) VALUES "
                       "('alice', 'alice''s'), ('bob', 'bob''s'), "
                       "('a@x.test', 'by email')")
        self.keys = tokens.Keys(make_tmpdir("mb-hostile-"))
        self.httpd = Httpd(CONF.format(k=self.keys, libexec=LIBEXEC),
                           self.db).start_ok()
        self.url = self.httpd.url

    def raw(self, header, payload):
        """A token of exactly these header and payload texts, signed with
        the site's HS256 key (json.dumps could not write most of them)."""
        signing = (tokens.b64(header.encode()) + "." +
                   tokens.b64(payload.encode()))
        sig = hmac.new(self.keys.secret, signing.encode(),
                       hashlib.sha256).digest()
        return signing + "." + tokens.b64(sig)

    def get(self, path, token):
        return requests.get(self.url + path,
                            headers={"Authorization": "Bearer " + token})

    def close(self):
        self.httpd.destroy()
        self.db.close()


site = site_per_driver(Site)


def claims(**parts):
    """The JSON text of a payload: sub alice, good times, then parts given
    as raw JSON texts (in that order, so a name may come twice)."""
    now = int(time.time())
    items = [("sub", '"alice"'), ("iat", str(now)), ("exp", str(now + 300))]
    for name, text in parts.items():
        items.append((name.rstrip("_"), text))
    return "{" + ",".join('"%s":%s' % (n, v) for n, v in items) + "}"


def only(**parts):
    """A payload of exactly these names and raw JSON texts."""
    return "{" + ",".join('"%s":%s' % (n, v) for n, v in parts.items()) + "}"


def refused(site, token, why, tag, path="/api/notes"):
    r = site.get(path, token)
    assert_problem(r, 401, "Unauthorized", "invalid token: " + why)
    assert r.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="%s"' % why)
    log = site.httpd.log_text()
    assert "%s: bearer token refused" % tag in log
    assert [ln for ln in log.splitlines() if tag in ln and why in ln], log
    # the token is never logged, nor any part of it
    for part in token.split("."):
        assert part not in log


def bad_times(name):
    number = "the %s claim is not a number" % name
    rng = "the %s claim is out of range" % name
    not_json = "the token payload is not valid JSON"
    return [
        (name + "-string", {name: '"0"'}, number, "BE00060"),
        (name + "-string-nan", {name: '"NaN"'}, number, "BE00060"),
        (name + "-null", {name: "null"}, number, "BE00060"),
        (name + "-true", {name: "true"}, number, "BE00060"),
        (name + "-false", {name: "false"}, number, "BE00060"),
        (name + "-array", {name: "[0]"}, number, "BE00060"),
        (name + "-1e400", {name: "1e400"}, rng, "BE00060"),
        (name + "-minus-1e400", {name: "-1e400"}, rng, "BE00060"),
        (name + "-1e300", {name: "1e300"}, rng, "BE00060"),
        (name + "-negative", {name: "-1"}, rng, "BE00060"),
        (name + "-NaN", {name: "NaN"}, not_json, "BE00064"),
        (name + "-Infinity", {name: "Infinity"}, not_json, "BE00064"),
        (name + "-minus-Infinity", {name: "-Infinity"}, not_json, "BE00064"),
    ]


# exp and iat come first in claims(): an exp given here is exp twice, so
# these payloads are written whole, the time claim last
def time_payload(name, text):
    now = int(time.time())
    p = {"sub": '"alice"', "exp": str(now + 300)}
    p[name] = text
    return only(**p)


CLAIM_CASES = [(n, time_payload(*list(p.items())[0]), why, tag)
               for n, p, why, tag in
               bad_times("exp") + bad_times("nbf") + bad_times("iat")] + [
    ("sub-number", only(sub="5"), "the sub claim is not a string",
     "BE00060"),
    ("sub-null", only(sub="null"), "the sub claim is not a string",
     "BE00060"),
    ("sub-array", only(sub='["alice"]'), "the sub claim is not a string",
     "BE00060"),
    ("iss-number", claims(iss="5"), "the iss claim is not a string",
     "BE00060"),
    ("jti-object", claims(jti="{}"), "the jti claim is not a string",
     "BE00060"),
    ("aud-number", claims(aud="5"),
     "the aud claim is not a string or an array of strings", "BE00060"),
    ("aud-mixed", claims(aud='["api",1]'),
     "the aud claim is not a string or an array of strings", "BE00060"),
    ("sub-twice", claims(sub_='"bob"'), "a claim name appears twice",
     "BE00061"),
    ("exp-twice", claims(exp_='"0"'), "a claim name appears twice",
     "BE00061"),
    ("sub-twice-escaped", '{"sub":"bob","\\u0073ub":"alice"}',
     "a claim name appears twice", "BE00061"),
    ("twice-nested", claims(o='{"x":1,"x":2}'), "a claim name appears twice",
     "BE00061"),
    ("sub-nul", only(sub='"alice\\u0000bob"'),
     "a claim holds a NUL character", "BE00062"),
    ("name-nul", '{"sub\\u0000x":"alice"}', "a claim holds a NUL character",
     "BE00062"),
    ("other-claim-nul", claims(dept='"sales\\u0000x"'),
     "a claim holds a NUL character", "BE00062"),
    ("sub-newline", only(sub='"alice\\nbob"'),
     "the sub claim holds a control character", "BE00062"),
    ("sub-escape", only(sub='"alice\\u001b[2J"'),
     "the sub claim holds a control character", "BE00062"),
    ("sub-del", only(sub='"alice\\u007f"'),
     "the sub claim holds a control character", "BE00062"),
    ("sub-c1", only(sub='"alice\\u0085"'),
     "the sub claim holds a control character", "BE00062"),
    ("sub-raw-tab", only(sub='"alice\tbob"'),
     "the token payload is not valid JSON", "BE00064"),
]


@pytest.mark.allow_log(*TAGS)
@pytest.mark.parametrize("name,payload,why,tag", CLAIM_CASES,
                         ids=[c[0] for c in CLAIM_CASES])
def test_hostile_claims(site, name, payload, why, tag):
    refused(site, site.raw(HS256, payload), why, tag)


USER_CLAIM_CASES = [
    ("email-number", claims(email="5"), "the email claim is not a string",
     "BE00060"),
    ("email-null", claims(email="null"), "the email claim is not a string",
     "BE00060"),
    ("email-control", claims(email='"a@x.test\\u0001"'),
     "the email claim holds a control character", "BE00062"),
    ("email-nul", claims(email='"a@x.test\\u0000bob"'),
     "a claim holds a NUL character", "BE00062"),
]


@pytest.mark.allow_log(*TAGS)
@pytest.mark.parametrize("name,payload,why,tag", USER_CLAIM_CASES,
                         ids=[c[0] for c in USER_CLAIM_CASES])
def test_hostile_user_claim(site, name, payload, why, tag):
    """BackendTokenUserClaim names the user: the same rules as sub."""
    refused(site, site.raw(HS256, payload), why, tag, "/byemail/notes")


HEADER_CASES = [
    ("alg-twice", '{"alg":"HS256","alg":"none"}',
     "a header parameter appears twice", "BE00061"),
    ("kid-twice", '{"alg":"HS256","kid":"a","kid":"b"}',
     "a header parameter appears twice", "BE00061"),
    ("typ-twice", '{"typ":"JWT","alg":"HS256","typ":"JWT"}',
     "a header parameter appears twice", "BE00061"),
    ("alg-array", '{"alg":["HS256"]}',
     "the alg header parameter is not a string", "BE00063"),
    ("kid-number", '{"alg":"HS256","kid":5}',
     "the kid header parameter is not a string", "BE00063"),
    ("typ-null", '{"alg":"HS256","typ":null}',
     "the typ header parameter is not a string", "BE00063"),
    ("cty-object", '{"alg":"HS256","cty":{}}',
     "the cty header parameter is not a string", "BE00063"),
    ("crit", '{"alg":"HS256","crit":["exp"]}',
     "the token header names critical extensions (crit)", "BE00063"),
    ("kid-nul", '{"alg":"HS256","kid":"a\\u0000b"}',
     "a header parameter holds a NUL character", "BE00062"),
    ("header-nan", '{"alg":"HS256","x":NaN}',
     "the token header is not valid JSON", "BE00064"),
]


@pytest.mark.allow_log(*TAGS)
@pytest.mark.parametrize("name,header,why,tag", HEADER_CASES,
                         ids=[c[0] for c in HEADER_CASES])
def test_hostile_header(site, name, header, why, tag):
    refused(site, site.raw(header, claims()), why, tag)


@pytest.mark.allow_log(*TAGS)
def test_hostile_token_refused_every_time(site):
    """The cache of verified tokens remembers none of these: the second
    and third tries (on either child) are refused the same way."""
    t = site.raw(HS256, claims(exp_='"0"'))
    for _ in range(3):
        refused(site, t, "a claim name appears twice", "BE00061")


def test_good_tokens_still_accepted(site):
    now = int(time.time())
    for payload in (
            claims(),
            claims(nbf=str(now - 10), aud='["api","web"]', iss='"me"',
                   jti='"j1"', roles='["a"]', o='[{"x":1},{"x":2}]',
                   note='"a:b \\u00e9 \\n"'),
            only(sub='"alice"', exp="%d.5" % (now + 300), iat="%de0" % now),
            only(sub='"alice"')):
        for _ in range(2):  # parsed, then from the cache
            r = site.get("/api/notes", site.raw(HS256, payload))
            assert r.status_code == 200, r.text
            assert r.json() == ALICE_NOTES
    r = site.get("/api/notes", site.raw('{"alg":"HS256","kid":"k",'
                                        '"typ":"JWT","cty":"JWT"}', claims()))
    assert r.status_code == 200, r.text
    r = site.get("/byemail/notes",
                 site.raw(HS256, claims(email='"a@x.test"')))
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 3, "owner": "a@x.test", "body": "by email"}]
