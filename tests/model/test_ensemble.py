"""Ensembles as one wide, block-diagonal LSTM: the members are exactly separate networks
(forward, gradients, training keeps the blocks), and the forecast is their mean."""

import numpy as np
import pytest

from conftest import assert_close, monthly_csv
from lstmcast.errors import ModelFileError
from lstmcast.model import ensemble
from lstmcast.model.forecaster import LSTMForecaster
from lstmcast.nn.network import Net, Spec, init_params, loss_and_grad

SHAPES = [dict(num_layers=1, bidirectional=False), dict(num_layers=2, bidirectional=False),
          dict(num_layers=2, bidirectional=True),
          # a future block whose covariates (2 steps x 3) also pass through 2 tanh units each
          dict(num_layers=1, bidirectional=False, future_size=6, future_hidden=2, future_inputs=3),
          dict(num_layers=2, bidirectional=True, future_size=6)]


def members(K, shape, dtype=np.float64):
    ms = [init_params(3, 4, shape["num_layers"], 5, seed=i, dtype=dtype, bidirectional=shape["bidirectional"],
                      future_size=shape.get("future_size", 0), future_hidden=shape.get("future_hidden", 0),
                      future_inputs=shape.get("future_inputs", 0)) for i in range(K)]
    for i, p in enumerate(ms):  # the future block starts at zero in a fit; here it must show
        if "future.weight" in p:
            p["future.weight"][:] = np.random.default_rng(10 + i).normal(size=p["future.weight"].shape)
    return ms


def future_inputs(shape, batch):
    size = shape.get("future_size", 0)
    return np.random.default_rng(7).normal(size=(batch, size)) if size else None


@pytest.mark.parametrize("shape", SHAPES)
def test_members_round_trip_and_forward_exactly(shape):
    ms = members(3, shape)
    wide = ensemble.stack(ms)
    assert Spec.from_params(wide) == Spec(3, 12, shape["num_layers"], 15, shape["bidirectional"],
                                          shape.get("future_size", 0), 3 * shape.get("future_hidden", 0),
                                          shape.get("future_inputs", 0))
    for m in range(3):
        for name, a in ensemble.member(wide, 3, m).items():
            np.testing.assert_array_equal(a, ms[m][name])
    x = np.random.default_rng(0).normal(size=(6, 9, 3))
    f = future_inputs(shape, 6)
    out = Net.from_params(wide).predict(x, engine="numpy", f=f)
    for m in range(3):
        np.testing.assert_allclose(out[:, 5 * m:5 * m + 5], Net.from_params(ms[m]).predict(x, engine="numpy", f=f),
                                   rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ensemble.combine(out, 3), np.mean([out[:, 5 * m:5 * m + 5] for m in range(3)], axis=0))


@pytest.mark.parametrize("block", [False, True], ids=["dense", "block-diagonal"])
@pytest.mark.parametrize("shape", SHAPES)
def test_masked_gradient_is_the_members_gradients(shape, block):
    """The wide loss is the mean of the members' losses, so its masked gradient is each
    member's own gradient divided by K; the mask zeroes exactly the cross-member weights.
    The kernels' block-diagonal recurrence (``members=K``) gives the same, and a zero
    recurrent gradient across members without the mask."""
    K = 3
    ms = members(K, shape)
    wide = ensemble.stack(ms)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 6, 3)), rng.normal(size=(7, 5))
    f = future_inputs(shape, 7)
    value, grad = loss_and_grad(wide, x, np.tile(y, K), f=f, members=K if block else 1)
    mask = ensemble.mask(Spec.from_params(wide), K)
    own = [loss_and_grad(p, x, y, f=f) for p in ms]
    assert value == pytest.approx(np.mean([v for v, _ in own]), rel=1e-12)
    want = ensemble.stack([{n: g / K for n, g in gm.items()} for _, gm in own])
    for name in wide:
        np.testing.assert_allclose(grad[name] * mask[name], want[name], rtol=1e-10, atol=1e-14, err_msg=name)
        assert set(np.unique(mask[name])) <= {0.0, 1.0}
        # every entry that is zero in a stacked network of nonzero members is masked
        assert np.array_equal(mask[name] == 0, ensemble.stack([{n: np.ones_like(a) for n, a in p.items()}
                                                               for p in ms])[name] == 0)
        if block and name.startswith("weight_hh"):
            assert not np.any(grad[name][mask[name] == 0])
            assert np.any(grad[name][mask[name] == 1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
def test_block_diagonal_kernels_forecast_as_the_members(shape, dtype):
    """The kernels with ``members=K`` skip the blocks across members: the forecasts are
    the separate members' (numpy's reference forward, another code path)."""
    ms = members(4, shape, dtype)
    x = np.random.default_rng(2).normal(size=(9, 7, 3)).astype(dtype)
    f = future_inputs(shape, 9)
    out = Net.from_params(ensemble.stack(ms), 4).predict(x, engine="kernels", f=f)
    for m in range(4):
        assert_close(out[:, 5 * m:5 * m + 5], Net.from_params(ms[m]).predict(x, engine="numpy", f=f), dtype)


def test_members_must_divide_the_hidden_size():
    with pytest.raises(ValueError, match="divide"):
        Net.from_params(init_params(3, 4, 1, 5), members=3)


def test_an_ensemble_fit_keeps_its_members_apart_and_forecasts_their_mean(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=150)
    f = LSTMForecaster(ensemble=3, hidden=6, epochs=5, seed=3, _head_init="random").fit(ds)
    wide = f.net_.params
    mask = ensemble.mask(f.net_.spec, 3)
    assert all(not np.any(wide[n][mask[n] == 0]) for n in wide)  # training never crossed members
    x = np.random.default_rng(0).normal(size=(4, f.model_config_.lookback, f.net_.spec.input_size)).astype(np.float32)
    each = [Net.from_params(ensemble.member(wide, 3, m)).predict(x, engine="numpy") for m in range(3)]
    assert_close(f._net_predict(x, "numpy"), np.mean(each, axis=0))
    assert np.abs(each[0] - each[1]).max() > 1e-3  # the seeds differ
    # the ensemble option round-trips and the loaded model forecasts the same
    g = type(f).from_state(*f.to_state()[:1], f.to_state()[1], (f.read_config_, f.model_config_, f.train_config_))
    np.testing.assert_array_equal(g.predict(6)[""].point, f.predict(6)[""].point)
    newer = monthly_csv(tmp_path / "n.csv", n=170)
    f.update(newer)
    assert all(not np.any(f.net_.params[n][mask[n] == 0]) for n in wide)  # update too
    # a file whose members share a weight would forecast differently in the kernels: refused
    arrays, doc = f.to_state()
    arrays = {n: a.copy() for n, a in arrays.items()}
    arrays["weight_hh_l0"][0, -1] = 0.5
    with pytest.raises(ModelFileError, match="members share weights"):
        type(f).from_state(arrays, doc, (f.read_config_, f.model_config_, f.train_config_))
