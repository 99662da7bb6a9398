"""The LSTM core against independent references: PyTorch recordings, finite differences,
closed-form facts, and a training run on a noisy sine wave."""

from pathlib import Path

import numpy as np
import pytest

from conftest import assert_close, sine_windows
from lstmcast.nn import network
from lstmcast.nn.network import Net, Spec
from lstmcast.nn.optim import Adam

FIXTURE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "torch_lstm.npz")
CASES = sorted({k.split("/")[0] for k in FIXTURE.files if "/param/" in k})
LOSSES = ("mse", "mae", "huber")


def fixture_case(case):
    params = {k.split("/param/")[1]: FIXTURE[k] for k in FIXTURE.files if k.startswith(case + "/param/")}
    return params, FIXTURE[case + "/x"], FIXTURE[case + "/y"]


# ----------------------------------------------------------------- PyTorch equivalence


@pytest.mark.parametrize("engine", ("kernels", "numpy"))
@pytest.mark.parametrize("case", CASES)
def test_forward_matches_pytorch(case, engine):
    params, x, _ = fixture_case(case)
    out = Net.from_params(params).predict(x, engine=engine)
    assert out.dtype == x.dtype
    assert_close(out, FIXTURE[case + "/out"], x.dtype)


def test_numpy_and_kernel_forward_agree_on_larger_batches():
    params = network.init_params(3, 12, 2, 4, seed=2, dtype=np.float64, bidirectional=True)
    x = np.random.default_rng(0).normal(size=(40, 9, 3)) * 2
    net = Net.from_params(params)
    assert_close(net.predict(x, engine="kernels"), net.predict(x, engine="numpy"), np.float64)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("case", CASES)
def test_loss_and_gradients_match_pytorch(case, loss):
    params, x, y = fixture_case(case)
    value, grads = network.loss_and_grad(params, x, y, loss)
    assert_close(value, FIXTURE[f"{case}/{loss}/loss"], x.dtype)
    assert set(grads) == set(params)
    for name, g in grads.items():
        ref = FIXTURE[f"{case}/{loss}/grad/{name}"]
        assert g.shape == ref.shape
        assert_close(g, ref, x.dtype, err_msg=name)


def test_spec_names_follow_pytorch_state_dict():
    params, _, _ = fixture_case("bi2_f64")
    spec = Spec.from_params(params)
    assert spec == Spec(2, 4, 2, 3, True)
    assert list(spec.shapes()) == list(params)  # same order as torch's named_parameters


# ----------------------------------------------------------------- finite differences


def numeric_gradient_check(spec, loss, T, batch=3, scale=1.0, seed=0, dropout=0.0, missing=0.0):
    rng = np.random.default_rng(seed)
    params = network.init_params(spec.input_size, spec.hidden_size, spec.num_layers, spec.output_size,
                                 seed=seed, dtype=np.float64, bidirectional=spec.bidirectional,
                                 future_size=spec.future_size, future_hidden=spec.future_hidden,
                                 future_inputs=spec.future_inputs)
    for a in params.values():
        a *= scale
    x = rng.normal(size=(batch, T, spec.input_size)) * scale
    y = rng.normal(size=(batch, spec.output_size))
    y[rng.random(y.shape) < missing] = np.nan
    fut = rng.normal(size=(batch, spec.future_size)) if spec.future_size else None
    net = Net.from_params(params)

    def f():
        r = np.random.default_rng(99) if dropout else None
        return net.loss_and_grad(x, y, loss, f=fut, dropout=dropout, rng=r)[0]

    _, flat = net.loss_and_grad(x, y, loss, f=fut, dropout=dropout,
                                rng=np.random.default_rng(99) if dropout else None)
    analytic = flat.copy()
    numeric = np.empty_like(analytic)
    eps = 1e-6
    for i in range(net.size):
        old = net.theta[i]
        net.theta[i] = old + eps
        up = f()
        net.theta[i] = old - eps
        down = f()
        net.theta[i] = old
        numeric[i] = (up - down) / (2 * eps)
    errors = {}
    for name in params:
        a, n = net.unflatten(analytic)[name], net.unflatten(numeric)[name]
        errors[name] = np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12)
    return errors


@pytest.mark.parametrize("loss", ("mse", "huber"))
@pytest.mark.parametrize("layers", (1, 2))
@pytest.mark.parametrize("T", (1, 2, 17))
def test_gradients_match_finite_differences(layers, T, loss):
    errors = numeric_gradient_check(Spec(2, 3, layers, 2), loss, T)
    assert max(errors.values()) <= 1e-6, errors


