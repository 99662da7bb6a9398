"""stderr for people: notes, the progress bar, and the stop signals of a long command.

Owns everything the CLI says that is not data: ``lstmcast: ...`` notes (silent with
``--quiet``, no colour with ``NO_COLOR``), a Rich progress bar on an interactive stderr
only, and :class:`StopSignals`, which turns the first SIGINT/SIGTERM into "stop after
this batch".
"""

from __future__ import annotations

import os
import signal
import sys


class Messages:
    """stderr for notes and progress; silent with --quiet; honours NO_COLOR."""

    def __init__(self, quiet: bool):
        from rich.console import Console

        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))

    def note(self, text: str) -> None:
        if not self.quiet:
            from lstmcast.cli.app import escaped

            self.console.print(f"lstmcast: {escaped(text)}", markup=False, soft_wrap=True)

    def warn(self, text: str) -> None:
        """A note that --quiet does not silence: what a cron log must show (a verdict that
        says refit, a model whose targets change)."""
        from lstmcast.cli.app import escaped

        self.console.print(f"lstmcast: {escaped(text)}", markup=False, soft_wrap=True)

    def notes(self, texts) -> None:
        for text in texts:
            self.note(text)

    @property
    def interactive(self) -> bool:
        return not self.quiet and sys.stderr.isatty()


class StopSignals:
    """First SIGINT/SIGTERM asks training to stop at the next batch; a second SIGINT quits now."""

    def __init__(self, msg: Messages):
        self.msg = msg
        self.code: int | None = None
        self.written = False

    def __enter__(self):
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def result_written(self) -> None:
        """The command's result is on disk: from now on a stop signal changes nothing, and
        the command still succeeds (exit 0) once it has said what it did."""
        self.written = True

    def __exit__(self, *exc):
        if self.written and exc[0] is None:
            for s in self._old:
                signal.signal(s, self._late)
            return
        for s, h in self._old.items():
            signal.signal(s, h)
        if self.code is not None:  # stopping: a further Ctrl-C must not raise mid-exit
            signal.signal(signal.SIGINT, lambda *_: os._exit(self.code))

    def _late(self, signum, frame):
        if self.code is None:
            self.code = 130 if signum == signal.SIGINT else 143
            sys.stderr.write("lstmcast: a stop signal came after the result was written; finishing\n")
            sys.stderr.flush()

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


class Progress:
    """A Rich progress bar on stderr for an interactive terminal; nothing otherwise."""

    def __init__(self, msg: Messages):
        self.bar = None
        if not msg.interactive:
            return
        from rich.progress import (BarColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        from rich.progress import Progress as Bar

        self.bar = Bar(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                       TextColumn("train {task.fields[train]}  val {task.fields[val]}"),
                       TimeElapsedColumn(), TimeRemainingColumn(),
                       console=msg.console, transient=True)
        self.task = None
        self.bar.start()

    def batch(self, done: int, total: int) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task("fit", total=total, epoch=1, train="-", val="-")
        self.bar.update(self.task, completed=done, total=total)

    def epoch(self, report) -> None:
        if self.bar is None or self.task is None:
            return
        self.bar.update(self.task, completed=0, epoch=f"{report.epoch + 1}/{report.epochs}",
                        train=f"{report.train_loss:.4g}", val=f"{report.val_loss:.4g}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
