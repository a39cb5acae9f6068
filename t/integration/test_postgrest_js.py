"""The real client: @supabase/postgrest-js (t/client) against mod_backend,
on both drivers."""

import os
import shutil
import subprocess

from harness import TOP

CLIENT = os.path.join(TOP, "t", "client")


def test_postgrest_js(fresh):
    node = shutil.which("node")
    assert node, "node is needed: t/deps installs nodejs"
    assert os.path.isdir(os.path.join(CLIENT, "node_modules",
                                      "@supabase", "postgrest-js")), \
        "run npm ci in t/client (t/all does)"
    res = subprocess.run([node, "postgrest.mjs", fresh.url + "/api"],
                         cwd=CLIENT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=120)
    print(res.stdout)
    assert res.returncode == 0, res.stdout
    assert "not ok" not in res.stdout
    assert "1..16" in res.stdout