def test_mae_gradients_match_finite_differences():
    # MAE is not differentiable where an error is exactly 0; random data never hits it
    errors = numeric_gradient_check(Spec(3, 4, 2, 3), "mae", 5)
    assert max(errors.values()) <= 1e-6, errors


@pytest.mark.parametrize("layers", (1, 2))
def test_gradients_with_saturated_gates(layers):
    # large weights and inputs push most gates to within 1e-6 of 0 or 1
    errors = numeric_gradient_check(Spec(2, 3, layers, 2), "mse", 6, scale=6.0, seed=3)
    assert max(errors.values()) <= 1e-6, errors


def test_bidirectional_gradients_match_finite_differences():
    errors = numeric_gradient_check(Spec(2, 3, 2, 2, bidirectional=True), "huber", 4)
    assert max(errors.values()) <= 1e-6, errors


def test_dropout_gradients_match_finite_differences():
    # the same seed gives the same masks, so the loss is a fixed function of the weights
    errors = numeric_gradient_check(Spec(2, 3, 3, 2), "mse", 5, dropout=0.3)
    assert max(errors.values()) <= 1e-6, errors


@pytest.mark.parametrize("loss", ("mse", "huber", "mae"))
@pytest.mark.parametrize("layers", (1, 2))
def test_future_block_gradients_match_finite_differences(layers, loss):
    errors = numeric_gradient_check(Spec(2, 3, layers, 4, future_size=8), loss, 5, batch=4)
    assert set(errors) >= {"future.weight", "head.weight"}
    assert max(errors.values()) <= 1e-6, errors


@pytest.mark.parametrize("loss", ("mse", "huber"))
@pytest.mark.parametrize("layers", (1, 2))
def test_future_tanh_units_gradients_match_finite_differences(layers, loss):
    errors = numeric_gradient_check(Spec(2, 3, layers, 8, future_size=12, future_hidden=3, future_inputs=3),
                                    loss, 4, batch=4, missing=0.2)
    assert set(errors) >= {"future.weight", "future.hidden.weight", "future.hidden.bias"}
    assert max(errors.values()) <= 1e-6, errors


@pytest.mark.parametrize("future", (0, 6))
def test_masked_target_gradients_match_finite_differences(future):
    errors = numeric_gradient_check(Spec(2, 3, 2, 3, bidirectional=True, future_size=future), "mse", 4,
                                    batch=5, missing=0.4, seed=4)
    assert max(errors.values()) <= 1e-6, errors


def test_a_missing_target_changes_nothing_but_the_mean():
    # masking one element: the loss is the mean of the others, as if it were not there
    params = network.init_params(2, 3, 1, 2, seed=5, dtype=np.float64)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))
    masked = y.copy()
    masked[1, 0] = np.nan
    value, grads = network.loss_and_grad(params, x, masked)
    out = network.forward(params, x)
    keep = ~np.isnan(masked)
    assert value == pytest.approx(float(((out - y)[keep] ** 2).mean()), rel=1e-12)
    everything_missing = np.full_like(y, np.nan)
    value, grads = network.loss_and_grad(params, x, everything_missing)
    assert value == 0.0 and all(not g.any() for g in grads.values())


FUTURE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "torch_future.npz")
FUTURE_CASES = sorted({k.split("/")[0] for k in FUTURE.files if "/param/" in k})


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("case", FUTURE_CASES)
def test_future_block_and_masked_loss_match_pytorch(case, loss):
    params = {k.split("/param/")[1]: FUTURE[k] for k in FUTURE.files if k.startswith(case + "/param/")}
    x, f, y = FUTURE[case + "/x"], FUTURE[case + "/f"], FUTURE[case + "/y"]
    spec = Spec.from_params(params)
    assert spec.future_size == f.shape[1] and list(spec.shapes()) == list(params)
    for engine in ("numpy", "kernels"):
        out = Net.from_params(params).predict(x, engine=engine, f=f)
        assert_close(out, FUTURE[case + "/out"], x.dtype)
    value, grads = network.loss_and_grad(params, x, y, loss, f=f)
    assert_close(value, FUTURE[f"{case}/{loss}/loss"], x.dtype)
    for name, g in grads.items():
        assert_close(g, FUTURE[f"{case}/{loss}/grad/{name}"], x.dtype, err_msg=name)


