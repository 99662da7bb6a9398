"""The examples of the README and the docs, run as written.

Owns the rules for fenced code blocks in ``README.md`` and ``docs/**/*.md``:

- ```` ```console ````: shell commands after ``$ `` run one after another in a fresh
  folder per page (``sample_data/`` beside them, the installed ``lstmcast`` first on
  ``PATH``, no ``LSTMCAST_*`` variable set); the lines after a command are what it
  prints: its stdout, then its stderr. They must match the run with every number masked
  (timings and trained weights differ between machines; words, columns, rows and
  messages may not), a line ``...`` stands for any number of lines and ``...`` within
  a line for any text.
- ```` ```python ````: ``>>>`` examples run as doctests in the page's folder; a block
  without them runs as a script there and must exit 0. A first line
  ``# requires: MODULE`` (a library lstmcast never installs, such as torch) runs the
  block only where that module imports; elsewhere the test says it was skipped.
- ```` ```bash ````: a script that must exit 0, in the page's folder.
- ```` ```sh ````: commands too slow or too big for the test suite (benchmarks, installs):
  checked, not run. ``python -m benchmarks.X`` must be a module whose ``--help`` lists
  every ``--flag`` used; ``pip install`` may name only this project's extras; an
  ``lstmcast`` command must exist and have every option used; ``python -m venv``,
  ``-m build``, ``-m pytest`` and ``mkdocs`` are run by ``tests/docs/test_release.py``
  and ``tests/docs/test_site.py``; anything else fails.
- ```` ```text ```` and anything else: not code (usage lines, crontabs, file contents).

``python docs/scripts/examples.py --write [FILE ...]`` runs the pages and rewrites every
console block's output from the run (keeping its ``...`` elisions), so what the docs show
comes from the tool. ``tests/docs/test_examples.py`` runs every page.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
ELLIPSIS = "..."
RUN_TIMEOUT = 300
# what a command prints only on a fresh machine (the first fit compiles the kernels once)
MACHINE_STATE = re.compile(r"^lstmcast: (compiling the training kernels|compiled in |compiled the training kernels)")


def pages() -> list[Path]:
    """Every Markdown file whose examples run: the README and the docs."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass
class Block:
    kind: str
    body: str
    start: int  # offset of the body in the page
    line: int  # line number of the opening fence


