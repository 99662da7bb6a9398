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
from typing import Annotated, Optional

import typer

from lstmcast import __version__
from lstmcast import config
from lstmcast.cli.flags import (CHECK, EVALUATE, EXPORT, FORECAST, MODEL, OUTPUT, OUTPUT_LEVELS, OUTPUT_TABLE, READ,
                                READ_LIMIT, READ_PARSING, SCHEDULE, TRAIN, TRAIN_UPDATE, TUNE, with_configs)
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


# ---- the process's own flags: which model file, how much to say, the JSON summary. Every
# option with a rule or a default that matters (reading, the model, training, each
# command's own) is defined in config.py and comes in through ``given``.
Model = Annotated[Optional[str], _opt("--model", "-m", help=f"Model file (safetensors). Default: {DEFAULT_MODEL}.")]
Quiet = Annotated[bool, _opt("--quiet", "-q", help="No progress or notes on stderr.")]
Debug = Annotated[bool, _opt("--debug", help="Show a traceback on errors.")]
Data = Annotated[str, typer.Argument(help="CSV file, or - for stdin.")]


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


def _scheduler(given: dict) -> str | None:
    """``--scheduler``, checked (taken out of ``given``, which then holds what the command runs on)."""
    return config.ScheduleConfig(**given.pop("schedule")).scheduler


def _output(given: dict) -> config.OutputConfig:
    """The output options, checked before any data is read or any model trained (taken
    out of ``given``)."""
    o = config.OutputConfig(**given.pop("output"))
    if o.plot:
        from lstmcast.cli import plots

        plots.check_available()
    return o


# ---------------------------------------------------------------- commands


@app.command()
@with_configs(READ, MODEL, TRAIN, SCHEDULE)
def fit(data: Data, model: Model = None,
        resume: Annotated[bool, _opt("--resume", help="Continue an interrupted fit from its checkpoint.")] = False,
        json_out: Annotated[bool, _opt("--json", env="JSON", help="Print a JSON summary to stdout.")] = False,
        like: Annotated[Optional[str], _opt("--like", help="Fit with every option this model file was fitted with (targets, reading, model, training, covariates); a flag given here overrides one. The refit of a cron job.")] = None,
        quiet: Quiet = False, debug: Debug = False, *, given):
    """Train a model on DATA and write it to --model.

    Example: lstmcast fit sample_data/stocks.csv --id-col symbol --horizon 12
    """
    from lstmcast.cli import fit as command
    from lstmcast.cli.data import refuse_own_inputs

    refuse_own_inputs({"--model": model or DEFAULT_MODEL,
                       "the checkpoint": command.checkpoint_path(model or DEFAULT_MODEL)}, {"DATA": data})
    scheduler = _scheduler(given)
    summary = command.run(data, model or DEFAULT_MODEL, given, resume=resume, msg=_messages(quiet),
                          scheduler=scheduler, like=like)
    if json_out:
        import json

        from lstmcast.cli.output import to_stdout

        to_stdout(json.dumps(summary, indent=2) + "\n")


@app.command()
@with_configs(READ_PARSING, FORECAST, OUTPUT, SCHEDULE)
def forecast(data: Annotated[Optional[str], typer.Argument(help="Newer data to forecast from (file or -); default: the history in the model.")] = None,
             model: Model = None, quiet: Quiet = False, debug: Debug = False, *, given):
    """Forecast from the end of the model's history, or of newer DATA (read with the
    options fit used, unless a flag overrides them). A model with --future columns reads
    their values for the forecast steps from DATA's rows after the last target value
    (target cell empty), or from --future-data.

    Example: lstmcast forecast --horizon 30 --level 80 --level 95 > next30.csv
    """
    from lstmcast.cli import forecast as command
    from lstmcast.cli import output as out

    from lstmcast.cli.data import refuse_own_inputs

    f, o, scheduler = config.ForecastConfig(**given.pop("forecast")), _output(given), _scheduler(given)
    refuse_own_inputs({"-o": o.output, "--plot": o.plot}, {"DATA": data, "--model": model or DEFAULT_MODEL,
                                                            "--future-data": f.future_data})
    msg = _messages(quiet)
    fmt = out.choose_format(o.format, o.output)
    result, history = command.run(model or DEFAULT_MODEL, data, f.horizon, list(o.levels), given["read"], msg,
                                  scheduler=scheduler, future_data=f.future_data)
    out.write_forecast(result, fmt, o.output)
    if o.plot:
        from lstmcast.cli import plots

        plots.forecast_plot(history, result, o.plot)


@app.command()
@with_configs(READ, MODEL, TRAIN, EVALUATE, OUTPUT, SCHEDULE)
def evaluate(data: Data,
             model: Annotated[Optional[str], _opt("--model", "-m", help="A model file: refits start from its options (flags override them); with --no-refit it forecasts as it is.")] = None,
             quiet: Quiet = False, debug: Debug = False, *, given):
    """Backtest the LSTM against naive, seasonal naive and drift on the same folds.

    Example: lstmcast evaluate sample_data/seattle-weather.csv --target temp_max --folds 4
    """
    from lstmcast.cli import evaluate as command
    from lstmcast.cli import output as out

    from lstmcast.cli.data import refuse_own_inputs

    e, o, scheduler = config.EvaluateConfig(**given.pop("evaluate")), _output(given), _scheduler(given)
    refuse_own_inputs({"-o": o.output, "--plot": o.plot}, {"DATA": data, "--model": model})
    msg = _messages(quiet)
    fmt = out.choose_format(o.format, o.output)
    result = command.run(data, given, folds=e.folds, step=e.step, refit=e.refit, model_path=model,
                         default_model=DEFAULT_MODEL, levels=list(o.levels), msg=msg, scheduler=scheduler)
    out.write(result.table, fmt, o.output, title="backtest")
    msg.note(result.verdict)
    if result.guard_note():
        msg.note(result.guard_note())
    if o.plot:
        from lstmcast.cli import plots

        plots.evaluate_plot(result, o.plot)


