"""Every example of the README and the docs runs as written, and prints what the page
shows (the rules per kind of block: ``docs/scripts/examples.py``)."""

import re

import pytest

from conftest import ROOT, docs_script

examples = docs_script("examples")
PAGES = examples.pages()


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_examples_of_a_page_run_as_written(page, tmp_path):
    examples.run_page(page, tmp_path)


def test_the_pages_that_teach_the_commands_have_examples_that_run(tmp_path):
    for name in ["README.md", "docs/getting-started.md", "docs/guide/forecasting.md",
                 "docs/guide/production.md", "docs/guide/python-api.md"]:
        kinds = {b.kind for b in examples.blocks((ROOT / name).read_text())}
        assert kinds & {"console", "python", "bash"}, f"{name} has no example that runs"


def _needing():
    return [(page, block) for page in PAGES for block in examples.blocks(page.read_text())
            if block.kind == "python" and re.match(r"# requires: \w+", block.body)]


@pytest.mark.parametrize("page,block", _needing(),
                         ids=[f"{p.relative_to(ROOT)}:{b.line}" for p, b in _needing()])
def test_an_example_that_needs_another_library_runs_where_it_is_installed(page, block, tmp_path):
    module = re.match(r"# requires: (\w+)", block.body).group(1)
    pytest.importorskip(module, reason=f"{page.name}:{block.line} needs {module}, which lstmcast never installs")
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    for earlier in examples.blocks(page.read_text()):  # the files the page's earlier examples made
        if earlier.line < block.line and earlier.kind == "console":
            for command in examples.commands(earlier.body):
                assert examples.run_command(command.line, tmp_path)[0] == 0, command.line
    examples.run_script(block.body, tmp_path, f"{page.name}:{block.line}")


def test_shown_output_is_compared_with_numbers_masked_and_ellipses():
    assert examples.matches(["a,b", "1,2.5"], ["a,b", "3,-4e-05"])
    assert not examples.matches(["a,b", "1,2.5"], ["a,c", "1,2.5"])  # a word differs
    assert not examples.matches(["a,b", "1,2.5"], ["a,b", "1,2.5", "3,4"])  # a row more
    assert examples.matches(["head", "...", "tail"], ["head", "x", "y", "tail"])
    assert examples.matches(["lstmcast: ... trials in # s"], ["lstmcast: 14 of 27 trials in 3 s"])
    assert not examples.matches(["head", "...", "tail"], ["head", "x"])


def test_a_page_whose_output_went_stale_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```console\n$ lstmcast --version\nlstmcast version 9\n```\n")
    (tmp_path / "run").mkdir()
    with pytest.raises(examples.ExampleFailed, match="printed something else"):
        examples.run_page(page, tmp_path / "run")


def test_unrun_commands_are_checked(tmp_path):
    with pytest.raises(examples.ExampleFailed, match="has no option --nope"):
        examples.check_unrun("lstmcast fit data.csv --nope 3", "x")
    with pytest.raises(examples.ExampleFailed, match="no extra"):
        examples.check_unrun("pip install '.[nosuchextra]'", "x")
    with pytest.raises(examples.ExampleFailed, match="neither run nor checked"):
        examples.check_unrun("rm -rf /tmp/x", "x")
    assert examples.check_unrun("env -u OPENBLAS_CORETYPE python -m benchmarks.speed.cli --repeat 5", "x") == 1
