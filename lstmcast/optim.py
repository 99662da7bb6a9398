"""Adam with decoupled weight decay (AdamW) and gradient clipping by global norm.

Works on the flat parameter vector of :class:`lstmcast.network.Net`; the update itself
is one fused Numba loop (:func:`lstmcast.kernels.adam_update`). The state (step count
and both moment vectors) is plain arrays so checkpoints can store it.
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
            grad_norm = float(np.sqrt(np.dot(grad.astype(np.float64), grad.astype(np.float64))))
        scale = 1.0
        if self.clip_norm is not None and grad_norm > self.clip_norm:
            scale = self.clip_norm / (grad_norm + 1e-6)  # as torch.nn.utils.clip_grad_norm_
        self.steps += 1
        from lstmcast import kernels

        kernels.adam_update(theta, grad, self.m, self.v, self.lr, self.betas[0], self.betas[1],
                            self.eps, self.weight_decay, self.steps, scale)
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
