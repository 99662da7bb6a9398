"""The generated passages of the README and the docs.

A passage between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->`` in ``README.md``
or ``docs/**/*.md`` is written by the function ``GENERATORS[NAME]`` from files a script
produced (``benchmarks/results/``), never by hand. ``python docs/scripts/generated.py``
rewrites every such passage; ``--check`` exits 1 and names the passages that differ
(``tests/docs/test_generated.py`` runs it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSAGE = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end: \2 -->)", re.S)


def accuracy_summary() -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks.accuracy.evidence import headline

    run = json.loads((ROOT / "benchmarks/results/evidence-confirmation.json").read_text())
    return headline(run)


GENERATORS = {"accuracy-summary": accuracy_summary}


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def rendered(text: str) -> str:
    def fill(m: re.Match) -> str:
        if m.group(2) not in GENERATORS:
            raise KeyError(f"no generator for the passage {m.group(2)!r}")
        return m.group(1) + GENERATORS[m.group(2)]().strip() + "\n" + m.group(4)

    return PASSAGE.sub(fill, text)


def main(argv: list[str]) -> int:
    stale = []
    for page in pages():
        text = page.read_text()
        new = rendered(text)
        if new != text:
            stale.append(str(page.relative_to(ROOT)))
            if "--check" not in argv:
                page.write_text(new)
    if "--check" in argv and stale:
        print("generated passages differ from their sources in: " + ", ".join(stale)
              + " (run python docs/scripts/generated.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
