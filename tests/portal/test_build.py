"""The built portal in src/ncap_iac/portal is what portal/'s sources build to (esbuild from the npm
registry, pinned by portal/package-lock.json; `make test` installs it), and it stays small. A page
that the build would not make is never what a lab member gets."""
import shutil
import subprocess

import pytest

from conftest import REPO

PORTAL = REPO / "portal"
BUILT = REPO / "src" / "ncap_iac" / "portal"
BUNDLE_LIMIT = 60_000  # bytes of app.js: no SDK, the browser's own fetch and WebCrypto
YAML_LIMIT = 60_000  # bytes of yaml.js, the YAML parser, fetched only when a config written in the page is checked


def test_the_committed_build_is_what_the_sources_build_to(tmp_path):
    node = shutil.which("node")
    if node is None or not (PORTAL / "node_modules" / "esbuild").exists():
        pytest.fail("the portal's build tools are not installed: `make test` runs npm ci in portal/")
    done = subprocess.run([node, "build.mjs", str(tmp_path)], cwd=PORTAL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("index.html", "app.js", "yaml.js", "app.css"):
        assert (tmp_path / name).read_bytes() == (BUILT / name).read_bytes(), \
            f"{name} differs from what portal/ builds: run `make portal` and commit src/ncap_iac/portal"


def test_the_bundle_is_small_and_names_no_secret():
    bundle = (BUILT / "app.js").read_bytes()
    assert len(bundle) < BUNDLE_LIMIT, len(bundle)
    parser = (BUILT / "yaml.js").read_bytes()
    assert len(parser) < YAML_LIMIT, len(parser)
    assert b'import("./yaml.js")' in bundle and b"import(" not in parser  # loaded on demand, and alone
    for marker in (b"AKIA", b"aws_secret", b"BEGIN PRIVATE"):
        assert marker not in bundle and marker not in parser
