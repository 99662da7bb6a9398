"""Ensembles: ``K`` networks of one shape, trained together as one wider LSTM.

Member ``m`` owns hidden units ``m*H .. (m+1)*H`` of every layer and direction, and the
head's output rows ``m*O .. (m+1)*O``. Its weights connect only its own units (every
member reads all the inputs), so the wide network's weights are block-diagonal, and a
gradient mask (:func:`mask`) keeps them so while training: each member is exactly an
LSTM of hidden size ``H`` (its own seed's initialisation), and one kernel call advances
all of them. The loss is the mean of the members' losses (the targets are repeated for
each member); the forecast is the mean of the members' forecasts (:func:`combine`).

The wide network is an ordinary LSTM with hidden size ``K*H`` and ``K*O`` outputs, so
the model file, ``update`` and the ONNX graph need nothing new but the mean. The
kernels, told the number of members (``Net(..., members=K)``), multiply only the
members' recurrent blocks, so that product grows with ``K``, not ``K**2``; the input
product of stacked layers (``weight_ih_l1`` and up) is still the dense one (measured in
``benchmarks/speed/ensemble_cost.py``). Pure numpy, over PyTorch-named arrays.
"""

from __future__ import annotations

import numpy as np

from lstmcast.nn.network import Spec


def _columns(m: int, H: int, K: int, directions: int, width: int) -> np.ndarray:
    """Wide column indices of member ``m``'s ``width`` input columns: the shared inputs
    (layer 0: ``width`` is the input size, every member reads them all) or the previous
    layer's outputs (forward units, then reverse units)."""
    if width != directions * H:
        raise ValueError("not a member's layer input")
    return np.concatenate([d * K * H + m * H + np.arange(H) for d in range(directions)])


def _future_columns(spec: Spec, K: int, m: int) -> np.ndarray:
    """Wide ``future.weight`` columns of member ``m``'s (``spec`` is a member's): per step,
    the shared covariates, then the member's block of the K members' tanh units."""
    if not spec.future_hidden:
        return np.arange(spec.future_size)
    kf, kh = spec.future_inputs, spec.future_hidden
    steps = spec.future_size // kf
    per_step = kf + K * kh
    return np.concatenate([np.r_[h * per_step + np.arange(kf), h * per_step + kf + m * kh + np.arange(kh)]
                           for h in range(steps)])


def stack(members: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The wide network's parameters from the members' (all of one Spec)."""
    spec = Spec.from_params(members[0])
    K, H, O, D = len(members), spec.hidden_size, spec.output_size, spec.directions
    wide = Spec(spec.input_size, K * H, spec.num_layers, K * O, spec.bidirectional, spec.future_size,
                K * spec.future_hidden, spec.future_inputs)
    out = {name: np.zeros(shape, dtype=members[0][name].dtype) for name, shape in wide.shapes().items()}
    for m, p in enumerate(members):
        rows = np.concatenate([q * K * H + m * H + np.arange(H) for q in range(4)])  # gates i, f, g, o
        for name, a in p.items():
            if name == "future.weight":  # reads the shared covariates (and the member's own tanh units)
                out[name][np.ix_(m * O + np.arange(O), _future_columns(spec, K, m))] = a
            elif name.startswith("future.hidden."):
                out[name][m * spec.future_hidden + np.arange(spec.future_hidden)] = a
            elif name.startswith("head."):
                r = m * O + np.arange(O)
                if name == "head.bias":
                    out[name][r] = a
                else:
                    out[name][np.ix_(r, _columns(m, H, K, D, a.shape[1]))] = a
            elif name.startswith("bias_"):
                out[name][rows] = a
            elif name.startswith("weight_hh"):
                out[name][np.ix_(rows, m * H + np.arange(H))] = a
            else:  # weight_ih: layer 0 reads every input; later layers their member's units
                cols = (np.arange(a.shape[1]) if name.startswith("weight_ih_l0")
                        else _columns(m, H, K, D, a.shape[1]))
                out[name][np.ix_(rows, cols)] = a
    return out


def member(wide: dict[str, np.ndarray], K: int, m: int) -> dict[str, np.ndarray]:
    """Member ``m``'s own parameters, cut out of the wide network's."""
    spec = Spec.from_params(wide)
    H, O, D = spec.hidden_size // K, spec.output_size // K, spec.directions
    rows = np.concatenate([q * K * H + m * H + np.arange(H) for q in range(4)])
    out = {}
    one = Spec(spec.input_size, H, spec.num_layers, O, spec.bidirectional, spec.future_size,
               spec.future_hidden // K, spec.future_inputs)
    for name, a in wide.items():
        if name == "future.weight":
            out[name] = a[np.ix_(m * O + np.arange(O), _future_columns(one, K, m))]
        elif name.startswith("future.hidden."):
            out[name] = a[m * one.future_hidden + np.arange(one.future_hidden)]
        elif name.startswith("head."):
            r = m * O + np.arange(O)
            out[name] = a[r] if name == "head.bias" else a[np.ix_(r, _columns(m, H, K, D, D * H))]
        elif name.startswith("bias_"):
            out[name] = a[rows]
        elif name.startswith("weight_hh"):
            out[name] = a[np.ix_(rows, m * H + np.arange(H))]
        elif name.startswith("weight_ih_l0"):
            out[name] = a[rows]
        else:
            out[name] = a[np.ix_(rows, _columns(m, H, K, D, D * H))]
    return out


def mask(spec: Spec, K: int) -> dict[str, np.ndarray]:
    """1 where a wide parameter belongs to a member, 0 across members (``spec`` is the
    wide network's)."""
    H = spec.hidden_size // K
    member_spec = Spec(spec.input_size, H, spec.num_layers, spec.output_size // K, spec.bidirectional,
                       spec.future_size, spec.future_hidden // K, spec.future_inputs)
    ones = {name: np.ones(shape) for name, shape in member_spec.shapes().items()}
    return stack([ones] * K)


def combine(pred: np.ndarray, K: int) -> np.ndarray:
    """The members' mean forecast: (batch, K*O) -> (batch, O)."""
    if K == 1:
        return pred
    return pred.reshape(len(pred), K, -1).mean(axis=1)
