"""The documentation site builds with ``mkdocs build --strict`` (a broken link, a page
left out of the navigation or a missing included file fails it), and its API reference
covers every public name."""

import os
import re
import subprocess
import sys

import lstmcast
from conftest import ROOT


def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stderr
    cli = (site / "reference/cli/index.html").read_text()
    assert "LSTMCAST_EPOCH_WINDOWS" in cli and "--epoch-windows" in cli
    api = (site / "reference/api/index.html").read_text()
    assert "def predict" in api or "predict" in re.sub(r"<[^>]+>", "", api)
    accuracy = re.sub(r"<[^>]+>", "", (site / "benchmarks/accuracy/index.html").read_text())
    assert "Against the targets" in accuracy  # the result file was included, not a snippet marker
    assert "--8&lt;--" not in accuracy and "--8<--" not in accuracy
    changelog = re.sub(r"<[^>]+>", "", (site / "changelog/index.html").read_text())
    assert f"[{lstmcast.__version__}]" in changelog
    assert not list(site.rglob("*.py")), "the docs' scripts are not pages"


def test_the_api_reference_documents_every_public_name():
    page = (ROOT / "docs/reference/api.md").read_text()
    for name, (module, attr) in lstmcast._API.items():
        assert f"::: {module}.{attr}" in page and f"`lstmcast.{name}`" in page, name


def test_every_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages == set(re.findall(r":\s+([\w/-]+\.md)\s*$", nav, re.M))
