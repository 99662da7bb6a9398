"""Band widths never shrink as the step grows: a property over fitted model kinds and
frequencies, up to past the trained horizon (issue #25: a 12-step forecast of yearly
sunspots once had 95 % widths 154, 154, 145, 135, ...)."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmcast.data.dataset import load_csv
from lstmcast.model.forecaster import LSTMForecaster

KINDS = {
    "network": {"guard": False},
    "combiner": {},
    "ensemble": {"ensemble": 2},
    "log": {"transform": "log"},
    "diff": {"transform": "diff"},
    "es": {"normalize": "es"},
    "many series": {},
    "features": {},
}
FREQS = {"h": 24, "D": 7, "W-SUN": 52, "MS": 12, "QS": 4, "YS": 1}
LEVELS = (50.0, 80.0, 95.0)


def _frame(freq: str, season: int, seed: int, kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 150 if freq != "h" else 24 * 14
    t = np.arange(n)
    cycle = np.sin(2 * np.pi * t / max(season, 2)) if season > 1 else 0.0
    trend = rng.choice([-0.3, 0.0, 0.4]) * t  # falling series too: widths in units must not follow the level down
    y = 100 + trend + 8 * cycle + np.cumsum(rng.normal(0, 1.5, n))
    frame = pd.DataFrame({"date": pd.date_range("2001-01-07", periods=n, freq=freq), "value": y.round(3)})
    if kind == "features":
        frame["x"] = rng.normal(size=n).round(3)
    if kind == "many series":
        frame = pd.concat([frame.assign(id=f"s{i}", value=frame["value"] * (1 + i)) for i in range(3)])
    return frame


@settings(max_examples=24, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(KINDS)), freq=st.sampled_from(sorted(FREQS)), seed=st.integers(0, 1000),
       past=st.integers(0, 2))
def test_band_widths_never_shrink_with_the_step(tmp_path, kind, freq, seed, past):
    path = tmp_path / f"{kind}-{freq}-{seed}.csv".replace(" ", "_")
    _frame(freq, FREQS[freq], seed, kind).to_csv(path, index=False)
    data = load_csv(str(path), id_col="id" if kind == "many series" else None,
                    features=("x",) if kind == "features" else ())
    model = LSTMForecaster(hidden=4, epochs=2, seed=seed, **KINDS[kind]).fit(data)
    H = model.model_config_.horizon
    horizon = H if kind == "features" else H * (1 + past) + past  # recursive past the trained horizon
    forecast = model.predict(horizon, levels=LEVELS)
    lag = model.model_config_.season if model.calibration_.get("positions") else 1
    for key, one in forecast.series.items():
        for level in LEVELS:
            lower, upper = one.lower[level], one.upper[level]
            up, down = upper - one.point, one.point - lower
            assert (up >= -1e-9).all() and (down >= -1e-9).all(), (key, level)
            # the lower side may narrow only where the floor at 0 of a never-negative target cuts it
            floored = np.asarray(model.nonnegative_)[None, :] & (lower[lag:] <= 0)
            for width, cut in ((up, False), (down, floored)):
                grow = width[lag:] - width[:-lag]
                ok = (grow >= -1e-9 * (1 + np.abs(width[lag:]))) | cut
                assert ok.all(), (kind, freq, key, level, width)
        widths = [one.upper[v] - one.lower[v] for v in LEVELS]
        assert all((b >= a - 1e-9).all() for a, b in zip(widths, widths[1:]))  # a higher level is wider
