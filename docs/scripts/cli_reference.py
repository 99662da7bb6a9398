"""The command-line reference page, ``docs/reference/cli.md``: generated here, never edited by hand.

Owns the translation of the Typer app (:data:`lstmcast.cli.app.app`, as the click command
tree ``typer.main.get_command`` makes of it) into Markdown: the root options, then per
command its usage line, help text, arguments and a table of options (every name, type,
default, environment variables, help). The page depends on nothing but the commands:
not on the terminal width, the environment (``LSTMCAST_*`` values are never read as
defaults) or the machine. ``tests/docs/test_cli_reference.py`` fails when the committed
page differs from :func:`render`.

    python docs/scripts/cli_reference.py          # write docs/reference/cli.md
    python docs/scripts/cli_reference.py --check  # exit 1 and print a diff if it is stale
"""

from __future__ import annotations

import difflib
import enum
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference" / "cli.md"
SCRIPT = "docs/scripts/cli_reference.py"

INTRO = (
    "Every option of a command can also be set through the environment variable listed next to "
    "it, so that a setting can stay in the environment of a cron job or a container; a flag given "
    "on the command line wins over the variable. Each command prints its own help with `-h` or "
    "`--help`."
)

_FLAG = re.compile(r"(?<![\w-])--?[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_RICH_PAIR = re.compile(r"\[(?P<tag>[a-z][a-z0-9 _#.=:/-]*)\](?P<body>.*?)\[/(?:(?P=tag))?\]", re.S)
_EXAMPLE = re.compile(r"^(Examples?):[ \t]*(.*)$", re.S)


# ---------------------------------------------------------------- text


def _plain(text: str | None) -> str:
    """Help text without what only a terminal shows: the part after click's ``\\f`` and
    Rich markup pairs (``[bold]x[/bold]``, ``[red]x[/]``); ``lstmcast[plot]`` stays."""
    text = (text or "").split("\f", 1)[0]
    while True:
        stripped = _RICH_PAIR.sub(lambda m: m.group("body"), text)
        if stripped == text:
            return text
        text = stripped


def _escape(text: str) -> str:
    """Prose as Markdown: flags in code, characters Markdown would read as syntax escaped."""
    def prose(piece: str) -> str:
        piece = piece.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
        return piece.translate({ord(c): "\\" + c for c in "`*_[]"})  # "|": by _cell, in tables only

    flags = [f"`{flag}`" for flag in _FLAG.findall(text)] + [""]
    line = "".join(prose(piece) + flag for piece, flag in zip(_FLAG.split(text), flags))
    return re.sub(r"^([#>+-]|\d+\.)", r"\\\1", line)


def _one_line(text: str | None) -> str:
    return _escape(" ".join(_plain(text).split()))


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _fence(lines: list[str], lang: str = "text") -> str:
    return "\n".join([f"```{lang}", *lines, "```"])


def _help_blocks(text: str | None) -> list[str]:
    """A command's help as Markdown blocks: paragraphs (rewrapped), click's ``\\b`` blocks
    (kept line by line) and ``Example:`` paragraphs (as shell code)."""
    blocks = []
    for para in re.split(r"\n[ \t]*\n", _plain(text).strip()):
        lines = [line.rstrip() for line in para.strip("\n").splitlines()]
        if not lines or not "".join(lines).strip():
            continue
        if lines[0].strip() == "\b":
            blocks.append(_fence([line for line in lines[1:]]))
            continue
        example = _EXAMPLE.match("\n".join(lines).strip())
        if example:
            code = [line.strip() for line in example.group(2).splitlines() if line.strip()]
            if code:
                blocks.append(f"{example.group(1)}:")
                blocks.append(_fence(code, "sh"))
                continue
        blocks.append(_one_line(" ".join(lines)))
    return blocks


# ---------------------------------------------------------------- parameters


def _visible(params):
    return [p for p in params if not getattr(p, "hidden", False)]


def _type(param, ctx) -> str:
    """The value's type as ``--help`` names it (``int``, ``str``, choices ``a | b``);
    ``flag`` for an option that takes no value."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return "flag"
    if hasattr(param, "display_type"):  # newer Typer (its own copy of click): its type labels
        label = param.display_type(ctx).strip("<>")
        label = re.sub(r"^list\[(.*)\]$", r"\1", label) if param.multiple else label
    else:  # older Typer, on click: click's type names (untested here)
        choices = getattr(param.type, "choices", None)
        label = "|".join(map(str, choices)) if choices else param.type.name
    label = " | ".join(label.split("|"))
    return f"{label} (repeatable)" if param.multiple else label


def _default(param, ctx) -> str:
    """The default as click shows it, from the definition only (``call=False``: no
    factory is run, and no environment variable is read)."""
    if isinstance(getattr(param, "show_default", None), str):
        return param.show_default
    value = param.get_default(ctx, call=False)
    if value is None or callable(value):
        return ""
    if getattr(param, "is_flag", False):
        if getattr(param, "secondary_opts", None):
            names = param.opts if value else param.secondary_opts
            return names[0].lstrip("-/")
        return str(value) if value else ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v.value if isinstance(v, enum.Enum) else v) for v in value)
    return str(value.value if isinstance(value, enum.Enum) else value)


def _help_and_default(param, ctx) -> tuple[str, str]:
    """The one-line help and the default; an option whose default click does not know
    (lstmcast's options default to None and resolve later) says it at the end of its
    help, ``Default: X.``, which moves to the default column."""
    text, default = _one_line(param.help), _default(param, ctx)
    said = re.search(r"\s*Default: (.*)\.$", text)
    if said and not default:
        return text[:said.start()], said.group(1)
    return text, default


def _envvars(param) -> list[str]:
    envvar = getattr(param, "envvar", None)
    if not envvar:
        return []
    return [envvar] if isinstance(envvar, str) else list(envvar)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _arguments(params, ctx) -> list[str]:
    rows = [[_code(_argument_name(p)), "yes" if p.required else "no", _type(p, ctx),
             _code(_help_and_default(p, ctx)[1]), ", ".join(map(_code, _envvars(p))),
             _help_and_default(p, ctx)[0]] for p in params]
    if not rows:
        return []
    return ["**Arguments**", _table(["Argument", "Required", "Type", "Default", "Environment variable",
                                     "Description"], rows)]


def _names(param, ctx) -> list[str]:
    """The option's names, long ones first, then the ``--no-`` ones of a boolean flag.
    click makes the help option's names from a set (their order changes with
    PYTHONHASHSEED): those are put back in the order the app lists them."""
    opts = list(param.opts)
    if param is ctx.command.get_help_option(ctx):
        order = list(ctx.help_option_names)
        opts.sort(key=lambda n: order.index(n) if n in order else len(order))
    opts.sort(key=lambda n: not n.startswith("--"))
    return [*opts, *param.secondary_opts]


def _options(params, ctx) -> list[str]:
    rows = []
    for p in params:
        deprecated = "(Deprecated) " if getattr(p, "deprecated", False) else ""
        text, default = _help_and_default(p, ctx)
        rows.append([", ".join(_code(n) for n in _names(p, ctx)), _type(p, ctx),
                     _code(default), ", ".join(map(_code, _envvars(p))), deprecated + text])
    if not rows:
        return []
    return ["**Options**", _table(["Option", "Type", "Default", "Environment variable", "Description"], rows)]


def _argument_name(param) -> str:
    return param.metavar or param.name.upper()


def _usage(command, ctx) -> str:
    """The usage line, made here rather than by click (whose form changes between
    versions): ``lstmcast fit [OPTIONS] DATA``."""
    pieces = [ctx.command_path]
    if command.options_metavar:
        pieces.append(command.options_metavar)
    for p in _visible(command.get_params(ctx)):
        if p.param_type_name == "argument":
            name = _argument_name(p) + ("..." if p.nargs != 1 else "")
            pieces.append(name if p.required else f"[{name}]")
    if hasattr(command, "commands"):
        pieces.append(command.subcommand_metavar)
    return " ".join(pieces)


def _section(title: str, command, ctx) -> list[str]:
    params = _visible(command.get_params(ctx))
    blocks = [f"## {title}", _fence([_usage(command, ctx)])]
    if command.deprecated:
        blocks.append("**Deprecated.**")
    blocks += _help_blocks(command.help)
    blocks += _arguments([p for p in params if p.param_type_name == "argument"], ctx)
    blocks += _options([p for p in params if p.param_type_name == "option"], ctx)
    return blocks


# ---------------------------------------------------------------- the page


def render() -> str:
    """The page, as Markdown."""
    import typer

    from lstmcast.cli.app import app

    group = typer.main.get_command(app)
    name = group.name or "lstmcast"
    ctx = group.context_class(group, info_name=name, **(group.context_settings or {}))
    commands = []
    for cmd_name in group.list_commands(ctx):  # the app's registration order
        command = group.get_command(ctx, cmd_name)
        if command is not None and not command.hidden:
            commands.append((cmd_name, command))

    blocks = [f"<!-- Generated by {SCRIPT} from the commands' own help: do not edit by hand. -->",
              "# Command-line reference", INTRO]
    blocks += _section(name, group, ctx)
    if commands:
        blocks += ["**Commands**", _table(["Command", "Description"], [
            [_code(f"{name} {cmd_name}"), _one_line(command.get_short_help_str(limit=1_000_000))]
            for cmd_name, command in commands])]
    for cmd_name, command in commands:
        sub = command.context_class(command, info_name=cmd_name, parent=ctx, **(command.context_settings or {}))
        blocks += _section(f"{name} {cmd_name}", command, sub)
    return "\n\n".join(blocks) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` say (exit 1, a diff on stderr) whether it is stale."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"]):
        sys.stderr.write(f"usage: python {SCRIPT} [--check]\n")
        return 2
    page = render()
    if args == ["--check"]:
        committed = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if committed == page:
            return 0
        where = PAGE.relative_to(ROOT).as_posix() if PAGE.is_relative_to(ROOT) else str(PAGE)
        sys.stderr.writelines(difflib.unified_diff(committed.splitlines(keepends=True), page.splitlines(keepends=True),
                                                   f"{where} (committed)", f"{where} (from the commands)"))
        sys.stderr.write(f"{where} is stale: run python {SCRIPT}\n")
        return 1
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    with open(PAGE, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # this checkout's lstmcast, whatever is installed
    sys.exit(main())
