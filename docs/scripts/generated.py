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


def combination_summary() -> str:
    """The combiner on the confirmation half (benchmarks/accuracy/combination.py)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.accuracy.combination import _gmean_ratio, _wins

    run = json.loads((ROOT / "benchmarks/results/combination-confirmation.json").read_text())
    r, meta = run["results"], run["meta"]
    ets, _ = _gmean_ratio(r, "default", "autoets")
    ens, _ = _gmean_ratio(r, "default", "statensemble")
    net, _ = _gmean_ratio(r, "network", "autoets")
    old, _ = _gmean_ratio(r, "guard", "autoets")
    earn, _ = _gmean_ratio(r, "default", "no-lstm")
    w_ets, n_ets = _wins(r, "default", "autoets")
    w_sn, n_sn = _wins(r, "default", "seasonal_naive")
    return (f"On the {len(r)} real series of the confirmation half, which no default was chosen on, "
            f"lstmcast's default (the network combined, per series, with naive, seasonal naive, drift, "
            f"ETS and Theta) has a geometric-mean MASE of {ets:.3f} times AutoETS's and {ens:.3f} times "
            f"the statistical ensemble's (AutoETS, AutoTheta and AutoARIMA averaged); it beats AutoETS on "
            f"{w_ets} of {n_ets} and seasonal naive on {w_sn} of {n_sn}. The network alone: {net:.3f} times "
            f"AutoETS's; lstmcast 0.2's guard: {old:.3f}; the default against the same combination "
            f"without the network: {earn:.3f} (run of {meta['date']}, commit {meta['commit']}).")


def intervals_summary() -> str:
    """The default's intervals on the confirmation half (benchmarks/accuracy/intervals.py)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.accuracy.intervals import _within

    run = json.loads((ROOT / "benchmarks/results/intervals-confirmation.json").read_text())
    every, meta = run["results"], run["meta"]
    name = meta["configs"][0]
    r = [x for x in every if f"{name}_cov_80" in x]  # a series too short for many origins has none
    cov = {lv: sum(x[f"{name}_cov_{lv}"] for x in r) / len(r) for lv in ("80", "95")}
    within = sum(_within(x, name) for x in r)
    pairs = [(x.get(f"{name}_msis_95"), x.get("autoets_msis_95")) for x in r]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None and a == a and b == b]
    return (f"Its 80 % and 95 % intervals cover {cov['80']:.1f} % and {cov['95']:.1f} % of the points on "
            f"average over many origins, within 5 points of nominal at both levels on {within} of the "
            f"{len(r)} series long enough to measure (of {len(every)}); their interval score (MSIS at 95 %) is below AutoETS's own intervals' on "
            f"{sum(a < b for a, b in pairs)} of {len(pairs)} (run of {meta['date']}, commit {meta['commit']}).")


GENERATORS = {"combination-summary": combination_summary,
              "intervals-summary": intervals_summary}


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