def test_future_block_inputs_are_checked():
    net = Net.from_params(network.init_params(2, 3, 1, 2, future_size=4))
    x = np.zeros((3, 5, 2), np.float32)
    with pytest.raises(ValueError, match="future block"):
        net.predict(x)
    with pytest.raises(ValueError, match=r"f must be \(3, 4\)"):
        net.predict(x, f=np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="no future block"):
        Net.from_params(network.init_params(2, 3, 1, 2)).predict(x, f=np.zeros((3, 4)))


# ----------------------------------------------------------------- closed-form facts


def test_init_is_pytorch_style():
    p = network.init_params(3, 16, 2, 5, seed=1)
    bound = 1 / np.sqrt(16)
    for name, a in p.items():
        assert a.dtype == np.float32
        if name.startswith("bias_ih"):
            a = np.delete(a, np.s_[16:32])  # the forget gate's bias is set to 1
        assert np.abs(a).max() <= bound + 1e-7, name
        if a.size > 50:
            assert np.abs(a).max() > 0.9 * bound, name  # uniform over the whole range
    assert np.all(p["bias_ih_l0"][16:32] == 1.0) and np.all(p["bias_hh_l0"][16:32] == 0.0)
    assert p["weight_ih_l1"].shape == (64, 16) and p["head.weight"].shape == (5, 16)
    same = network.init_params(3, 16, 2, 5, seed=1)
    assert all(np.array_equal(p[k], same[k]) for k in p)
    other = network.init_params(3, 16, 2, 5, seed=2)
    assert not np.array_equal(p["weight_hh_l0"], other["weight_hh_l0"])


def test_zero_weights_give_closed_form_output():
    # all weights 0: every gate is sigmoid(0)=0.5, candidate tanh(0)=0, so c=h=0
    # forever and the output is the head's bias
    p = {k: np.zeros_like(v, dtype=np.float64) for k, v in network.init_params(2, 4, 2, 3).items()}
    p["head.bias"][:] = [1.5, -2.0, 0.25]
    out = network.forward(p, np.random.default_rng(0).normal(size=(5, 7, 2)))
    np.testing.assert_array_equal(out, np.tile([1.5, -2.0, 0.25], (5, 1)))


def test_single_step_closed_form():
    # T=1, H=1: h = sigmoid(o) * tanh(sigmoid(i) * tanh(g)) with c0 = 0
    p = network.init_params(1, 1, 1, 1, dtype=np.float64)
    p["weight_ih_l0"][:, 0] = [0.3, -0.2, 0.7, 1.1]
    p["bias_ih_l0"][:] = [0.1, 0.0, -0.4, 0.2]
    p["bias_hh_l0"][:] = 0.0
    p["head.weight"][:] = 2.0
    p["head.bias"][:] = 0.5
    x = 1.7
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    i, g, o = sig(0.3 * x + 0.1), np.tanh(0.7 * x - 0.4), sig(1.1 * x + 0.2)
    expected = 2.0 * o * np.tanh(i * g) + 0.5
    assert network.forward(p, np.array([[[x]]]))[0, 0] == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_gate_functions_accurate_over_range(dtype):
    from lstmcast.nn import kernels
    from numba import njit

    @njit
    def apply(z, s, t):
        for k in range(z.size):
            s[k] = kernels._sigmoid(z[k])
            t[k] = kernels._tanh(z[k])

    z = np.concatenate([np.linspace(-100, 100, 20001), [0.0, 1e-30, -1e-30, 0.624, 0.626]]).astype(dtype)
    s, t = np.empty_like(z), np.empty_like(z)
    apply(z, s, t)
    zz = z.astype(np.float64)
    ulp = np.finfo(dtype).eps
    # below -80 the sigmoid is clamped at exp(-80) ~ 1.8e-35 (documented in kernels.py)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-zz)), rtol=4 * ulp, atol=1.9e-35)
    np.testing.assert_allclose(t, np.tanh(zz), rtol=4 * ulp, atol=1e-300)


# ----------------------------------------------------------------- optimiser


def test_adamw_and_clipping_match_pytorch():
    w = FIXTURE["adamw/w0"].copy()
    opt = Adam(w.size, dtype=np.float64, lr=0.01, weight_decay=0.1, clip_norm=1.0)
    for i in range(3):
        norm = opt.step(w, FIXTURE[f"adamw/g{i}"].copy())
        assert_close(norm, FIXTURE[f"adamw/norm{i}"], np.float64)
        assert_close(w, FIXTURE[f"adamw/w{i + 1}"], np.float64)


