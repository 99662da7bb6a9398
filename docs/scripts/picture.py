"""The picture in the README and on the docs' home page: a forecast drawn by the tool.

``python docs/scripts/picture.py [PATH]`` fits the installed ``lstmcast`` on the bundled
weather sample and draws a 14-day forecast with its 80 % and 95 % bands through
``forecast --plot`` into ``PATH`` (default ``docs/assets/forecast.png``). The test suite
runs it into a temporary folder (``tests/docs/test_generated.py``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    ["fit", str(ROOT / "sample_data/seattle-weather.csv"), "--target", "temp_max", "--quiet"],
    ["forecast", "--horizon", "14", "--level", "80", "--level", "95", "--plot", "{out}", "-o", "forecast.csv"],
]


def draw(out: Path) -> None:
    exe = Path(sys.executable).parent / "lstmcast"
    with tempfile.TemporaryDirectory() as folder:
        for args in COMMANDS:
            subprocess.run([str(exe), *(a.format(out=out.resolve()) for a in args)], cwd=folder,
                           check=True, env={"SOURCE_DATE_EPOCH": "0", **__import__("os").environ})


if __name__ == "__main__":
    draw(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/assets/forecast.png")
