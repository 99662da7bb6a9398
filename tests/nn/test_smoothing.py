"""The ES-RNN smoothing layer against independent references: a PyTorch autograd
recording, central finite differences, closed-form facts, and float32 against float64."""

from pathlib import Path

import numpy as np
import pytest

from conftest import assert_close as _assert_close
from lstmcast.nn import smoothing
from lstmcast.nn.smoothing import PARAM_NAMES

FIXTURE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "torch_smoothing.npz")
CASES = sorted({k.split("/")[0] for k in FIXTURE.files})


def assert_close(got, want, dtype, err_msg=""):
    """conftest's assert_close, with NaN (padding, targets past the data) required in the
    same places."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=err_msg)
    _assert_close(got[~np.isnan(want)], want[~np.isnan(want)], dtype, err_msg=err_msg)


def fixture_case(case):
    p = case + "/"
    params = {k: FIXTURE[p + "param/" + k] for k in PARAM_NAMES}
    spec = {k: FIXTURE[p + k] for k in ("y", "lengths", "series", "ends")}
    spec.update(L=int(FIXTURE[p + "lookback"]), H=int(FIXTURE[p + "horizon"]),
                coef=float(FIXTURE[p + "penalty_coefficient"]))
    return params, spec


def random_case(seed, lengths=(31, 24, 17), m=4, T=31, H=6, dtype=np.float64):
    """Positive seasonal series with a trend, right-padded with NaN, and parameters away
    from the closed-form corners."""
    rng = np.random.default_rng(seed)
    S = len(lengths)
    t = np.arange(T)
    y = np.full((S, T), np.nan)
    for i, n in enumerate(lengths):
        pattern = np.exp(rng.normal(scale=0.3, size=max(m, 1)))[t % max(m, 1)]
        y[i, :n] = (20 * np.exp(np.cumsum(rng.normal(0.01, 0.05, T))) * pattern)[:n]
    params = {"alpha_logit": rng.normal(size=S), "gamma_logit": rng.normal(size=S),
              "season_init_log": rng.normal(scale=0.3, size=(S, m))}
    return y.astype(dtype), np.array(lengths), {k: v.astype(dtype) for k, v in params.items()}


def all_windows(lengths, L):
    series = np.array([i for i, n in enumerate(lengths) for _ in range(L - 1, n)])
    ends = np.array([t for n in lengths for t in range(L - 1, n)])
    return series, ends


# ----------------------------------------------------------------- PyTorch recording


@pytest.mark.parametrize("case", CASES)
def test_forward_windows_and_penalty_match_pytorch(case):
    params, c = fixture_case(case)
    sm = smoothing.forward(params, c["y"], c["lengths"], horizon=c["H"])
    assert_close(sm.levels, FIXTURE[case + "/levels"], np.float64)
    assert_close(sm.seasons, FIXTURE[case + "/seasons"], np.float64)
    x, z = smoothing.windows(sm, c["series"], c["ends"], c["L"], c["H"])
    assert np.isnan(z).any()  # the last windows reach past the data
    assert_close(x, FIXTURE[case + "/x"], np.float64)
    assert_close(z, FIXTURE[case + "/z"], np.float64)
    assert_close(smoothing.penalty(sm, c["coef"]), FIXTURE[case + "/penalty"], np.float64)


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_pytorch(case):
    params, c = fixture_case(case)
    sm = smoothing.forward(params, c["y"], c["lengths"], horizon=c["H"])
    p = case + "/"
    got = {
        "windows": smoothing.windows_grad(params, sm, c["series"], c["ends"], c["L"], c["H"],
                                          FIXTURE[p + "wx"], FIXTURE[p + "wz"]),
        "states": smoothing.backward(params, sm, FIXTURE[p + "wl"], FIXTURE[p + "ws"]),
        "penalty": smoothing.backward(params, sm, smoothing.penalty_backward(sm, c["coef"])),
    }
    for which, grads in got.items():
        assert set(grads) == set(PARAM_NAMES)
        for name, g in grads.items():
            want = FIXTURE[f"{p}grad/{which}/{name}"]
            assert g.shape == want.shape and g.dtype == np.float64
            assert_close(g, want, np.float64, err_msg=f"{which}/{name}")


# ----------------------------------------------------------------- finite differences


def composite_loss(params, y, lengths, series, ends, L, H, w, coef):
    """A random linear loss on windows, levels and seasons plus the penalty, and its
    gradient by the layer's backward functions."""
    sm = smoothing.forward(params, y, lengths, horizon=H)
    x, z = smoothing.windows(sm, series, ends, L, H)
    known_z = ~np.isnan(z)
    known_l = ~np.isnan(sm.levels)
    value = (np.sum(w["x"] * x) + np.sum(w["z"][known_z] * z[known_z]) + np.sum(w["l"][known_l] * sm.levels[known_l])
             + np.sum(w["s"] * sm.seasons) + smoothing.penalty(sm, coef))
    dl, ds = smoothing.windows_backward(sm, series, ends, L, H, w["x"], w["z"])
    dl += smoothing.penalty_backward(sm, coef) + np.where(known_l, w["l"], 0)
    ds += w["s"]
    return value, smoothing.backward(params, sm, dl, ds)


