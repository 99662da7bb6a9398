"""The command-line reference page, ``docs/reference/cli.md``, says what the commands say:
it is what ``docs/scripts/cli_reference.py`` renders from the Typer app, that renderer
leaves no command, option or environment variable out, and its output does not depend on
the terminal or the environment it runs in."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest
import typer

from conftest import ROOT

SCRIPT = ROOT / "docs" / "scripts" / "cli_reference.py"
PAGE = ROOT / "docs" / "reference" / "cli.md"
REGENERATE = "python docs/scripts/cli_reference.py"


def _load():
    spec = importlib.util.spec_from_file_location("cli_reference", SCRIPT)  # docs/scripts is no package
    module = importlib.util.module_from_spec(spec)
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in docs/ (the site)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


cli_reference = _load()


def test_the_committed_page_is_what_the_commands_say():
    committed = PAGE.read_text(encoding="utf-8")
    assert committed == cli_reference.render(), (
        f"docs/reference/cli.md differs from the commands' help: regenerate it with `{REGENERATE}` "
        "(from the repository root) and commit the result")


def _sections(page: str) -> dict[str, str]:
    """The page's text under each ``## `` heading, by heading."""
    parts = re.split(r"^## (.+)$", page, flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def _app():
    from lstmcast.cli.app import app

    return app


def _names_and_envvars(command, help_names):
    """Every option name and environment variable of ``command``'s visible parameters,
    read from the parameters themselves (not through the renderer)."""
    found = set(help_names) if getattr(command, "add_help_option", True) else set()
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        if param.param_type_name == "option":
            found.update(param.opts)
            found.update(param.secondary_opts)
        envvar = param.envvar
        found.update([envvar] if isinstance(envvar, str) else envvar or [])
    return found


def test_every_command_option_and_envvar_is_on_the_page():
    # Independent of render(): walks the command tree and looks for each name, in code
    # (`--fill`, not the "--fill" inside `--fill-limit`), in its own command's section.
    page = PAGE.read_text(encoding="utf-8")
    sections = _sections(page)
    group = typer.main.get_command(_app())
    help_names = group.context_settings.get("help_option_names", ["--help"])
    expected = {"lstmcast": _names_and_envvars(group, help_names)}
    for name, command in group.commands.items():
        if command.hidden:
            assert f"lstmcast {name}" not in sections, f"the hidden command {name} is on the page"
            continue
        expected[f"lstmcast {name}"] = _names_and_envvars(command, help_names)
        for param in command.params:
            if param.param_type_name == "argument" and not getattr(param, "hidden", False):
                expected[f"lstmcast {name}"].add(param.metavar or param.name.upper())
    assert len(expected) > 1, "the app has no visible commands"
    missing = {title: sorted(n for n in names if f"`{n}`" not in sections.get(title, ""))
               for title, names in expected.items()}
    missing = {title: names for title, names in missing.items() if names}
    assert not missing, f"left out of docs/reference/cli.md (regenerate with `{REGENERATE}`): {missing}"
    assert list(sections) == list(expected), "the page's sections are not the commands, in their order"


def test_render_does_not_depend_on_the_terminal_or_the_environment(monkeypatch):
    for var in [v for v in os.environ if v.startswith("LSTMCAST_")] + ["COLUMNS", "LINES", "DASK_SCHEDULER_ADDRESS"]:
        monkeypatch.delenv(var, raising=False)
    plain = cli_reference.render()
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("LINES", "10")
    for var, value in {"LSTMCAST_MODEL": "elsewhere.safetensors", "LSTMCAST_HORIZON": "99",
                       "LSTMCAST_TARGET": "sales", "LSTMCAST_GUARD": "false", "LSTMCAST_JSON": "1",
                       "LSTMCAST_MAX_INPUT_MB": "7", "DASK_SCHEDULER_ADDRESS": "tcp://example:8786"}.items():
        monkeypatch.setenv(var, value)
    assert cli_reference.render() == plain


# click orders the help option's names by a set's iteration: "-h, --help" with hash seed 2,
# "--help, -h" with 0 (Python 3.10 to 3.13)
@pytest.mark.parametrize("hash_seed", ["0", "2"])
def test_check_passes_in_a_fresh_process_with_another_terminal_and_environment(hash_seed):
    # A fresh import too: a default read from the environment when the app is imported
    # would show here, not in the test above; and another hash seed (set and dict order).
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "COLUMNS": "40", "LSTMCAST_MODEL": "elsewhere.safetensors",
           "LSTMCAST_LEVEL": "80", "LSTMCAST_FORMAT": "json", "LSTMCAST_QUIET": "1"}
    r = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]


def test_check_fails_with_a_diff_when_the_page_is_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text(cli_reference.render().replace("## lstmcast fit", "## lstmcast fits"), encoding="utf-8")
    monkeypatch.setattr(cli_reference, "PAGE", stale)
    assert cli_reference.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "-## lstmcast fits" in err and "+## lstmcast fit" in err and REGENERATE in err
    stale.write_text(cli_reference.render(), encoding="utf-8")
    assert cli_reference.main(["--check"]) == 0


@pytest.mark.parametrize("argv", [["--chek"], ["--check", "extra"]])
def test_unknown_arguments_are_refused(argv, capsys):
    assert cli_reference.main(argv) == 2
    assert "usage:" in capsys.readouterr().err
