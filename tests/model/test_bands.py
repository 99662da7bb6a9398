"""Band widths (lstmcast.model.bands) against cases whose coverage is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmcast.model import bands

STEP = {"pool": False, "positions": False, "signed": False}
POOLED = {"pool": True, "positions": False, "signed": False}
BY_POSITION = {"pool": True, "positions": True, "signed": False}


def _covered(cal, fresh, levels, first=None):
    """Share of ``fresh`` scores (m, H, nt) inside each level's band: (levels,)."""
    lo, hi = bands.widths(cal, levels, fresh.shape[1], first)
    return np.array([((fresh >= -lo[i]) & (fresh <= hi[i])).mean() for i in range(len(levels))])


@pytest.mark.parametrize("n, level", [(9, 90.0), (9, 80.0), (19, 95.0), (4, 80.0)])
def test_the_order_statistic_covers_k_over_n_plus_one(n, level):
    """With n exchangeable scores, the k-th smallest (k = ceil((n+1) level)) holds a new
    score with probability k/(n+1), exactly; checked over many independent draws."""
    rng = np.random.default_rng(0)
    trials = 20000
    k = int(np.ceil((n + 1) * level / 100 - 1e-9))
    hits = 0
    for _ in range(trials // 100):
        scores = rng.normal(size=(n, 1, 100))              # 100 independent problems at once
        cal = bands.quantiles(scores, [level], STEP)
        hits += _covered(cal, rng.normal(size=(1, 1, 100)), [level])[0] * 100
    p = k / (n + 1)
    assert abs(hits / trials - p) < 4 * np.sqrt(p * (1 - p) / trials)


def test_pooled_step_scaled_scores_cover_every_step():
    """Gaussian errors whose spread grows with the step: pooled after dividing by the
    step's scale, each step is covered at the nominal rate (the scale is estimated)."""
    rng = np.random.default_rng(1)
    spread = np.array([1.0, 1.5, 2.0, 3.0])
    cal = bands.quantiles(rng.normal(size=(400, 4, 1)) * spread[None, :, None], [80.0, 95.0], POOLED)
    assert cal["n"] == 1600 and cal["q"].shape == (2, 1, 1)
    fresh = rng.normal(size=(20000, 4, 1)) * spread[None, :, None]
    for h in range(4):
        got = _covered(cal, fresh[:, h:h + 1], [80.0, 95.0])
        lo, hi = bands.widths(cal, [80.0, 95.0], 4)
        inside = [((fresh[:, h] >= -lo[i, h]) & (fresh[:, h] <= hi[i, h])).mean() for i in range(2)]
        np.testing.assert_allclose(inside, [0.80, 0.95], atol=0.03)
        del got


def test_widths_by_season_position_cover_each_position():
    """Night-and-day noise: the spread depends on the position in a season of 4 (0.1,
    1, 2, 4). Widths by position cover every position near nominal; one shared width
    over-covers the calm position and under-covers the wild one."""
    rng = np.random.default_rng(2)
    season, H, n = 4, 6, 300
    spread = np.array([0.1, 1.0, 2.0, 4.0])
    first = rng.integers(0, season, n)
    pos = bands.target_positions(first, H, season)
    scores = rng.normal(size=(n, H, 1)) * spread[pos][:, :, None]
    by_position = bands.quantiles(scores, [80.0, 95.0], BY_POSITION, season, first)
    shared = bands.quantiles(scores, [80.0, 95.0], POOLED, season, first)
    start = 1
    fresh_pos = (start + np.arange(H)) % season
    fresh = rng.normal(size=(20000, H, 1)) * spread[fresh_pos][None, :, None]
    for cal, tolerance in ((by_position, 0.04), (shared, None)):
        lo, hi = bands.widths(cal, [80.0, 95.0], H, start)
        cover = np.array([[((fresh[:, h] >= -lo[i, h]) & (fresh[:, h] <= hi[i, h])).mean() for h in range(H)]
                          for i in range(2)])
        if tolerance:
            np.testing.assert_allclose(cover, np.array([[0.80] * H, [0.95] * H]), atol=tolerance)
        else:
            calm, wild = fresh_pos == 0, fresh_pos == 3
            assert cover[0, calm].min() > 0.97 and cover[0, wild].max() < 0.70
    assert bands.choose(scores, season, first) == BY_POSITION


def test_signed_bands_follow_skewed_errors():
    rng = np.random.default_rng(3)
    skewed = rng.exponential(size=(500, 3, 1)) - 1.0        # long right tail
    cal = bands.quantiles(skewed, [90.0], {**POOLED, "signed": True})
    lo, hi = bands.widths(cal, [90.0], 3)
    assert (hi > 2 * lo).all()                                # more room above than below
    fresh = rng.exponential(size=(20000, 3, 1)) - 1.0
    assert abs(((fresh >= -lo[0]) & (fresh <= hi[0])).mean() - 0.90) < 0.02


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), H=st.integers(1, 8), horizon=st.integers(1, 20),
       how=st.sampled_from([STEP, POOLED, {**POOLED, "signed": True}]))
def test_widths_never_shrink_as_the_step_grows(seed, n, H, horizon, how):
    rng = np.random.default_rng(seed)
    scores = rng.standard_t(3, size=(n, H, 2)) * rng.uniform(0.1, 3, size=(1, H, 2))
    lo, hi = bands.widths(bands.quantiles(scores, [50.0, 80.0, 95.0], how), [50.0, 80.0, 95.0], horizon)
    assert (np.diff(lo, axis=1) >= -1e-12).all() and (np.diff(hi, axis=1) >= -1e-12).all()
    assert (lo >= 0).all() and (hi >= 0).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), season=st.integers(2, 24), horizon=st.integers(1, 60))
def test_widths_by_position_never_shrink_from_one_cycle_to_the_next(seed, season, horizon):
    rng = np.random.default_rng(seed)
    n, H = 30, min(horizon, 12)
    first = rng.integers(0, season, n)
    scores = rng.normal(size=(n, H, 1)) * rng.uniform(0.1, 3, size=(1, 1, 1))
    cal = bands.quantiles(scores, [80.0], BY_POSITION, season, first)
    lo, hi = bands.widths(cal, [80.0], horizon, int(rng.integers(season)))
    made = bands.monotone(hi, season)   # what the forecaster applies in the data's units
    assert (made[:, season:] >= made[:, :-season] - 1e-12).all()


def test_positions_always_zero_are_found():
    values = np.tile([0.0, 0.0, 3.0, 5.0], 6)[:, None] * np.array([[1.0, 0.0]]) + np.array([[0.0, 1.0]])
    pos = np.arange(len(values)) % 4
    zeros = bands.zero_positions(values, pos, 4)
    assert zeros[:, 0].tolist() == [True, True, False, False] and not zeros[:, 1].any()
    # one cycle is not enough evidence
    assert not bands.zero_positions(values[:4], pos[:4], 4).any()
