"""PNG pictures for ``forecast --plot`` and ``evaluate --plot`` (matplotlib, optional).

Owns drawing only: the frames come from the commands. Images are 1000 px wide and
320 px high per panel (at most 6 panels), written atomically.
"""

from __future__ import annotations

import io

from lstmcast.errors import UsageError

WIDTH_IN, PANEL_IN, DPI, MAX_PANELS = 10.0, 3.2, 100, 6


def check_available() -> None:
    """A UsageError now, before any work, when matplotlib is not installed."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib: pip install 'lstmcast[plot]'")


def _pyplot():
    check_available()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    from lstmcast.files.atomic import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    atomic_write_bytes(path, buf.getvalue())


def forecast_plot(history: dict, forecast, path: str, tail: int = 200) -> None:
    """History tail, forecast and interval bands, one panel per series and target
    (``forecast`` is a :class:`~lstmcast.model.forecast.Forecast`)."""
    plt = _pyplot()
    panels = [(key, j, target, hist[target].iloc[-tail:], forecast[key])
              for key, hist in history.items() if key in forecast.series
              for j, target in enumerate(forecast.targets)][:MAX_PANELS]
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH_IN, PANEL_IN * len(panels)), squeeze=False)
    for ax, (key, j, target, hist, s) in zip(axes[:, 0], panels):
        ax.plot(hist.index, hist.to_numpy(), color="0.3", lw=1, label="history")
        for i, lv in enumerate(sorted(forecast.levels, reverse=True)):
            ax.fill_between(s.index, s.lower[lv][:, j], s.upper[lv][:, j],
                            color="tab:blue", alpha=0.15 + 0.15 * i, lw=0, label=f"{lv:g}% interval")
        ax.plot(s.index, s.point[:, j], color="tab:blue", lw=1.5, label="forecast")
        ax.set_title(f"{key} {target}".strip(), fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def evaluate_plot(result, path: str) -> None:
    """Each fold's actuals against the LSTM and the best baseline (first series, first target)."""
    plt = _pyplot()
    folds = [f for f in result.folds if f.series == result.folds[0].series][:MAX_PANELS]
    fig, axes = plt.subplots(len(folds), 1, figsize=(WIDTH_IN, PANEL_IN * len(folds)), squeeze=False)
    for ax, f in zip(axes[:, 0], folds):
        col = f.actual.columns[0]
        ax.plot(f.history.index[-100:], f.history[col].iloc[-100:], color="0.5", lw=1, label="history")
        ax.plot(f.actual.index, f.actual[col], color="black", lw=1.5, label="actual")
        ax.plot(f.actual.index, f.forecasts["lstm"][:, 0], color="tab:blue", lw=1.5, label="lstm")
        ax.plot(f.actual.index, f.forecasts[result.best_baseline][:, 0], color="tab:orange", lw=1.2,
                ls="--", label=result.best_baseline)
        ax.set_title(f"fold {f.fold + 1} {f.series} {col}".strip(), fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
