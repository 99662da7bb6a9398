"""The training losses: one table of name, kernel code and numpy reference.

The kernels (:mod:`lstmcast.nn.kernels`) compute each loss and its gradient inside the
fused step, selected by ``code``; ``reference`` is the same elementwise loss in numpy,
used for validation losses and by the tests as the independent check. Every loss is the
mean over all elements, as ``torch.nn.MSELoss``, ``L1Loss`` and ``HuberLoss`` compute
it. Huber's delta is a constant (1.0, PyTorch's default): the targets are scaled, so
one scaled unit is the natural place for the switch from quadratic to linear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

HUBER_DELTA = 1.0


def _mse(err: np.ndarray) -> np.ndarray:
    return err * err


def _mae(err: np.ndarray) -> np.ndarray:
    return np.abs(err)


def _huber(err: np.ndarray) -> np.ndarray:
    a = np.abs(err)
    return np.where(a < HUBER_DELTA, 0.5 * err * err, HUBER_DELTA * (a - 0.5 * HUBER_DELTA))


def gradient(code: int, err: np.ndarray, delta: float = HUBER_DELTA) -> np.ndarray:
    """d loss / d err, elementwise, as the kernels compute it (sign(0) = 0)."""
    if code == 0:
        return 2 * err
    if code == 1:
        return np.sign(err)
    return np.clip(err, -delta, delta)


@dataclass(frozen=True)
class Loss:
    name: str
    code: int                                   # kernels.LOSS_MSE / LOSS_MAE / LOSS_HUBER
    reference: Callable[[np.ndarray], np.ndarray]  # elementwise loss of the error


LOSSES = {loss.name: loss for loss in (Loss("mse", 0, _mse), Loss("mae", 1, _mae), Loss("huber", 2, _huber))}


def get(name: str) -> Loss:
    """The loss called ``name`` (a ValueError otherwise: callers pass checked names)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r} (one of {', '.join(LOSSES)})") from None
