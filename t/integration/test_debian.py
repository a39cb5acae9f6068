"""The Debian package: dpkg-buildpackage builds libapache2-mod-backend from
a copy of the tree; dpkg -i installs the module, backend.load and
backend.conf in mods-available, the explorer's files and the docs, and its
postinst enables the module with mod_dbd; a2enmod backend enables both as
an administrator would; apache2ctl -t accepts the system's configuration;
an httpd of ours (its own port, ServerRoot and logs; not the system's
apache2) loads the installed module through the enabled .load files and
answers; a2dismod and dpkg --purge leave the system as it was.

Needs root (dpkg -i): it fails, never skips, without it."""

import os
import shutil
import subprocess

import requests

import harness
from harness import IS_ROOT, TOP, Database, Httpd, make_tmpdir

PKG = "libapache2-mod-backend"
MODULE = "/usr/lib/apache2/modules/mod_backend.so"
APACHE = "/etc/apache2"
AVAILABLE = APACHE + "/mods-available"
ENABLED = APACHE + "/mods-enabled"
STATE = "/var/lib/apache2"          # a2enmod's enabled_by_* markers
EXPLORER = "/usr/share/mod_backend/explorer"
DOC = "/usr/share/doc/" + PKG
DIST = os.path.join(TOP, "explorer", "node_modules", "swagger-ui-dist")
SYSTEM_PIDFILE = "/var/run/apache2/apache2.pid"

SCHEMA = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                       price REAL);
INSERT INTO products VALUES (1, 'hammer', 9.5), (2, 'saw', 12.5);
"""

SITE = """
<Location /api>
    SetHandler backend
    BackendResource products
