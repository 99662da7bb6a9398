"""Adam with decoupled weight decay (AdamW) and gradient clipping by global norm.

Works on the flat parameter vector of :class:`lstmcast.nn.network.Net`; the update itself
is one fused Numba loop (:func:`adam_update`, compiled on first use and cached). The
state (step count and both moment vectors) is plain arrays so checkpoints can store it.
"""

from __future__ import annotations

import math

import numpy as np


class Adam:
    """AdamW as in ``torch.optim.AdamW`` (or plain Adam with weight_decay=0)."""

    def __init__(self, size: int, dtype=np.float32, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, clip_norm: float | None = 1.0):
        if lr <= 0 or not math.isfinite(lr):
            raise ValueError(f"learning rate must be a positive number, got {lr}")
        if clip_norm is not None and clip_norm <= 0:
            raise ValueError(f"clip_norm must be positive or None, got {clip_norm}")
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.clip_norm = clip_norm
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.steps = 0

    def step(self, theta: np.ndarray, grad: np.ndarray, grad_norm: float | None = None) -> float:
        """Update theta in place from grad; returns the gradient's global norm before clipping."""
        if grad_norm is None:
            # a jitted loop, not np.dot: sums in float64 without a float64 copy, and
            # calls no BLAS (whose thread pool, if not yet held at one thread, would wake
            # and busy-wait on the core the kernels' second thread needs)
            grad_norm = math.sqrt(_kernel(sum_squares)(grad))
        scale = 1.0
        if self.clip_norm is not None and grad_norm > self.clip_norm:
            scale = self.clip_norm / (grad_norm + 1e-6)  # as torch.nn.utils.clip_grad_norm_
        self.steps += 1
        _kernel(adam_update)(theta, grad, self.m, self.v, self.lr, self.betas[0],
                             self.betas[1], self.eps, self.weight_decay, self.steps, scale)
        return grad_norm

    def state(self) -> dict[str, np.ndarray]:
        """The optimiser's state as arrays (for checkpoints)."""
        return {"adam.m": self.m.copy(), "adam.v": self.v.copy(),
                "adam.steps": np.array([self.steps], dtype=np.int64)}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        if state["adam.m"].shape != self.m.shape or state["adam.v"].shape != self.v.shape:
            raise ValueError("optimiser state does not match the model's size")
        self.m[:] = state["adam.m"]
        self.v[:] = state["adam.v"]
        self.steps = int(state["adam.steps"][0])


_JITTED: dict = {}


def _kernel(fn):
    """The jitted version of fn, built on first use (so importing optim needs no Numba)."""
    if fn not in _JITTED:
        from lstmcast.nn import jitcache

        jitcache.configure()
        from numba import njit

        _JITTED[fn] = njit(cache=True, error_model="numpy", nogil=True)(fn)
    return _JITTED[fn]


def sum_squares(x):
    """The sum of x**2 in float64, with four running sums (a fixed order: deterministic).

    Written for Numba (see :func:`_kernel`).
    """
    s0 = s1 = s2 = s3 = 0.0
    n = x.size
    full = n - n % 4
    for i in range(0, full, 4):
        a = np.float64(x[i])
        b = np.float64(x[i + 1])
        c = np.float64(x[i + 2])
        d = np.float64(x[i + 3])
        s0 += a * a
        s1 += b * b
        s2 += c * c
        s3 += d * d
    for i in range(full, n):
        a = np.float64(x[i])
        s0 += a * a
    return (s0 + s1) + (s2 + s3)


def adam_update(theta, grad, m, v, lr, beta1, beta2, eps, weight_decay, step_no, gscale):
    """One AdamW step in place (decoupled weight decay), gradient pre-scaled by gscale.

    Written for Numba (see :func:`_kernel`); every constant in the working dtype.
    """
    dt = theta.dtype.type
    b1 = dt(beta1)
    b2 = dt(beta2)
    c1 = dt(1.0 - beta1 ** step_no)
    c2 = dt(math.sqrt(1.0 - beta2 ** step_no))
    a = dt(lr) * c2 / c1
    e = dt(eps) * c2
    decay = dt(1.0 - lr * weight_decay)
    gs = dt(gscale)
    one = dt(1.0)
    for i in range(theta.size):
        g = grad[i] * gs
        mi = b1 * m[i] + (one - b1) * g
        vi = b2 * v[i] + (one - b2) * g * g
        m[i] = mi
        v[i] = vi
        theta[i] = theta[i] * decay - a * mi / (math.sqrt(vi) + e)