@pytest.mark.parametrize("m", (4, 0))
def test_gradients_match_finite_differences(m):
    y, lengths, params = random_case(3, lengths=(31, 24, 17, 2, 1), m=m)  # and no penalty or window
    L, H = 8, 6  # H > m: future indices wrap
    series, ends = all_windows(lengths, L)
    rng = np.random.default_rng(4)
    w = {"x": rng.normal(size=(len(series), L)), "z": rng.normal(size=(len(series), H)),
         "l": rng.normal(size=y.shape) / 20, "s": rng.normal(size=(y.shape[0], y.shape[1] + H))}
    _, analytic = composite_loss(params, y, lengths, series, ends, L, H, w, coef=3.0)
    eps = 1e-6
    errors = {}
    for name in PARAM_NAMES:
        numeric = np.zeros_like(params[name])
        for idx in np.ndindex(params[name].shape):
            old = params[name][idx]
            params[name][idx] = old + eps
            up = composite_loss(params, y, lengths, series, ends, L, H, w, 3.0)[0]
            params[name][idx] = old - eps
            down = composite_loss(params, y, lengths, series, ends, L, H, w, 3.0)[0]
            params[name][idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        a = analytic[name]
        errors[name] = np.linalg.norm(a - numeric) / max(np.linalg.norm(a) + np.linalg.norm(numeric), 1e-12)
    assert max(errors.values()) <= 1e-7, errors
    if m == 0:
        assert not analytic["gamma_logit"].any()


# ----------------------------------------------------------------- closed forms


def pure_seasonal(m=4, T=30, level=10.0):
    pattern = np.exp(np.random.default_rng(1).normal(scale=0.4, size=m))
    pattern /= np.exp(np.log(pattern).mean())  # geometric mean 1
    y = level * pattern[np.arange(T) % m]
    return y[None, :], np.log(pattern)


def test_alpha_one_gives_the_deseasonalised_value_and_gamma_zero_keeps_the_initial_indices():
    y, lengths, params = random_case(5)
    params["alpha_logit"][:] = 50.0  # sigmoid = 1 exactly in float64
    params["gamma_logit"][:] = -50.0  # sigmoid = 0 exactly
    sm = smoothing.forward(params, y, lengths, horizon=5)
    for i, n in enumerate(lengths):
        assert_close(sm.levels[i, :n], y[i, :n] / sm.seasons[i, :n], np.float64)
        assert np.isnan(sm.levels[i, n:]).all()
        init = np.exp(params["season_init_log"][i])
        assert_close(sm.seasons[i], init[np.arange(sm.seasons.shape[1]) % 4], np.float64)


def test_a_pure_seasonal_series_with_its_indices_has_a_constant_level_and_zero_windows():
    y, c = pure_seasonal()
    params = {"alpha_logit": np.array([0.3]), "gamma_logit": np.array([-0.7]), "season_init_log": c[None]}
    sm = smoothing.forward(params, y, horizon=6)
    assert_close(sm.levels, np.full_like(y, 10.0), np.float64)
    assert_close(sm.seasons[0], np.exp(c)[np.arange(36) % 4], np.float64)
    series, ends = all_windows([30], 8)
    x, z = smoothing.windows(sm, series, ends, 8, 6)
    assert np.abs(x).max() < 1e-13 and np.nanmax(np.abs(z)) < 1e-13
    assert smoothing.penalty(sm, 1.0) < 1e-28
    # the starting indices from the data are these ones
    assert_close(smoothing.init_params(y, season_length=4)["season_init_log"], c[None], np.float64)


def test_without_a_season_the_level_is_simple_exponential_smoothing():
    y, lengths, _ = random_case(6, m=0)
    alpha = 0.3
    for m in (0, 1):  # m = 1 is no season too
        params = {"alpha_logit": np.full(3, smoothing.logit(alpha)), "gamma_logit": np.zeros(3),
                  "season_init_log": np.full((3, m), 0.4)}
        sm = smoothing.forward(params, y, lengths, horizon=2)
        assert (sm.seasons == 1).all()
        for i, n in enumerate(lengths):
            ref = [y[i, 0]]
            for t in range(1, n):
                ref.append(alpha * y[i, t] + (1 - alpha) * ref[-1])
            assert_close(sm.levels[i, :n], ref, np.float64)
        g = smoothing.backward(params, sm, np.nan_to_num(sm.levels), np.ones_like(sm.seasons))
        assert g["season_init_log"].shape == (3, m) and not g["season_init_log"].any()
        assert not g["gamma_logit"].any()


def test_padding_is_never_read():
    y, lengths, params = random_case(7)
    sm = smoothing.forward(params, y, lengths, horizon=4)
    for i, n in enumerate(lengths):
        one = smoothing.forward({k: v[i:i + 1] for k, v in params.items()}, y[i:i + 1, :n], horizon=4)
        np.testing.assert_array_equal(sm.levels[i, :n], one.levels[0])
        np.testing.assert_array_equal(sm.seasons[i, :n + 4], one.seasons[0])


def test_a_windows_scale_uses_nothing_after_its_end():
    y, lengths, params = random_case(8, lengths=(31,))
    L, H, end = 8, 9, 14  # H > 2 m
    before = smoothing.forward(params, y, lengths, horizon=H)
    y2 = y.copy()
    y2[0, end + 1:] *= 1.7
    after = smoothing.forward(params, y2, lengths, horizon=H)
    x1, z1 = smoothing.windows(before, [0], [end], L, H)
    x2, z2 = smoothing.windows(after, [0], [end], L, H)
    np.testing.assert_array_equal(x1, x2)
    assert_close(z2, z1 + np.log(1.7), np.float64)
    # and the forecast in data units inverts the targets
    assert_close(smoothing.denormalise(before, z1, [0], [end]), y[:, end + 1:end + 1 + H], np.float64)


# ----------------------------------------------------------------- float32


def test_float32_agrees_with_float64():
    y, lengths, params = random_case(9)
    L, H = 8, 6
    series, ends = all_windows(lengths, L)
    w = np.random.default_rng(10).normal(size=(len(series), L + H))
    out = {}
    for dt in (np.float32, np.float64):
        p = {k: v.astype(dt) for k, v in params.items()}
        sm = smoothing.forward(p, y.astype(dt), lengths, horizon=H)
        x, z = smoothing.windows(sm, series, ends, L, H)
        g = smoothing.windows_grad(p, sm, series, ends, L, H, w[:, :L], w[:, L:], penalty_coefficient=2.0)
        assert sm.levels.dtype == sm.seasons.dtype == x.dtype == z.dtype == dt
        assert all(v.dtype == dt for v in g.values())
        out[dt] = (sm.levels, sm.seasons, x, z, g)
    for a, b in zip(out[np.float32][:4], out[np.float64][:4]):
        assert_close(a, b, np.float32)
    for name in PARAM_NAMES:  # measured: 5e-7 relative to the largest
        assert_close(out[np.float32][4][name], out[np.float64][4][name], np.float32, err_msg=name)


# ----------------------------------------------------------------- bad inputs


def test_bad_inputs_are_value_errors():
    y, lengths, params = random_case(11)
    bad_y = y.copy()
    bad_y[1, 3] = 0.0
    short = {**params, "alpha_logit": params["alpha_logit"][:2]}
    cases = [
        (lambda: smoothing.forward(params, bad_y, lengths), "positive"),
        (lambda: smoothing.forward(params, y, [31, 24, 40]), "lengths"),
        (lambda: smoothing.forward(params, y, None), "positive"),  # NaN padding read as data
        (lambda: smoothing.forward(short, y, lengths), "alpha_logit"),
        (lambda: smoothing.forward(params, y, lengths, horizon=-1), "horizon"),
    ]
    sm = smoothing.forward(params, y, lengths, horizon=3)
    cases += [
        (lambda: smoothing.windows(sm, [0], [6], 8, 3), "ends"),
        (lambda: smoothing.windows(sm, [2], [17], 8, 3), "ends"),
        (lambda: smoothing.windows(sm, [3], [10], 8, 3), "series"),
        (lambda: smoothing.windows(sm, [0], [10], 8, 4), "horizon"),
        (lambda: smoothing.windows_backward(sm, [0], [10], 8, 3, np.zeros((1, 7))), "dx"),
    ]
    for call, word in cases:
        with pytest.raises(ValueError, match=word):
            call()
