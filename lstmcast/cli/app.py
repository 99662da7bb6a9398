"""The command line: the Typer app, its commands' flags, and exit codes. No numerics here.

Data goes to stdout, everything else (progress, notes, errors) to stderr. The model,
training and reading flags are made from :mod:`lstmcast.config` (:mod:`lstmcast.cli.flags`);
each command's work is in its own module (:mod:`lstmcast.cli.fit`, ``forecast``,
``evaluate``, ``info``). Heavy modules (numpy, pandas, numba) are imported inside the
commands, so ``--help`` and ``--version`` stay fast. Every option can also come from
``LSTMCAST_<OPTION>``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated, List, Optional

import typer

from lstmcast import __version__
from lstmcast.cli.flags import MODEL, READ, READ_LIMIT, READ_PARSING, TRAIN, TRAIN_UPDATE, with_configs
from lstmcast.errors import Interrupted, LstmcastError, UsageError

DEFAULT_MODEL = "lstmcast-model.safetensors"

app = typer.Typer(
    name="lstmcast", no_args_is_help=True, add_completion=True, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Forecast time series from CSV files with an LSTM.\n\n"
         "Example: lstmcast fit prices.csv && lstmcast forecast --horizon 30 > next30.csv")


def _opt(*names, help, env=None, **kw):
    name = env or names[0].lstrip("-").split("/")[0].replace("-", "_").upper()
    return typer.Option(*names, help=help, envvar=f"LSTMCAST_{name}", show_envvar=False, **kw)


# ---- the commands' own options (the model, training and reading options come from config.py)
Model = Annotated[Optional[str], _opt("--model", "-m", help=f"Model file (safetensors). Default: {DEFAULT_MODEL}.")]
Quiet = Annotated[bool, _opt("--quiet", "-q", help="No progress or notes on stderr.")]
Debug = Annotated[bool, _opt("--debug", help="Show a traceback on errors.")]
Levels = Annotated[Optional[List[float]], _opt("--level", "-l", help="Prediction interval level in percent (repeatable), e.g. 80.")]
Fmt = Annotated[Optional[str], _opt("--format", "-f", help="Output: csv, json or table (default: table on a terminal, else csv).")]
Output = Annotated[Optional[str], _opt("--output", "-o", help="Write to this file (atomically) instead of stdout.")]
Plot = Annotated[Optional[str], _opt("--plot", help="Also draw a PNG (needs: pip install 'lstmcast[plot]').")]
Data = Annotated[str, typer.Argument(help="CSV file, or - for stdin.")]
Scheduler = Annotated[Optional[str], typer.Option(
    "--scheduler", envvar=["LSTMCAST_SCHEDULER", "DASK_SCHEDULER_ADDRESS"], show_envvar=False,
    help="Spread the work over Dask: a scheduler address (tcp://host:8786), or local:N for N "
         "worker processes here (needs: pip install 'lstmcast[dask]').")]


def _version(value: bool):
    if value:
        print(f"lstmcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False):
    """Forecast time series from CSV files with an LSTM."""


def _messages(quiet: bool):
    from lstmcast.cli.console import Messages

    return Messages(quiet)


def _check_before_work(levels, plot) -> list[float]:
    """What can be refused before any data is read or any model trained."""
    from lstmcast.config import check_levels

    if plot:
        from lstmcast.cli import plots

        plots.check_available()
    return check_levels(levels or [])


# ---------------------------------------------------------------- commands


@app.command()
@with_configs(READ, MODEL, TRAIN)
def fit(data: Data, model: Model = None,
        resume: Annotated[bool, _opt("--resume", help="Continue an interrupted fit from its checkpoint.")] = False,
        json_out: Annotated[bool, _opt("--json", env="JSON", help="Print a JSON summary to stdout.")] = False,
        scheduler: Scheduler = None, quiet: Quiet = False, debug: Debug = False, *, given):
    """Train a model on DATA and write it to --model.

    Example: lstmcast fit sample_data/stocks.csv --id-col symbol --horizon 12
    """
    from lstmcast.cli import fit as command
    from lstmcast.cli.data import refuse_own_inputs

    refuse_own_inputs({"--model": model or DEFAULT_MODEL,
                       "the checkpoint": command.checkpoint_path(model or DEFAULT_MODEL)}, {"DATA": data})
    summary = command.run(data, model or DEFAULT_MODEL, given, resume=resume, msg=_messages(quiet),
                          scheduler=scheduler)
    if json_out:
        import json

        from lstmcast.cli.output import to_stdout

        to_stdout(json.dumps(summary, indent=2) + "\n")


@app.command()
@with_configs(READ_PARSING)
def forecast(data: Annotated[Optional[str], typer.Argument(help="Newer data to forecast from (file or -); default: the history in the model.")] = None,
             horizon: Annotated[Optional[int], _opt("--horizon", "-H", help="Steps to forecast (default: the model's horizon).")] = None,
             model: Model = None, level: Levels = None, fmt: Fmt = None, output: Output = None,
             plot: Plot = None, scheduler: Scheduler = None,
             future_data: Annotated[Optional[str], _opt("--future-data", help="File with the values of the model's --future columns for the forecast steps (time column, series column if any, those columns).")] = None,
             quiet: Quiet = False, debug: Debug = False, *, given):
    """Forecast from the end of the model's history, or of newer DATA (read with the
    options fit used, unless a flag overrides them). A model with --future columns reads
    their values for the forecast steps from DATA's rows after the last target value
    (target cell empty), or from --future-data.

    Example: lstmcast forecast --horizon 30 --level 80 --level 95 > next30.csv
    """
    from lstmcast.cli import forecast as command
    from lstmcast.cli import output as out

    from lstmcast.cli.data import refuse_own_inputs

    refuse_own_inputs({"-o": output, "--plot": plot}, {"DATA": data, "--model": model or DEFAULT_MODEL,
                                                        "--future-data": future_data})
    msg = _messages(quiet)
    fmt = out.choose_format(fmt, output)
    levels = _check_before_work(level, plot)
    result, history = command.run(model or DEFAULT_MODEL, data, horizon, levels, given["read"], msg,
                                  scheduler=scheduler, future_data=future_data)
    out.write_forecast(result, fmt, output)
    if plot:
        from lstmcast.cli import plots

        plots.forecast_plot(history, result, plot)


@app.command()
@with_configs(READ, MODEL, TRAIN)
def evaluate(data: Data,
             folds: Annotated[int, _opt("--folds", "-k", help="Forecast origins to test.")] = 3,
             step: Annotated[Optional[int], _opt("--step", help="Steps between origins (default: the horizon).")] = None,
             refit: Annotated[bool, _opt("--refit/--no-refit", help="Refit before each origin (default), or use --model as it is.")] = True,
             model: Annotated[Optional[str], _opt("--model", "-m", help="A model file: refits start from its options (flags override them); with --no-refit it forecasts as it is.")] = None,
             level: Levels = None, fmt: Fmt = None, output: Output = None, plot: Plot = None,
             scheduler: Scheduler = None, quiet: Quiet = False, debug: Debug = False, *, given):
    """Backtest the LSTM against naive, seasonal naive and drift on the same folds.

    Example: lstmcast evaluate sample_data/seattle-weather.csv --target temp_max --folds 4
    """
    from lstmcast.cli import evaluate as command
    from lstmcast.cli import output as out

    from lstmcast.cli.data import refuse_own_inputs

    refuse_own_inputs({"-o": output, "--plot": plot}, {"DATA": data, "--model": model})
    msg = _messages(quiet)
    fmt = out.choose_format(fmt, output)
    levels = _check_before_work(level, plot)
    result = command.run(data, given, folds=folds, step=step, refit=refit, model_path=model,
                         default_model=DEFAULT_MODEL, levels=levels, msg=msg, scheduler=scheduler)
    out.write(result.table, fmt, output, title="backtest")
    msg.note(result.verdict)
    if result.guard_note():
        msg.note(result.guard_note())
    if plot:
        from lstmcast.cli import plots

        plots.evaluate_plot(result, plot)


@app.command()
@with_configs(READ, MODEL, TRAIN)
def tune(data: Data, model: Model = None,
         budget: Annotated[str, _opt("--budget", help="Wall-clock time for the search: 90s, 10m, 1h.")] = "10m",
         trials: Annotated[int, _opt("--trials", help="Option sets to try, the defaults first (successive halving keeps the best third at each rung).")] = 27,
         folds: Annotated[Optional[int], _opt("--folds", "-k", help="Most search folds a trial is scored on (default 4, fewer on short data).")] = None,
         holdout: Annotated[Optional[int], _opt("--holdout", help="Latest folds kept from the search, to compare the tuned options with the defaults (default 2, 1 on short data).")] = None,
         fmt: Fmt = None, output: Output = None, scheduler: Scheduler = None, quiet: Quiet = False,
         debug: Debug = False, *, given):
    """Search lookback, hidden size, layers, learning rate, normalisation, dropout and
    ensemble size on rolling-origin folds of DATA within --budget, then fit the best
    options on all of DATA and write --model. Prints the table of trials; options set on
    the command line are not searched.

    Example: lstmcast tune sample_data/stocks.csv --id-col symbol --budget 2m
    """
    from lstmcast.cli import output as out
    from lstmcast.cli import tune as command
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    refuse_own_inputs({"--model": model, "-o": output}, {"DATA": data})
    msg = _messages(quiet)
    fmt = out.choose_format(fmt, output)
    frame, summary, code = command.run(data, model, given, budget=budget, trials=trials, folds=folds,
                                       holdout=holdout, msg=msg, scheduler=scheduler)
    out.write(frame, fmt, output, title="trials")
    if code is not None:
        from lstmcast.errors import Interrupted

        raise Interrupted("the search was stopped; the best trial so far was fitted and written", exit_code=code)


@app.command()
@with_configs(READ_PARSING, TRAIN_UPDATE)
def update(data: Data, model: Model = None,
           resume: Annotated[bool, _opt("--resume", help="Continue an interrupted update from its checkpoint.")] = False,
           json_out: Annotated[bool, _opt("--json", env="JSON", help="Print a JSON summary to stdout.")] = False,
           quiet: Quiet = False, debug: Debug = False, *, given):
    """Continue training --model on the rows of DATA newer than its history (a replay of
    recent rows, a lower learning rate, intervals recalibrated), and write it in place.

    Example: lstmcast update prices.csv --model prices.safetensors
    """
    from lstmcast.cli import update as command
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    refuse_own_inputs({"--model": model}, {"DATA": data})
    summary = command.run(data, model, given["read"], epochs=given["train"].get("epochs"),
                          lr=given["train"].get("lr"), resume=resume, msg=_messages(quiet))
    if json_out:
        import json

        from lstmcast.cli.output import to_stdout

        to_stdout(json.dumps(summary, indent=2) + "\n")


@app.command()
@with_configs(READ_PARSING)
def check(data: Data, model: Model = None,
          last: Annotated[Optional[int], _opt("--last", "-k", help="Newest points to score per series (default: 4 times the model's horizon, or all new points).")] = None,
          fmt: Fmt = None, output: Output = None, quiet: Quiet = False, debug: Debug = False, *, given):
    """Score the model's forecasts for the newest points of DATA (from origins before them,
    no refit) against naive and seasonal naive. Exit 0: fine; 3: worse than the best of
    them; 4: DATA holds nothing newer than the model's history.

    Example: lstmcast check prices.csv --model prices.safetensors || echo "refit needed"
    """
    from lstmcast.cli import check as command
    from lstmcast.cli import output as out
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    refuse_own_inputs({"-o": output}, {"DATA": data, "--model": model})
    msg = _messages(quiet)
    fmt = out.choose_format(fmt, output)
    result, code = command.run(model, data, last, given["read"], msg)
    if fmt == "json":
        import json

        text = json.dumps({**result.summary(), "exit_code": code}, indent=2) + "\n"
        if output and output != "-":
            from lstmcast.files.atomic import atomic_open

            with atomic_open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            out.to_stdout(text)
    elif len(result.table):
        out.write(result.table, fmt, output, title="check")
    if code:
        raise typer.Exit(code)


@app.command()
@with_configs(READ_LIMIT)
def export(model: Model = None,
           fmt: Annotated[str, _opt("--format", "-f", env="EXPORT_FORMAT", help="Export format: onnx (needs: pip install 'lstmcast[onnx]').")] = "onnx",
           output: Annotated[Optional[str], _opt("--output", "-o", help="The file to write (atomically), or - for stdout. Default: the model's name with .onnx.")] = None,
           series: Annotated[Optional[str], _opt("--series", help="Export this series alone (a long-format model); default: every series, chosen by a series_index input.")] = None,
           horizon: Annotated[Optional[int], _opt("--horizon", "-H", help="Steps in the output, at most the trained horizon (the default).")] = None,
           json_out: Annotated[bool, _opt("--json", env="JSON", help="Print the description of the inputs and output (JSON) to stdout.")] = False,
           quiet: Quiet = False, debug: Debug = False, *, given):
    """Export the model's network, scaling and window normalisation as one ONNX graph,
    so that a service in C#, Java, C++ (or Python without lstmcast) can forecast.

    Example: lstmcast export --model prices.safetensors -o prices.onnx
    """
    from lstmcast.cli import export as command
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    output = output or command.default_output(model)
    if json_out and output == "-":
        raise UsageError("--json and -o - would both write to stdout; choose one")
    refuse_own_inputs({"-o": output}, {"--model": model})
    desc = command.run(model, fmt, output, series, horizon, given["read"].get("max_input_mb"), _messages(quiet))
    if json_out:
        import json

        from lstmcast.cli.output import to_stdout

        to_stdout(json.dumps(desc, indent=2) + "\n")


@app.command()
@with_configs(READ_LIMIT)
def info(model: Annotated[str, typer.Argument(help="Model file.", envvar="LSTMCAST_MODEL")] = DEFAULT_MODEL,
         json_out: Annotated[bool, _opt("--json", env="JSON", help="Print JSON instead of a table.")] = False,
         quiet: Quiet = False, debug: Debug = False, *, given):
    """Show what a model file contains: data, options, validation, version.

    Example: lstmcast info lstmcast-model.safetensors --json
    """
    from lstmcast.cli import info as command

    doc = command.describe(model, given["read"].get("max_input_mb"))
    if json_out:
        import json

        from lstmcast.cli.output import to_stdout

        to_stdout(json.dumps(doc, indent=2, default=str) + "\n")
    else:
        command.print_table(doc)


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the app; turn every failure into one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("LSTMCAST_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
    code = 0
    _reopen_closed_streams()
    signal.signal(signal.SIGTERM, _terminated)  # fit replaces both while training
    signal.signal(signal.SIGINT, _interrupted)
    try:
        returned = app(args=args, prog_name="lstmcast", standalone_mode=False)
        if isinstance(returned, int) and not isinstance(returned, bool) and returned:
            # Typer turns a KeyboardInterrupt outside our handlers into a returned 130
            code = exit_code(KeyboardInterrupt(), debug) if returned == 130 else returned
    except (Exception, KeyboardInterrupt) as e:
        code = exit_code(e, debug)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    except OSError as e:  # a full disk or device behind stdout
        sys.stderr.write(f"lstmcast: error: cannot write to stdout: {e.strerror or e}\n")
        _quiet_broken_pipe()
        code = code or 73
    if code in (130, 143):
        # Interpreter shutdown restores the default SIGINT action, so another Ctrl-C there
        # would kill us with a signal instead of this code. Everything is written and
        # fsynced already; leave without the shutdown.
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _reopen_closed_streams() -> None:
    """A closed stderr must not stop the work (notes go nowhere); a closed stdout is
    treated like a reader that went away: the data goes nowhere, quietly."""
    for fd, name, mode in ((1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
            setattr(sys, name, open(fd, mode, closefd=False))
        except OSError:
            pass


def _terminated(signum, frame):
    signal.signal(signal.SIGINT, lambda *_: os._exit(143))
    raise Interrupted("terminated", exit_code=143)


def _interrupted(signum, frame):
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))  # a second Ctrl-C: out at once
    raise KeyboardInterrupt


def exit_code(e: BaseException, debug: bool) -> int:
    """The exit code for an exception, after saying what happened on stderr: lstmcast's
    own errors carry theirs; anything else is a bug, exit 1."""
    name = type(e).__name__
    if isinstance(e, typer.Exit) or name == "Exit":  # typer.Exit or click's, by version
        return int(getattr(e, "exit_code", 0) or 0)
    if isinstance(e, (typer.Abort, KeyboardInterrupt)) or name == "Abort":
        sys.stderr.write("lstmcast: interrupted\n")
        return 130
    if isinstance(e, BrokenPipeError):
        _quiet_broken_pipe()
        return 0
    if isinstance(e, OSError) and getattr(e, "lstmcast_stdout", False):
        sys.stderr.write(f"lstmcast: error: cannot write to stdout: {e.strerror or e}\n")
        return 73
    if hasattr(e, "format_message") and hasattr(e, "exit_code"):  # click's usage errors, by version
        ctx = getattr(e, "ctx", None)
        where = f" (see {ctx.command_path} --help)" if ctx is not None else " (see lstmcast --help)"
        sys.stderr.write(f"lstmcast: error: {escaped(e.format_message())}{where}\n")
        return 2
    if debug:
        import traceback

        traceback.print_exception(e)
    if isinstance(e, LstmcastError):
        sys.stderr.write(f"lstmcast: error: {escaped(str(e))}\n")
        return e.exit_code
    sys.stderr.write(f"lstmcast: internal error: {name}: {escaped(str(e))} (this is a bug: please report "
                     "it with the output of --debug)\n")
    return 1


def escaped(text: str) -> str:
    """One line, whatever a file name or a column name holds: control characters
    (newlines, escape sequences) written as ``\\n``, ``\\x1b``."""
    import re

    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: repr(m.group())[1:-1], text)


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head``): silence the final flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