def blocks(text: str) -> list[Block]:
    return [Block(m.group(1), m.group(2), m.start(2), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


@dataclass
class Command:
    line: str
    expected: list[str]


def commands(body: str) -> list[Command]:
    """A console block's commands and the output shown after each."""
    out: list[Command] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            out.append(Command(line[2:], []))
        elif out:
            out[-1].expected.append(line)
        elif line.strip():
            raise ValueError(f"console block: output before any command: {line!r}")
    return out


def masked(line: str) -> str:
    return NUMBER.sub("#", line.rstrip())


def matches(expected: list[str], actual: list[str]) -> bool:
    """Do the shown lines match the printed ones, numbers masked, ``...`` eliding?"""
    parts = [re.escape(masked(line)).replace(re.escape(ELLIPSIS), ".*") + r"\n"
             if line.strip() != ELLIPSIS else r"(?:.*\n)*?" for line in expected]
    text = "".join(masked(line) + "\n" for line in actual)
    return re.fullmatch("".join(parts), text) is not None


def shown(expected: list[str], actual: list[str]) -> list[str]:
    """The run's lines, elided where the page elides them."""
    def kept(want: str, got: str) -> str:  # a line eliding within itself stays so
        return want if ELLIPSIS in want and matches([want], [got]) else got

    if ELLIPSIS not in [line.strip() for line in expected]:
        if len(expected) == len(actual):
            return [kept(w, g) for w, g in zip(expected, actual)]
        return actual
    i = [line.strip() for line in expected].index(ELLIPSIS)
    head, tail = i, len(expected) - i - 1
    if head + tail >= len(actual):
        return actual
    last = actual[len(actual) - tail:] if tail else []
    return [*(kept(w, g) for w, g in zip(expected[:head], actual)), ELLIPSIS,
            *(kept(w, g) for w, g in zip(expected[i + 1:], last))]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LSTMCAST_", "DASK_")) and k != "COLUMNS"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    return env


def run_command(line: str, folder: Path) -> tuple[int, list[str]]:
    r = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=folder, env=environment(),
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    err = [line for line in r.stderr.splitlines() if not MACHINE_STATE.match(line)]
    return r.returncode, [*r.stdout.splitlines(), *err]


class ExampleFailed(AssertionError):
    pass


def run_page(page: Path, folder: Path, write: bool = False, skipped: list[str] | None = None) -> int:
    """Run every example of one page in ``folder``; return how many ran (and add the
    blocks that could not run here to ``skipped``). With ``write``, rewrite the page's
    console output from the run."""
    skipped = [] if skipped is None else skipped
    text = page.read_text()
    (folder / "sample_data").symlink_to(ROOT / "sample_data")
    where = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page
    edits: list[tuple[int, int, str]] = []
    ran = 0
    for block in blocks(text):
        here = f"{where}:{block.line}"
        if block.kind == "console":
            lines = []
            for command in commands(block.body):
                code, actual = run_command(command.line, folder)
                ran += 1
                if code != 0 and not write:
                    raise ExampleFailed(f"{here}: `{command.line}` exited {code}:\n" + "\n".join(actual))
                if "Warning:" in "\n".join(actual):
                    raise ExampleFailed(f"{here}: `{command.line}` printed a Python warning:\n"
                                        + "\n".join(actual))
                if write:
                    lines += [f"$ {command.line}", *shown(command.expected, actual)]
                elif not matches(command.expected, actual):
                    raise ExampleFailed(
                        f"{here}: `{command.line}` printed something else than the page shows "
                        f"(numbers masked; regenerate with `python docs/scripts/examples.py --write {where}`)."
                        "\nshown:\n" + "\n".join(command.expected) + "\nprinted:\n" + "\n".join(actual))
            if write:
                edits.append((block.start, block.start + len(block.body), "\n".join(lines) + "\n"))
        elif block.kind == "python":
            needed = re.match(r"# requires: (\w+)", block.body)
            if needed and importlib.util.find_spec(needed.group(1)) is None:
                skipped.append(f"{here} (needs {needed.group(1)})")
            elif ">>> " in block.body:
                ran += run_doctest(block.body, folder, here)
            else:
                ran += run_script(block.body, folder, here)
        elif block.kind == "bash":
            code, actual = run_command(block.body, folder)
            ran += 1
            if code != 0:
                raise ExampleFailed(f"{here}: the script exited {code}:\n" + "\n".join(actual))
        elif block.kind == "sh":
            ran += check_unrun(block.body, here)
    if write and edits:
        for start, end, new in reversed(edits):
            text = text[:start] + new + text[end:]
        page.write_text(text)
    return ran


def run_script(body: str, folder: Path, here: str) -> int:
    r = subprocess.run([sys.executable, "-c", body], cwd=folder, env=environment(),
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if r.returncode != 0 or "Warning:" in r.stderr:
        raise ExampleFailed(f"{here}: the script exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return 1


def run_doctest(body: str, folder: Path, here: str) -> int:
    test = doctest.DocTestParser().get_doctest(body, {}, here, here, 0)
    if not test.examples:
        raise ExampleFailed(f"{here}: a python block without `>>>` examples")
    before = os.getcwd()
    os.chdir(folder)
    try:
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        out: list[str] = []
        runner.run(test, out=out.append)
    finally:
        os.chdir(before)
    if runner.failures:
        raise ExampleFailed(f"{here}:\n" + "".join(out))
    return runner.tries


def extras() -> set[str]:
    from importlib.metadata import metadata

    return set(metadata("lstmcast").get_all("Provides-Extra") or [])


def check_lstmcast(words: list[str], here: str) -> None:
    """An lstmcast command not run here: its command exists and has every option used."""
    words = [w for w in words if not w.startswith(("<", ">", "2>"))]
    command = next((w for w in words[1:] if not w.startswith("-")), None)
    r = subprocess.run([str(Path(sys.executable).parent / "lstmcast"), *([command] if command else []),
                        "--help"], capture_output=True, text=True, timeout=120,
                       env={**environment(), "COLUMNS": "300"})
    if r.returncode != 0:
        raise ExampleFailed(f"{here}: `lstmcast {command} --help` failed:\n{r.stderr}")
    missing = sorted({w.split("=", 1)[0] for w in words if w.startswith("-") and w != "-"}
                     - set(re.findall(r"--?[\w-]+", r.stdout)))
    if missing:
        raise ExampleFailed(f"{here}: `lstmcast {command}` has no option {', '.join(missing)}")


def check_unrun(body: str, here: str) -> int:
    """Check the commands of an ``sh`` block without running them."""
    checked = 0
    for line in (line.split(" #", 1)[0].strip() for line in body.splitlines()):
        if not line or line.startswith("#"):
            continue
        for part in line.split("&&"):
            check_one(shlex.split(part), line, here)
        checked += 1
    return checked


def check_one(words: list[str], line: str, here: str) -> None:
    while words:  # leading VAR=value, env, env -u NAME
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]) or words[0] == "env":
            words = words[1:]
        elif words[0] == "-u":
            words = words[2:]
        else:
            break
    program = Path(words[0]).name if words else ""
    if program == "lstmcast":
        check_lstmcast(words, here)
    elif words[1:3] in (["-m", "venv"], ["-m", "pytest"], ["-m", "build"]):
        pass  # tests/docs/test_release.py runs the quick start, the test command's install and the build
    elif program == "mkdocs" and words[1:2] in (["serve"], ["build"]):
        pass  # tests/docs/test_site.py runs the build
    elif "-m" in words and any(w.startswith("benchmarks.") for w in words):
        module = words[words.index("-m") + 1]
        flags = {w.split("=", 1)[0] for w in words if w.startswith("--")}
        r = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise ExampleFailed(f"{here}: `python -m {module} --help` failed:\n{r.stderr}")
        missing = sorted(f for f in flags if f not in r.stdout)
        if missing:
            raise ExampleFailed(f"{here}: {module} has no option {', '.join(missing)}")
    elif program == "pip" and "install" in words:
        for spec in words[words.index("install") + 1:]:
            named = re.fullmatch(r"(?:\.|lstmcast)?\[([\w,-]+)\]", spec)
            if named and not set(named.group(1).split(",")) <= extras():
                raise ExampleFailed(f"{here}: no extra {named.group(1)!r} in pyproject.toml")
    else:
        raise ExampleFailed(f"{here}: `{line}` is neither run nor checked: "
                            "put it in a console or bash block")


def main(argv: list[str]) -> int:
    write = "--write" in argv
    chosen = [ROOT / a for a in argv if a != "--write"] or pages()
    for page in chosen:
        with tempfile.TemporaryDirectory() as folder:
            ran = run_page(page.resolve(), Path(folder), write=write)
        print(f"{page.relative_to(ROOT)}: {ran} example(s) {'written' if write else 'passed'}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