</Location>
"""


def run(*cmd, check=True, **kw):
    res = subprocess.run(list(cmd), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, **kw)
    if check:
        assert res.returncode == 0, "%s: exit %d\n%s" % (
            " ".join(cmd), res.returncode, res.stdout)
    return res


def package_status():
    res = run("dpkg-query", "-W", "-f=${Status}", PKG, check=False)
    return res.stdout.strip() if res.returncode == 0 else None


def installed(status):
    return status is not None and status.endswith(" installed")


def tree(top):
    """Every file, directory and symlink (with its target) under top."""
    out = []
    for d, dirs, files in os.walk(top):
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            out.append((p, os.readlink(p) if os.path.islink(p) else None))
    return sorted(out)


def system_apache2_running():
    try:
        with open(SYSTEM_PIDFILE) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def snapshot():
    return {
        "package": package_status(),
        "mods-enabled": tree(ENABLED),
        "mods-available": tree(AVAILABLE),
        "a2enmod state": tree(STATE),
        "module": os.path.exists(MODULE),
        "explorer": os.path.exists(os.path.dirname(EXPLORER)),
        "docs": os.path.exists(DOC),
        "system apache2 running": system_apache2_running(),
    }


def enabled(name):
    return os.path.exists(os.path.join(ENABLED, name + ".load"))


def build_package(dest):
    """dpkg-buildpackage -us -uc -b on a copy of the tree (its files as git
    sees them, tracked or not ignored, plus Swagger UI's from
    explorer/node_modules); returns the path of the .deb."""
    src = os.path.join(dest, "src")
    files = run("git", "-C", TOP, "ls-files", "-z", "--cached", "--others",
                "--exclude-standard").stdout.split("\0")
    for name in filter(None, files):
        path = os.path.join(TOP, name)
        if not os.path.lexists(path):
            continue                    # deleted in the work tree
        os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
        shutil.copy2(path, os.path.join(src, name), follow_symlinks=False)
    shutil.copytree(DIST, os.path.join(src, "explorer", "node_modules",
                                       "swagger-ui-dist"))
    # not the make of `make check` that may have started us
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                        "DESTDIR")}
    log = os.path.join(dest, "build.log")
    with open(log, "w") as f:
        res = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b",
                              "-j%d" % (os.cpu_count() or 1)],
                             cwd=src, env=env, stdout=f,
                             stderr=subprocess.STDOUT)
    with open(log, errors="replace") as f:
        text = f.read()
    assert res.returncode == 0, "dpkg-buildpackage failed:\n" + text[-6000:]
    debs = [n for n in os.listdir(dest)
            if n.startswith(PKG + "_") and n.endswith(".deb")]
    assert len(debs) == 1, os.listdir(dest)
    return os.path.join(dest, debs[0])


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_installed_files():
    listed = run("dpkg", "-L", PKG).stdout.split("\n")
    assert os.path.isfile(MODULE) and MODULE in listed
    assert read(MODULE)[:4] == b"\x7fELF"
    with open(os.path.join(AVAILABLE, "backend.load")) as f:
        load = f.read().splitlines()
    assert load[0] == "# Depends: dbd"
    assert "LoadModule backend_module %s" % MODULE in load
    assert read(os.path.join(AVAILABLE, "backend.conf")) == read(
        os.path.join(TOP, "conf", "backend.conf"))
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PKG).stdout
    for name in ("backend.load", "backend.conf"):
        assert os.path.join(AVAILABLE, name) in listed
        assert os.path.join(AVAILABLE, name) in conffiles
    # the explorer's files: what the module reads there (it makes the page
    # itself), copied from swagger-ui-dist
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        path = os.path.join(EXPLORER, name)
        assert path in listed
        assert read(path) == read(os.path.join(DIST, name)), name
    # the docs (dh_compress gzips the larger ones)
    assert os.path.isfile(os.path.join(DOC, "copyright"))
    for name in ("README", "docs/directives.md", "docs/http-api.md"):
        path = os.path.join(DOC, name)
        assert os.path.isfile(path) or os.path.isfile(path + ".gz"), name


def serve_from_installed_module():
    """A private httpd (harness.Httpd: its own port, ServerRoot, PidFile,
    logs) whose mod_dbd and mod_backend come from the .load files a2enmod
    enabled, i.e. the installed module."""
    db = Database("sqlite", name="deb")
    h = None
    try:
        db.script(SCHEMA)
        h = Httpd(SITE, db, load_dbd=False)
        with open(h.conf) as f:
            conf = f.read()
        ours = 'LoadModule backend_module "%s"\n' % harness.MODULE
        assert ours in conf
        conf = conf.replace(ours, "".join(
            "Include %s/%s\n" % (ENABLED, n)
            for n in ("dbd.load", "backend.load", "backend.conf")))
        with open(h.conf, "w") as f:
            f.write(conf)
        h.start_ok()
        r = requests.get(h.url + "/api/products/2", timeout=10)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        assert r.json() == {"id": 2, "name": "saw", "price": 12.5}
        r = requests.get(h.url + "/api/products?price=lt.10", timeout=10)
        assert r.json() == [{"id": 1, "name": "hammer", "price": 9.5}]
        # the explorer, from the installed files, where the module looks
        # by default
        r = requests.get(h.url + "/api/", timeout=10,
                         headers={"Accept": "text/html"})
        assert r.status_code == 200
        assert "/api/_explorer/swagger-ui.css" in r.text
        r = requests.get(h.url + "/api/_explorer/swagger-ui.css", timeout=10)
        assert r.status_code == 200
        assert r.content == read(os.path.join(EXPLORER, "swagger-ui.css"))
        pid = h.pid()
        maps = read("/proc/%d/maps" % pid).decode() if pid else ""
        assert MODULE in maps, "httpd did not map " + MODULE
        assert not h.bad_log_lines(), h.log_text()
    finally:
        if h is not None:
            h.destroy()
        db.close()


def restore(before, problems):
    """Undoes what the test did, step by step, whatever failed before;
    appends what did not work to problems."""
    def step(*cmd):
        res = run(*cmd, check=False)
        if res.returncode != 0:
            problems.append("%s: exit %d\n%s" % (" ".join(cmd),
                                                 res.returncode, res.stdout))
    if enabled("backend"):
        step("a2dismod", "-q", "backend")
    if package_status() is not None:
        step("dpkg", "--purge", PKG)
    # a2enmod enabled mod_dbd for backend; disabling backend leaves it
    # (Debian's a2dismod never disables dependencies): -p also forgets
    # a2enmod's markers for it
    dbd_before = any(p.endswith("/dbd.load") for p, _ in
                     before["mods-enabled"])
    dbd_marked = any(os.path.basename(p) == "dbd" for p, _ in
                     before["a2enmod state"])
    if not dbd_before and not dbd_marked:
        step("a2dismod", "-q", "-p", "dbd")
    # a2enmod and a2dismod leave the marker directories they made, empty
    had = set(p for p, _ in before["a2enmod state"])
    for p, _ in reversed(tree(STATE)):
        if p not in had and os.path.isdir(p) and not os.listdir(p):
            os.rmdir(p)


def test_package_builds_installs_serves_and_purges():
    assert IS_ROOT, ("test_debian.py needs root: it installs the package "
                     "with dpkg -i, runs a2enmod and purges it again "
                     "(t/all runs as root)")
    for tool in ("dpkg-buildpackage", "dh", "dh_apache2", "a2enmod",
                 "apache2ctl", "git"):
        assert shutil.which(tool), tool + " is missing: bash t/deps test"
    assert os.path.isfile(os.path.join(DIST, "swagger-ui-bundle.js")), \
        "explorer/node_modules is missing: (cd explorer && npm ci)"
    before = snapshot()
    # the test installs and purges the package: it must find none, nor a
    # mod_backend that `make install` put there (dpkg would replace it)
    assert not installed(before["package"]), \
        PKG + " is installed: dpkg --purge it before this test"
    for path in (MODULE, os.path.join(AVAILABLE, "backend.load"),
                 os.path.dirname(EXPLORER)):
        assert not os.path.exists(path), \
            path + " is there (make install?): remove it before this test"
    assert run("apache2ctl", "-t", check=False).returncode == 0, \
        "the system's apache2 configuration is broken before the test"

    deb = build_package(make_tmpdir("mb-deb-"))
    problems = []
    try:
        run("dpkg", "-i", deb,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        assert installed(package_status()), package_status()
        check_installed_files()
        # postinst enabled it (apache2-maintscript-helper), with mod_dbd
        # from backend.load's "# Depends: dbd"
        assert enabled("backend") and enabled("dbd")
        # as an administrator would: off, then a2enmod backend, which
        # enables mod_dbd with it
        run("a2dismod", "-q", "backend")
        if not any(p.endswith("/dbd.load") for p, _ in before["mods-enabled"]):
            run("a2dismod", "-q", "dbd")
            assert not enabled("dbd")
        assert not enabled("backend")
        out = run("a2enmod", "backend").stdout
        assert enabled("backend") and enabled("dbd"), out
        assert os.path.realpath(os.path.join(ENABLED, "backend.load")) == \
            os.path.join(AVAILABLE, "backend.load")
        run("apache2ctl", "-t")
        modules = run("apache2ctl", "-M").stdout
        assert "backend_module (shared)" in modules, modules
        assert "dbd_module (shared)" in modules, modules
        serve_from_installed_module()
        # removal, as the issue has it: a2dismod, then the package
        run("a2dismod", "-q", "backend")
        assert not enabled("backend")
        run("dpkg", "--purge", PKG)
    finally:
        restore(before, problems)
        if problems:
            print("restoring the system:\n" + "\n".join(problems))
    assert not problems, "\n".join(problems)
    after = snapshot()
    assert package_status() is None or not installed(package_status())
    assert not os.path.exists(MODULE)
    for key in before:
        assert after[key] == before[key], key
    assert run("apache2ctl", "-t", check=False).returncode == 0
