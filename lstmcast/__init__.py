"""lstmcast: command-line time-series forecasting with an LSTM written in Numba.

Importing the package is cheap: it imports neither numba nor pandas. The layers are
described in the project's architecture guide; start with :mod:`lstmcast.cli`.
"""

__version__ = "0.1.0.dev0"
