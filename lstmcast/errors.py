"""Exception types of lstmcast, each carrying the process exit code the CLI uses.

Every error a user can cause is one of these; the CLI prints ``lstmcast: error: <msg>``
and exits with ``exit_code``. Anything else is a bug (exit 1).
"""

from __future__ import annotations


class LstmcastError(Exception):
    """Base class: a one-line message for the user and an exit code."""

    exit_code = 1


class UsageError(LstmcastError):
    """Bad combination of options or arguments."""

    exit_code = 2


class DataError(LstmcastError):
    """The input data cannot be used: unparsable, irregular, too short (EX_DATAERR)."""

    exit_code = 65


class ModelFileError(DataError):
    """A model or checkpoint file is corrupt, truncated, of an unknown version or shape."""


class InputMissingError(LstmcastError):
    """An input file does not exist or cannot be read (EX_NOINPUT)."""

    exit_code = 66


class OutputError(LstmcastError):
    """An output file cannot be written (EX_CANTCREAT)."""

    exit_code = 73


class Busy(LstmcastError):
    """Another process holds the file this command would change (EX_TEMPFAIL): try again."""

    exit_code = 75


class TrainingDiverged(LstmcastError):
    """The loss became NaN or infinite; the best weights so far were kept."""

    exit_code = 65


class Interrupted(LstmcastError):
    """Training was stopped by SIGINT (130) or SIGTERM (143)."""

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code
