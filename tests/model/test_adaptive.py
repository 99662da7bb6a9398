"""Adaptive calibration (lstmcast.model.adaptive): a case whose right level is known in
closed form, the state's checks, and update moving a model's bands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import cron_files
from lstmcast.data.dataset import load_csv
from lstmcast.model import adaptive, bands
from lstmcast.model.forecaster import LSTMForecaster


def _normal_quantile(p: float) -> float:
    """Inverse of the standard normal CDF by bisection on math.erf (no scipy)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_a_model_whose_errors_doubled_is_recalibrated_to_the_nominal_rate():
    """Calibrated on N(0, 1) errors, the world's errors become N(0, 2^2): the 80 % band
    needs the 1.2816 * 2 = 2.563 quantile of |N(0, 1)|, i.e. calibration at the
    2 * Phi(2.563) - 1 = 98.96 % level. Batches of 50 points, one adaptive step each."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(20000, 1, 1))                 # the model's calibration set
    calibration: dict = {}
    missed = points = 0
    levels = []
    for batch in range(400):
        working = adaptive.effective(calibration, [80.0])
        levels.append(working[0])
        q = bands.quantiles(scores, working, {"pool": False})["q"][0, 0, 0]
        new = rng.normal(scale=2.0, size=50)
        inside = int((np.abs(new) <= q).sum())
        adaptive.step(calibration, {80.0: (inside, 50)})
        if batch >= 200:
            missed, points = missed + 50 - inside, points + 50
    need = 100 * (2 * 0.5 * (1 + math.erf(_normal_quantile(0.9) * 2 / math.sqrt(2))) - 1)
    assert abs(missed / points - 0.20) < 0.02                       # long-run miss rate: nominal
    assert abs(np.median(levels[200:]) - need) < 0.6                # it hovers around the right level
    assert calibration["realised"]["80"][1] == 400 * 50


def test_untracked_levels_follow_the_nearest_tracked_one_and_states_are_checked():
    cal = {"adaptive": {"80": 0.1}}
    assert adaptive.effective(cal, [80.0, 82.0]) == pytest.approx([90.0, 91.0])
    assert adaptive.effective({}, [80.0]) == [80.0]
    adaptive.check({"adaptive": {"95": 0.04}, "realised": {"95": [3, 4]}})
    for bad in ({"adaptive": {"81": 0.1}}, {"adaptive": {"80": 2.0}}, {"realised": {"80": [5, 4]}},
                {"realised": {"80": [1.5, 4]}}):
        with pytest.raises(ValueError):
            adaptive.check(bad)


def test_update_widens_the_bands_of_a_model_that_missed(tmp_path):
    full = cron_files(tmp_path)
    noisy = full.copy()
    rng = np.random.default_rng(5)
    noisy.loc[330:, "value"] += rng.normal(0, 6 * full["value"].std(), len(noisy) - 330)
    noisy.to_csv(tmp_path / "noisy.csv", index=False)
    m = LSTMForecaster(hidden=8, epochs=3, seed=0, lookback=21, horizon=7, _combine="guard").fit(
        load_csv(str(tmp_path / "old.csv")))
    before = m.predict(7, levels=[80]).only
    m.update(load_csv(str(tmp_path / "noisy.csv")), epochs=1)
    inside, points = m.calibration_["realised"]["80"]
    assert points >= 63 and inside / points < 0.8                    # the bands missed
    assert m.calibration_["adaptive"]["80"] < 0.2                    # ... so they are calibrated wider
    assert adaptive.effective(m.calibration_, [80.0])[0] > 80.0
    after = m.predict(7, levels=[80]).only
    widths = lambda f: f.upper[80] - f.lower[80]  # noqa: E731
    assert widths(after).mean() > widths(before).mean()
