"""The command line: parse options, print, map errors to exit codes. No numerics here.

Data goes to stdout, everything else (progress, notes, errors) to stderr. Heavy modules
(numpy, pandas, numba) are imported inside the commands, so ``--help`` and
``--version`` stay fast. Every option can also come from ``LSTMCAST_<OPTION>``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated, List, Optional

import typer

from lstmcast import __version__
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


# ---- options shared by the commands (declared once)
Model = Annotated[str, _opt("--model", "-m", help="Model file (safetensors).")]
Quiet = Annotated[bool, _opt("--quiet", "-q", help="No progress or notes on stderr.")]
Debug = Annotated[bool, _opt("--debug", help="Show a traceback on errors.")]
Target = Annotated[Optional[List[str]], _opt("--target", "-t", help="Column to forecast (repeatable).")]
DateCol = Annotated[Optional[str], _opt("--date-col", help="Time column (found by itself if omitted).")]
Features = Annotated[Optional[List[str]], _opt("--features", help="Extra input column (repeatable).")]
IdCol = Annotated[Optional[str], _opt("--id-col", help="Column naming the series in a long-format file.")]
Freq = Annotated[Optional[str], _opt("--freq", help="Frequency (pandas alias: D, B, h, MS, ...); inferred if omitted.")]
Fill = Annotated[str, _opt("--fill", help="Missing values: interpolate, ffill or error.")]
FillLimit = Annotated[Optional[int], _opt("--fill-limit", help="Longest run of missing values to fill.")]
Dedupe = Annotated[Optional[str], _opt("--dedupe", help="Repeated timestamps: first, last or mean.")]
Dayfirst = Annotated[Optional[bool], _opt("--dayfirst/--no-dayfirst", help="Day before month in dates.")]
Thousands = Annotated[Optional[str], _opt("--thousands", help="Thousands separator in numbers, e.g. ','.")]
Decimal = Annotated[str, _opt("--decimal", help="Decimal mark in numbers, e.g. ','.")]
Horizon = Annotated[Optional[int], _opt("--horizon", "-H", help="Steps to forecast.")]
Levels = Annotated[Optional[List[float]], _opt("--level", "-l", help="Prediction interval level in percent (repeatable), e.g. 80.")]
Fmt = Annotated[Optional[str], _opt("--format", "-f", help="Output: csv, json or table (default: table on a terminal, else csv).")]
Output = Annotated[Optional[str], _opt("--output", "-o", help="Write to this file (atomically) instead of stdout.")]
Plot = Annotated[Optional[str], _opt("--plot", help="Also draw a PNG (needs: pip install 'lstmcast[plot]').")]


def _version(value: bool):
    if value:
        print(f"lstmcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False):
    """Forecast time series from CSV files with an LSTM."""


# ---------------------------------------------------------------- helpers


class _Messages:
    """stderr for notes and progress; silent with --quiet; honours NO_COLOR."""

    def __init__(self, quiet: bool):
        from rich.console import Console

        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))

    def note(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"lstmcast: {text}", markup=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        return not self.quiet and sys.stderr.isatty()


def _load_data(path, msg, **kw):
    from lstmcast.data.dataset import load_csv

    dataset = load_csv(path, **kw)
    for n in dataset.notes:
        msg.note(n)
    return dataset


def _data_kw(target, date_col, features, id_col, freq, fill, fill_limit, dedupe, dayfirst, thousands, decimal):
    return dict(targets=target or None, date_col=date_col, features=features or None, id_col=id_col,
                freq=freq, fill=fill, fill_limit=fill_limit, dedupe=dedupe, dayfirst=dayfirst,
                thousands=thousands, decimal=decimal)


class _StopSignals:
    """First SIGINT/SIGTERM asks training to stop at the next batch; a second SIGINT quits now."""

    def __init__(self, msg: _Messages):
        self.msg = msg
        self.code: int | None = None

    def __enter__(self):
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        if self.code is not None:  # stopping: a further Ctrl-C must not raise mid-exit
            signal.signal(signal.SIGINT, lambda *_: os._exit(self.code))

    def _handle(self, signum, frame):
        if self.code is not None and signum == signal.SIGINT:
            sys.stderr.write("lstmcast: interrupted again, quitting now\n")
            sys.stderr.flush()
            os._exit(130)
        self.code = 130 if signum == signal.SIGINT else 143
        sys.stderr.write("lstmcast: stopping after this batch (Ctrl-C again to quit at once)\n")
        sys.stderr.flush()

    def __call__(self) -> bool:
        return self.code is not None


# ---------------------------------------------------------------- fit


@app.command()
def fit(data: Annotated[str, typer.Argument(help="CSV file, or - for stdin.")],
        model: Model = DEFAULT_MODEL, target: Target = None, date_col: DateCol = None,
        features: Features = None, id_col: IdCol = None, freq: Freq = None,
        fill: Fill = "interpolate", fill_limit: FillLimit = None, dedupe: Dedupe = None,
        dayfirst: Dayfirst = None, thousands: Thousands = None, decimal: Decimal = ".",
        transform: Annotated[Optional[str], _opt("--transform", help="Target transform: log, diff or pct.")] = None,
        scaler: Annotated[str, _opt("--scaler", help="Scaling: standard or robust.")] = "standard",
        normalize: Annotated[str, _opt("--normalize", help="Per-window normalisation: auto (default), last (predict the change from the last value), season (predict the correction to the seasonal profile of the last whole seasons) or none.")] = "auto",
        season: Annotated[Optional[int], _opt("--season", help="Season length for --normalize season (default from the frequency).")] = None,
        lookback: Annotated[Optional[int], _opt("--lookback", help="Input steps per window (default from the frequency).")] = None,
        horizon: Horizon = None,
        hidden: Annotated[Optional[int], _opt("--hidden", help="LSTM hidden size (default from the data size).")] = None,
        layers: Annotated[int, _opt("--layers", help="Stacked LSTM layers.")] = 1,
        dropout: Annotated[float, _opt("--dropout", help="Dropout between layers.")] = 0.0,
        bidirectional: Annotated[bool, _opt("--bidirectional", help="Also read each window backwards.")] = False,
        epochs: Annotated[Optional[int], _opt("--epochs", help="Most epochs (default from the data size).")] = None,
        batch_size: Annotated[Optional[int], _opt("--batch-size", help="Windows per batch (default from the data size).")] = None,
        lr: Annotated[float, _opt("--lr", help="Learning rate.")] = 3e-3,
        patience: Annotated[int, _opt("--patience", help="Epochs without improvement before stopping.")] = 10,
        val_fraction: Annotated[Optional[float], _opt("--val-fraction", help="Share of windows held out for validation (default 0.3 below 1,000 windows, else 0.2).")] = None,
        seed: Annotated[int, _opt("--seed", help="Random seed.")] = 0,
        loss: Annotated[str, _opt("--loss", help="mse, mae or huber.")] = "mse",
        resume: Annotated[bool, _opt("--resume", help="Continue an interrupted fit from its checkpoint.")] = False,
        json_out: Annotated[bool, _opt("--json", env="JSON", help="Print a JSON summary to stdout.")] = False,
        quiet: Quiet = False, debug: Debug = False):
    """Train a model on DATA and write it to --model.

    Example: lstmcast fit sample_data/stocks.csv --id-col symbol --horizon 12
    """
    from lstmcast.cli import commands

    msg = _Messages(quiet)
    dataset = _load_data(data, msg, **_data_kw(target, date_col, features, id_col, freq, fill, fill_limit,
                                                dedupe, dayfirst, thousands, decimal))
    params = dict(lookback=lookback, horizon=horizon, hidden=hidden, layers=layers, dropout=dropout,
                  bidirectional=bidirectional, epochs=epochs, batch_size=batch_size, lr=lr,
                  patience=patience, val_fraction=val_fraction, seed=seed, loss=loss,
                  transform=transform, scaler=scaler, normalize=normalize, season=season)
    with _StopSignals(msg) as stop:
        summary = commands.fit(dataset, params, model, resume=resume, msg=msg, should_stop=stop,
                               reading=dict(dayfirst=dayfirst, thousands=thousands, decimal=decimal,
                                            fill=fill, dedupe=dedupe))
    if stop.code is not None:
        raise Interrupted(f"training stopped; resume with: lstmcast fit {data} --resume "
                          f"(same options)", exit_code=stop.code)
    if json_out:
        import json

        print(json.dumps(summary, indent=2))


# ---------------------------------------------------------------- forecast


@app.command()
def forecast(data: Annotated[Optional[str], typer.Argument(help="Newer data to forecast from (file or -); default: the history in the model.")] = None,
             horizon: Horizon = None, model: Model = DEFAULT_MODEL, level: Levels = None,
             fmt: Fmt = None, output: Output = None, plot: Plot = None,
             dayfirst: Dayfirst = None, thousands: Thousands = None, decimal: Decimal = ".",
             quiet: Quiet = False, debug: Debug = False):
    """Forecast from the end of the model's history, or of newer DATA.

    Example: lstmcast forecast --horizon 30 --level 80 --level 95 > next30.csv
    """
    from lstmcast.cli import commands
    from lstmcast.cli import output as out

    msg = _Messages(quiet)
    fmt = out.choose_format(fmt, output)
    frame, history = commands.forecast(model, data, horizon, level or [], msg,
                                       reading=dict(dayfirst=dayfirst, thousands=thousands, decimal=decimal))
    out.write(frame, fmt, output, title="forecast")
    if plot:
        from lstmcast.cli import plots

        plots.forecast_plot(history, frame, plot)


# ---------------------------------------------------------------- evaluate


@app.command()
def evaluate(data: Annotated[str, typer.Argument(help="CSV file, or - for stdin.")],
             folds: Annotated[int, _opt("--folds", "-k", help="Forecast origins to test.")] = 3,
             horizon: Horizon = None,
             step: Annotated[Optional[int], _opt("--step", help="Steps between origins (default: the horizon).")] = None,
             refit: Annotated[bool, _opt("--refit/--no-refit", help="Refit before each origin (default), or use --model as it is.")] = True,
             season: Annotated[Optional[int], _opt("--season", help="Season length for seasonal naive and MASE.")] = None,
             model: Model = DEFAULT_MODEL, level: Levels = None, target: Target = None,
             date_col: DateCol = None, features: Features = None, id_col: IdCol = None,
             freq: Freq = None, fill: Fill = "interpolate", fill_limit: FillLimit = None,
             dedupe: Dedupe = None, dayfirst: Dayfirst = None, thousands: Thousands = None,
             decimal: Decimal = ".",
             lookback: Annotated[Optional[int], _opt("--lookback", help="Input steps per window.")] = None,
             epochs: Annotated[Optional[int], _opt("--epochs", help="Most epochs per refit.")] = None,
             seed: Annotated[int, _opt("--seed", help="Random seed.")] = 0,
             fmt: Fmt = None, output: Output = None, plot: Plot = None,
             quiet: Quiet = False, debug: Debug = False):
    """Backtest the LSTM against naive, seasonal naive and drift on the same folds.

    Example: lstmcast evaluate sample_data/seattle-weather.csv --target temp_max --folds 4
    """
    from lstmcast.cli import commands
    from lstmcast.cli import output as out

    msg = _Messages(quiet)
    fmt = out.choose_format(fmt, output)
    dataset = _load_data(data, msg, **_data_kw(target, date_col, features, id_col, freq, fill, fill_limit,
                                                dedupe, dayfirst, thousands, decimal))
    table, verdict, details = commands.evaluate(
        dataset, folds=folds, horizon=horizon, step=step, refit=refit, season=season,
        model_path=model, levels=level or [], params=dict(lookback=lookback, epochs=epochs, seed=seed),
        msg=msg)
    out.write(table, fmt, output, title="backtest")
    msg.note(verdict)
    if plot:
        from lstmcast.cli import plots

        plots.evaluate_plot(details, plot)


# ---------------------------------------------------------------- info


@app.command()
def info(model: Annotated[str, typer.Argument(help="Model file.", envvar="LSTMCAST_MODEL")] = DEFAULT_MODEL,
         json_out: Annotated[bool, _opt("--json", env="JSON", help="Print JSON instead of a table.")] = False,
         quiet: Quiet = False, debug: Debug = False):
    """Show what a model file contains: data, options, validation, version.

    Example: lstmcast info lstmcast-model.safetensors --json
    """
    from lstmcast.cli import commands

    doc = commands.info(model)
    if json_out:
        import json

        print(json.dumps(doc, indent=2, default=str))
    else:
        commands.print_info(doc)


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the app; turn every failure into one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("LSTMCAST_DEBUG", "") not in ("", "0")
    code = 0
    signal.signal(signal.SIGTERM, _terminated)  # fit replaces both while training
    signal.signal(signal.SIGINT, _interrupted)
    try:
        app(args=args, prog_name="lstmcast", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as e:
        code = _handle(e, debug)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    if code in (130, 143):
        # Interpreter shutdown restores the default SIGINT action, so another Ctrl-C there
        # would kill us with a signal instead of this code. Everything is written and
        # fsynced already; leave without the shutdown.
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _terminated(signum, frame):
    signal.signal(signal.SIGINT, lambda *_: os._exit(143))
    raise Interrupted("terminated", exit_code=143)


def _interrupted(signum, frame):
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))  # a second Ctrl-C: out at once
    raise KeyboardInterrupt


def _handle(e: BaseException, debug: bool) -> int:
    """The exit code for an exception, after saying what happened on stderr."""
    name = type(e).__name__
    if isinstance(e, typer.Exit) or name == "Exit":  # typer.Exit or click's, by version
        return int(getattr(e, "exit_code", 0) or 0)
    if isinstance(e, (typer.Abort, KeyboardInterrupt)) or name == "Abort":
        sys.stderr.write("lstmcast: interrupted\n")
        return 130
    if isinstance(e, BrokenPipeError):
        _quiet_broken_pipe()
        return 0
    if hasattr(e, "show") and hasattr(e, "exit_code"):  # click's usage errors, by version
        e.show(file=sys.stderr)
        return 2
    if debug:
        import traceback

        traceback.print_exception(e)
    if isinstance(e, LstmcastError):
        sys.stderr.write(f"lstmcast: error: {e}\n")
        return e.exit_code
    if isinstance(e, ValueError):  # an option value the library refused
        sys.stderr.write(f"lstmcast: error: {UsageError(str(e))}\n")
        return 2
    sys.stderr.write(f"lstmcast: internal error: {name}: {e} (run with --debug for a traceback)\n")
    return 1


def _quiet_broken_pipe() -> None:
    """The reader went away (``| head``): silence the final flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