def test_adam_state_round_trips():
    opt = Adam(5, dtype=np.float64)
    w = np.ones(5)
    opt.step(w, np.arange(5.0))
    other = Adam(5, dtype=np.float64)
    other.load_state(opt.state())
    w2 = w.copy()
    opt.step(w, np.ones(5))
    other.step(w2, np.ones(5))
    np.testing.assert_array_equal(w, w2)


# ----------------------------------------------------------------- training


def train(seed, steps=300):
    x, y, _ = sine_windows()
    net = Net.from_params(network.init_params(1, 16, 1, y.shape[1], seed=seed))
    opt = Adam(net.size, lr=0.01)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.integers(0, len(x), 32)
        _, grad = net.loss_and_grad(x[idx], y[idx])
        opt.step(net.theta, grad)
    return net, x, y


def test_training_fits_noisy_sine_far_below_variance():
    net, x, y = train(seed=0)
    mse = float(np.mean((net.predict(x) - y) ** 2))
    # the noise floor is 0.01 (noise sd 0.1); the series' variance is about 0.5
    assert mse < 0.05 * float(np.var(y)), mse


def test_same_seed_gives_bit_identical_parameters():
    a, _, _ = train(seed=5, steps=40)
    b, _, _ = train(seed=5, steps=40)
    c, _, _ = train(seed=6, steps=40)
    assert np.array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, c.theta)


def test_predict_batches_agree_with_one_batch():
    params = network.init_params(2, 8, 2, 3, seed=0, dtype=np.float64)
    x = np.random.default_rng(1).normal(size=(37, 5, 2))
    net = Net.from_params(params)
    assert_close(net.predict(x, batch_size=7), net.predict(x), np.float64)


def test_bad_inputs_are_value_errors():
    net = Net.from_params(network.init_params(2, 4, 1, 3))
    with pytest.raises(ValueError, match="x must be"):
        net.predict(np.zeros((4, 5, 3)))
    with pytest.raises(ValueError, match="unknown loss"):
        net.loss_and_grad(np.zeros((4, 5, 2)), np.zeros((4, 3)), "l2")
    with pytest.raises(ValueError, match="y must be"):
        net.loss_and_grad(np.zeros((4, 5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="float32 or float64"):
        network.init_params(2, 4, 1, 3, dtype=np.float16)
    with pytest.raises(ValueError, match="do not form an LSTM"):
        p = network.init_params(2, 4, 1, 3)
        p["weight_hh_l0"] = p["weight_hh_l0"][:, :3]
        Net.from_params(p)


@pytest.mark.parametrize("n", [1, 3, 4, 1001])
def test_gradient_norm_is_the_float64_sum_of_squares(n):
    """The optimiser's own norm (a jitted loop, no BLAS) equals numpy's, any length."""
    from lstmcast.nn.optim import _kernel, sum_squares

    g = np.random.default_rng(n).normal(size=n).astype(np.float32) * 1e3
    want = float(np.dot(g.astype(np.float64), g.astype(np.float64)))
    assert _kernel(sum_squares)(g) == pytest.approx(want, rel=1e-13)
    opt = Adam(n, clip_norm=None)
    assert opt.step(np.zeros(n, np.float32), g) == pytest.approx(np.sqrt(want), rel=1e-13)


def test_training_holds_every_blas_at_one_thread():
    """The kernels bring their own threads: a BLAS thread pool beside them would
    oversubscribe the cores (and busy-wait on them), so running a step leaves every
    BLAS library at one thread. In a fresh process, where BLAS starts multithreaded."""
    import json
    import os
    import subprocess
    import sys

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: BLAS starts single-threaded")
    script = """
import json
import numpy as np
import scipy.linalg.cython_blas
from threadpoolctl import threadpool_info
from lstmcast.nn import network
def threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
before = threads()
net = network.Net.from_params(network.init_params(2, 4, 1, 3, seed=0))
net.loss_and_grad(np.zeros((4, 5, 2), np.float32), np.zeros((4, 3), np.float32))
print(json.dumps([before, threads()]))
"""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         check=True).stdout
    before, after = json.loads(out)
    assert before and max(before) > 1, "BLAS did not start multithreaded: nothing to check"
    assert len(after) >= len(before) and all(n == 1 for n in after)