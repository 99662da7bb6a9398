"""Nothing the scripts produce is written by hand: the generated passages of the README
and the docs match their sources, and the README's picture is drawn by the tool."""

import subprocess
import sys

from conftest import ROOT, docs_script

generated = docs_script("generated")


def test_the_generated_passages_match_their_sources():
    r = subprocess.run([sys.executable, "-B", str(ROOT / "docs/scripts/generated.py"), "--check"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_a_stale_passage_is_found_and_rewritten():
    text = "x\n<!-- generated: combination-summary -->\nOn 99 series it always wins.\n<!-- end: combination-summary -->\n"
    new = generated.rendered(text)
    assert "always wins" not in new and "times AutoETS's" in new
    assert generated.rendered(new) == new


def test_the_readme_and_the_benchmarks_page_carry_the_accuracy_summary():
    for page in ["README.md", "docs/benchmarks/index.md"]:
        for name in ("combination-summary", "intervals-summary"):
            assert f"<!-- generated: {name} -->" in (ROOT / page).read_text(), (page, name)


def test_the_picture_is_drawn_by_the_tool(tmp_path):
    out = tmp_path / "forecast.png"
    subprocess.run([sys.executable, "-B", str(ROOT / "docs/scripts/picture.py"), str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert (ROOT / "docs/assets/forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "docs/assets/forecast.png" in (ROOT / "README.md").read_text()
