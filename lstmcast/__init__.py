"""lstmcast: command-line time-series forecasting with an LSTM written in Numba.

The Python API, for people who script (scikit-learn manner: options in the constructor,
``fit`` returns ``self``, learned state in attributes ending in ``_``)::

    import lstmcast
    data = lstmcast.read_csv("prices.csv", targets=["close"])
    model = lstmcast.LSTMForecaster(hidden=16).fit(data)
    forecast = model.predict(30, levels=[80, 95])     # a lstmcast.Forecast
    forecast.to_frame()                                 # a pandas DataFrame
    model.save("prices.safetensors")
    again = lstmcast.load_model("prices.safetensors")

Importing the package is cheap: numpy, pandas and numba load with the first name used
from it. The layers are described in the project's architecture guide; the command line
starts in :mod:`lstmcast.cli.app`.
"""

__version__ = "0.2.0"

# public name -> (module, attribute), imported on first use
_API = {
    "LSTMForecaster": ("lstmcast.model.forecaster", "LSTMForecaster"),
    "load_model": ("lstmcast.model.forecaster", "load_model"),
    "read_csv": ("lstmcast.data.dataset", "load_csv"),
    "Dataset": ("lstmcast.data.dataset", "Dataset"),
    "Forecast": ("lstmcast.model.forecast", "Forecast"),
    "SeriesForecast": ("lstmcast.model.forecast", "SeriesForecast"),
    "backtest": ("lstmcast.model.backtest", "backtest"),
    "ReadConfig": ("lstmcast.config", "ReadConfig"),
    "ModelConfig": ("lstmcast.config", "ModelConfig"),
    "TrainConfig": ("lstmcast.config", "TrainConfig"),
    "LstmcastError": ("lstmcast.errors", "LstmcastError"),
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'lstmcast' has no attribute {name!r}")
    import importlib

    module, attr = _API[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
