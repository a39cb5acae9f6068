"""make install: apxs puts mod_backend.so where httpd's modules live, under
DESTDIR, with the a2enmod files, and edits no httpd.conf."""

import hashlib
import os
import shutil
import subprocess

from harness import LIBEXEC, TOP, make_tmpdir


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_make_install_with_destdir():
    if not os.path.exists(os.path.join(TOP, "Makefile")):
        raise AssertionError("configure the tree first (t/all does)")
    dest = make_tmpdir("mb-destdir-")
    conf = "/etc/apache2/apache2.conf"
    before = digest(conf) if os.path.exists(conf) else None
    try:
        res = subprocess.run(["make", "-C", TOP, "install",
                              "DESTDIR=" + dest], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        assert res.returncode == 0, res.stdout
        so = dest + LIBEXEC + "/mod_backend.so"
        assert os.path.isfile(so)
        assert digest(so) == digest(os.path.join(TOP, ".libs",
                                                 "mod_backend.so"))
        load = dest + "/etc/apache2/mods-available/backend.load"
        with open(load) as f:
            text = f.read()
        assert text.splitlines()[0] == "# Depends: dbd"
        assert "LoadModule backend_module %s/mod_backend.so" % LIBEXEC in text
        assert os.path.isfile(dest + "/etc/apache2/mods-available/"
                              "backend.conf")
        if before:
            assert digest(conf) == before
    finally:
        shutil.rmtree(dest, ignore_errors=True)
