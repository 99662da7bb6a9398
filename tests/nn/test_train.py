"""The training loop: early stopping, best-weight restore, schedule, divergence, interrupts, resume."""

import math

import numpy as np
import pytest

from lstmcast.nn import network
from lstmcast.errors import TrainingDiverged
from lstmcast.nn.network import Net
from lstmcast.config import TrainConfig
from conftest import assert_same_bits, sine_windows
from lstmcast.errors import UsageError
from lstmcast.nn.train import Plateau, Trainer


def sine_data(n=400, lookback=16, horizon=3, seed=0):
    x, y, _ = sine_windows(n, lookback, horizon, seed, period=20)
    y = y[:, :, None]

    def take(i):
        return x[i], y[i]

    return take, np.arange(0, 300), np.arange(320, 400)


def new_net(seed=0):
    return Net.from_params(network.init_params(1, 8, 1, 3, seed=seed))


def test_training_reduces_validation_loss_and_keeps_best_weights():
    take, tr, va = sine_data()
    net = new_net()
    trainer = Trainer(net, TrainConfig(epochs=15, batch_size=32, lr=0.01, patience=50))
    before = trainer.validation_loss(take, va)
    result = trainer.fit(take, tr, va)
    assert result.stopped == "max-epochs" and result.epochs_run == 15
    assert result.best_val_loss < 0.2 * before
    # the network holds the best epoch's weights: its validation loss is the best one
    assert trainer.validation_loss(take, va) == pytest.approx(result.best_val_loss, rel=1e-6)
    assert min(h["val_loss"] for h in result.history) == pytest.approx(result.best_val_loss)


def test_early_stopping_when_validation_stops_improving():
    take, tr, va = sine_data()
    rng = np.random.default_rng(0)
    noise_y = rng.normal(size=(400, 3, 1)).astype(np.float32)

    def noise_take(i):  # pure noise: validation cannot improve for long
        return take(i)[0], noise_y[i]

    trainer = Trainer(new_net(), TrainConfig(epochs=200, batch_size=32, lr=0.01, patience=3))
    result = trainer.fit(noise_take, tr, va)
    assert result.stopped == "early-stopping"
    assert result.epochs_run == result.best_epoch + 3
    assert result.epochs_run < 200


def test_learning_rate_is_reduced_on_plateau():
    take, tr, va = sine_data()
    rng = np.random.default_rng(1)
    noise_y = rng.normal(size=(400, 3, 1)).astype(np.float32)
    cfg = TrainConfig(epochs=12, batch_size=64, lr=0.01, patience=100)
    result = Trainer(new_net(), cfg, plateau=Plateau(lr_patience=2, lr_factor=0.5)).fit(lambda i: (take(i)[0], noise_y[i]), tr, va)
    lrs = [h["lr"] for h in result.history]
    assert lrs[-1] < 0.01 and all(b <= a for a, b in zip(lrs, lrs[1:]))


def test_nan_loss_raises_diverged_and_restores_best_weights():
    take, tr, va = sine_data()
    calls = {"n": 0}

    def poisoned(i):
        x, y = take(i)
        calls["n"] += 1
        if calls["n"] > 30:  # after a couple of good epochs the inputs turn to NaN (a NaN
            x = np.full_like(x, np.nan)  # target is a missing one, masked out of the loss)
        return x, y

    net = new_net()
    trainer = Trainer(net, TrainConfig(epochs=50, batch_size=64, lr=0.01))
    with pytest.raises(TrainingDiverged, match="--lr"):
        trainer.fit(poisoned, tr, va)
    assert np.isfinite(net.theta).all()
    assert trainer.best_epoch >= 1
    np.testing.assert_array_equal(net.theta, trainer.best_theta)


@pytest.mark.parametrize("where", ["training", "validation"])
def test_interrupt_then_resume_gives_the_uninterrupted_result(where):
    take, tr, va = sine_data()
    cfg = TrainConfig(epochs=6, batch_size=32, lr=0.01, seed=3)
    full = new_net()
    Trainer(full, cfg).fit(take, tr, va)

    # stop in epoch 4: in its 5th training batch, or while validating it (one validation
    # batch: a stop is asked for before each batch of either kind)
    count = {"n": 0}
    per_epoch = math.ceil(len(tr) / cfg.batch_size)
    before = 3 * (per_epoch + 1)
    threshold = before + 4 if where == "training" else before + per_epoch

    def stop():
        count["n"] += 1
        return count["n"] > threshold

    net = new_net()
    first = Trainer(net, cfg, should_stop=stop)
    result = first.fit(take, tr, va)
    assert result.stopped == "interrupted" and result.epochs_run == 3 and count["n"] == threshold + 1
    arrays, meta = first.state()

    resumed_net = new_net(seed=99)  # different start: everything must come from the state
    second = Trainer(resumed_net, cfg)
    second.load_state(arrays, meta)
    final = second.fit(take, tr, va)
    assert final.epochs_run == 6
    assert_same_bits(resumed_net.theta, full.theta)  # one process