@app.command()
@with_configs(READ, MODEL, TRAIN, TUNE, OUTPUT_TABLE, SCHEDULE)
def tune(data: Data, model: Model = None, quiet: Quiet = False, debug: Debug = False, *, given):
    """Search lookback, hidden size, layers, learning rate, normalisation, dropout and
    ensemble size on rolling-origin folds of DATA, then fit the best options on all of
    DATA and write --model, all within --budget. Prints the table of the trials that ran;
    options set on the command line are not searched.

    Example: lstmcast tune sample_data/stocks.csv --id-col symbol --budget 2m
    """
    from lstmcast.cli import output as out
    from lstmcast.cli import tune as command
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    t, o, scheduler = config.TuneConfig(**given.pop("tune")), _output(given), _scheduler(given)
    refuse_own_inputs({"--model": model, "-o": o.output}, {"DATA": data})
    msg = _messages(quiet)
    fmt = out.choose_format(o.format, o.output)
    frame, summary, code = command.run(data, model, given, search=t, msg=msg, scheduler=scheduler)
    out.write(frame, fmt, o.output, title="trials")
    if code is not None:
        from lstmcast.errors import Interrupted

        raise Interrupted("the search was stopped; the best trial so far was fitted and written", exit_code=code)


@app.command()
@with_configs(READ_PARSING, TRAIN_UPDATE, CHECK)
def update(data: Data, model: Model = None,
           resume: Annotated[bool, _opt("--resume", help="Continue an interrupted update from its checkpoint.")] = False,
           json_out: Annotated[bool, _opt("--json", env="JSON", help="Print a JSON summary to stdout.")] = False,
           quiet: Quiet = False, debug: Debug = False, *, given):
    """Continue training --model on the rows of DATA newer than its history (a replay of
    recent rows, a lower learning rate, intervals recalibrated), and write it in place.
    First the model's forecasts for the new rows are scored and kept in its record; after
    the update, the verdict on that record is as check's: exit 3 when the model is worse
    than the simple baselines (refit it).

    Example: lstmcast update prices.csv --model prices.safetensors
    """
    from lstmcast.cli import update as command
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    refuse_own_inputs({"--model": model}, {"DATA": data})
    c = config.CheckConfig(**given.pop("check"))
    summary = command.run(data, model, given["read"], epochs=given["train"].get("epochs"),
                          lr=given["train"].get("lr"), resume=resume, msg=_messages(quiet),
                          last=c.last, tolerance=c.tolerance)
    if json_out:
        import json

        from lstmcast.cli.output import to_stdout

        to_stdout(json.dumps(summary, indent=2) + "\n")
    if summary.get("exit_code"):
        raise typer.Exit(summary["exit_code"])


@app.command()
@with_configs(READ_PARSING, CHECK, OUTPUT_TABLE)
def check(data: Data, model: Model = None, quiet: Quiet = False, debug: Debug = False, *, given):
    """Judge the model against naive and seasonal naive: its record of scored forecasts
    (kept by update) and the newest points of DATA (forecast from origins before them, no
    refit), over the last --last points. Exit 0: fine; 3: worse than the best of them by
    more than --tolerance (refit); 4: nothing to judge. check never changes the model.

    Example: lstmcast check prices.csv --model prices.safetensors || echo "refit needed"
    """
    from lstmcast.cli import check as command
    from lstmcast.cli import output as out
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    c, o = config.CheckConfig(**given.pop("check")), _output(given)
    output = o.output
    refuse_own_inputs({"-o": output}, {"DATA": data, "--model": model})
    msg = _messages(quiet)
    fmt = out.choose_format(o.format, output)
    result, code = command.run(model, data, c.last, c.tolerance, given["read"], msg)
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
@with_configs(READ_LIMIT, EXPORT, OUTPUT_LEVELS)
def export(model: Model = None,
           json_out: Annotated[bool, _opt("--json", env="JSON", help="Print the description of the inputs and outputs (JSON) to stdout.")] = False,
           quiet: Quiet = False, debug: Debug = False, *, given):
    """Export the model's network, scaling and window normalisation as one ONNX graph,
    so that a service in C#, Java, C++ (or Python without lstmcast) can forecast, with
    the prediction intervals at each --level.

    Example: lstmcast export --model prices.safetensors -o prices.onnx --level 80 --level 95
    """
    from lstmcast.cli import export as command
    from lstmcast.cli.data import refuse_own_inputs

    model = model or DEFAULT_MODEL
    e = config.ExportConfig(**given["export"])
    levels = list(config.OutputConfig(**given["output"]).levels)
    output = e.output or command.default_output(model)
    if json_out and output == "-":
        raise UsageError("--json and -o - would both write to stdout; choose one")
    refuse_own_inputs({"-o": output}, {"--model": model})
    desc = command.run(model, e.format, output, e.series, e.horizon, levels, given["read"].get("max_input_mb"),
                       _messages(quiet))
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
    """A closed stderr must not stop the work (notes go nowhere). A closed stdout is
    reopened on the null device too, and marked: a command that writes data there fails
    with exit 73 (:func:`lstmcast.cli.output.to_stdout`); one that writes none succeeds."""
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
            stream = open(fd, mode, closefd=False)
            stream.lstmcast_closed = True
            setattr(sys, name, stream)
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