def test_config_validation_names_the_option():
    with pytest.raises(UsageError, match="--batch-size"):
        TrainConfig(batch_size=0)
    with pytest.raises(UsageError, match="--loss"):
        TrainConfig(loss="l2")
    with pytest.raises(UsageError, match="--lr"):
        TrainConfig(lr=float("nan"))


def test_clip_norm_bounds_every_step():
    """Adam's first step moves each weight by lr * g / (|g| + eps): with the gradient
    clipped to a norm far below eps's scale, the step shrinks with the clip norm."""
    take, tr, va = sine_data()
    moves = {}
    for clip in (1.0, 1e-9):
        net = new_net()
        before = net.theta.copy()
        cfg = TrainConfig(epochs=1, batch_size=len(tr), lr=0.01, clip_norm=clip)
        Trainer(net, cfg).fit(take, tr, va)
        moves[clip] = float(np.abs(net.theta - before).max())
    assert moves[1.0] == pytest.approx(0.01, rel=1e-3) and moves[1e-9] < 0.01 / 5


def test_trainer_refuses_an_unresolved_config():
    with pytest.raises(ValueError, match="epochs"):
        Trainer(new_net(), TrainConfig(batch_size=32))


def test_an_epoch_samples_at_most_epoch_windows_afresh_each_time():
    take, tr, va = sine_data()
    seen = []

    def counting(i):
        if len(i) and i.max() < 300:  # training batches (validation indices are 320-399)
            seen[-1].extend(i.tolist())
        return take(i)

    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.01, seed=1, epoch_windows=100)
    trainer = Trainer(new_net(), cfg, on_epoch=lambda report: seen.append([]))
    seen.append([])
    trainer.fit(counting, tr, va)
    epochs = [e for e in seen if e]
    assert [len(e) for e in epochs] == [100, 100, 100]
    assert all(len(set(e)) == 100 for e in epochs)  # without repeats within an epoch
    assert set(epochs[0]) != set(epochs[1])          # a fresh sample each epoch


def test_resume_is_exact_with_sampled_epochs():
    take, tr, va = sine_data()
    cfg = TrainConfig(epochs=5, batch_size=32, lr=0.01, seed=3, epoch_windows=90)
    full = new_net()
    Trainer(full, cfg).fit(take, tr, va)
    count = {"n": 0}

    def stop():
        count["n"] += 1
        return count["n"] > 2 * (3 + 1) + 2  # in epoch 3 (3 training batches + 1 validation each)

    first = Trainer(new_net(), cfg, should_stop=stop)
    assert first.fit(take, tr, va).stopped == "interrupted"
    resumed = new_net(seed=9)
    second = Trainer(resumed, cfg)
    second.load_state(*first.state())
    second.fit(take, tr, va)
    assert_same_bits(resumed.theta, full.theta)


def test_snapshot_averaging_keeps_the_mean_of_the_best_epochs_only_where_it_validates_better():
    take, tr, va = sine_data()
    cfg = TrainConfig(epochs=12, batch_size=32, lr=0.01, patience=50)
    plain = Trainer(new_net(), cfg)
    alone = plain.fit(take, tr, va)
    net = new_net()
    trainer = Trainer(net, cfg, snapshots=4)
    result = trainer.fit(take, tr, va)
    # the same trajectory: the averaging happens after the last epoch only
    assert [h["val_loss"] for h in result.history] == [h["val_loss"] for h in alone.history]
    pool = sorted(h["val_loss"] for h in result.history)[:4]
    assert [v for v, _ in trainer.pool] == pool
    mean = np.mean([theta for _, theta in trainer.pool], axis=0, dtype=np.float64).astype(net.dtype)
    probe = Net(net.spec, mean)
    averaged_val = Trainer(probe, cfg).validation_loss(take, va)
    assert averaged_val < alone.best_val_loss  # on a smooth sine the mean validates better
    assert trainer.averaged == 4 and np.array_equal(net.theta, mean)
    assert result.best_val_loss == pytest.approx(averaged_val, rel=1e-9)
    # with pure-noise targets the mean validates worse here, and the best epoch stands
    rng = np.random.default_rng(1)
    noise_y = rng.normal(size=(400, 3, 1)).astype(np.float32)
    noisy_take = lambda i: (take(i)[0], noise_y[i])  # noqa: E731
    best = Trainer(new_net(), cfg)
    best.fit(noisy_take, tr, va)
    noisy = Trainer(new_net(), cfg, snapshots=4)
    res = noisy.fit(noisy_take, tr, va)
    assert noisy.averaged == 0 and np.array_equal(noisy.net.theta, best.net.theta)
    assert res.best_val_loss == min(h["val_loss"] for h in res.history)
