"""The LSTM network: named parameters, initialisation, forward pass, loss and gradients.

Owns the mapping between PyTorch-named parameter arrays and the flat buffers the
kernels in :mod:`lstmcast.nn.kernels` work on. Names, shapes and gate order are those of a
``torch.nn.LSTM(batch_first=True)`` followed by ``torch.nn.Linear`` called ``head``::

    weight_ih_l{k}[_reverse] (4H, I_k)   weight_hh_l{k}[_reverse] (4H, H)
    bias_ih_l{k}[_reverse]   (4H,)       bias_hh_l{k}[_reverse]   (4H,)
    head.weight (O, D*H)                 head.bias (O,)
    future.weight (O, W)                 (only with future-known covariates, F > 0)
    future.hidden.weight (Kh, Kf)        future.hidden.bias (Kh,)   (with tanh units, Kh > 0)

The head reads the final hidden states of the last layer (for a bidirectional network,
the forward direction's state after the last step and the reverse direction's after
the first, concatenated: ``torch.cat([h_n[-2], h_n[-1]], 1)``).

Future-known covariates (values known for the forecast steps: a promotion, a holiday, a
temperature forecast) enter the output directly: ``out = head(h) + future(u)`` with
``future = torch.nn.Linear(W, O, bias=False)``. ``f`` (batch, F) holds the covariates of
every horizon step, flattened step-major (Kf a step); ``u`` is ``f`` itself, or, with
``Kh`` tanh units, each step's covariates beside ``tanh(future.hidden(covariates))``
(``future.hidden = torch.nn.Linear(Kf, Kh)``, shared by the steps; W = steps * (Kf + Kh)).
The kernels compute ``head(h)``; the future block is done here in numpy around them: the
kernels are given the targets minus ``future(u)`` (every loss is a function of the
error, so the loss and the LSTM's gradients are exactly those of the whole network), and
the block's gradient is ``dL/dout.T @ u``, then back through the tanh units.

A missing target (NaN in ``y``) is masked out of the loss: the kernels give it no
error and no gradient, and the loss is the mean over the observed targets.

Plain functions (``init_params``, ``forward``, ``loss_and_grad``) take and return dicts
of arrays. :class:`Net` keeps the parameters in one flat vector with a reusable
workspace, which is what the training loop uses.

The Numba kernels are imported on first use: a forecast of a few windows runs the
plain-numpy forward pass (:meth:`Net.predict`), so ``lstmcast forecast`` never loads
Numba or SciPy.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from lstmcast.nn import losses

NUMPY_PREDICT_MAX = 16  # predict() batches up to this size run in numpy, not the kernels
DTYPES = (np.float32, np.float64)


@dataclass(frozen=True)
class Spec:
    """The architecture: everything needed to know every parameter's name and shape."""

    input_size: int
    hidden_size: int
    num_layers: int
    output_size: int
    bidirectional: bool = False
    future_size: int = 0  # F: inputs of the future block (0: no block)
    future_hidden: int = 0  # Kh: tanh units each step's covariates also pass through (0: linear block)
    future_inputs: int = 0  # Kf: covariates per step (with future_hidden; F = steps * Kf)

    @property
    def future_width(self) -> int:
        """Columns of ``future.weight``: per step, the covariates and their tanh units."""
        if not self.future_hidden:
            return self.future_size
        return self.future_size // self.future_inputs * (self.future_inputs + self.future_hidden)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter names and shapes in PyTorch's state_dict order."""
        H, D = self.hidden_size, self.directions
        out: dict[str, tuple[int, ...]] = {}
        for k in range(self.num_layers):
            fan_in = self.input_size if k == 0 else D * H
            for suffix in ("", "_reverse")[:D]:
                out[f"weight_ih_l{k}{suffix}"] = (4 * H, fan_in)
                out[f"weight_hh_l{k}{suffix}"] = (4 * H, H)
                out[f"bias_ih_l{k}{suffix}"] = (4 * H,)
                out[f"bias_hh_l{k}{suffix}"] = (4 * H,)
        out["head.weight"] = (self.output_size, D * H)
        out["head.bias"] = (self.output_size,)
        if self.future_size:
            if self.future_hidden:
                out["future.hidden.weight"] = (self.future_hidden, self.future_inputs)
                out["future.hidden.bias"] = (self.future_hidden,)
            out["future.weight"] = (self.output_size, self.future_width)
        return out

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray]) -> "Spec":
        """Read the architecture off a parameter dict, checking every name and shape."""
        try:
            four_h, input_size = params["weight_ih_l0"].shape
            output_size = params["head.bias"].shape[0]
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(f"not an lstmcast parameter set: {exc}") from None
        num_layers = sum(1 for name in params if name.startswith("weight_ih_l")
                         and not name.endswith("_reverse"))
        future = params.get("future.weight")
        width = int(np.shape(future)[1]) if future is not None and np.ndim(future) == 2 else 0
        hidden = params.get("future.hidden.weight")
        kh, kf = (int(np.shape(hidden)[0]), int(np.shape(hidden)[1])) if hidden is not None and np.ndim(
            hidden) == 2 else (0, 0)
        size = width // (kf + kh) * kf if kh and kf + kh else width
        spec = cls(input_size, four_h // 4, num_layers, output_size,
                   "weight_ih_l0_reverse" in params, size, kh, kf)
        expected = spec.shapes()
        got = {name: tuple(np.shape(a)) for name, a in params.items()}
        if got != expected:
            bad = sorted(set(got.items()) ^ set(expected.items()))
            raise ValueError(f"parameters do not form an LSTM: mismatch at {bad[:3]}")
        return spec

    def offsets(self) -> tuple[dict[str, int], int]:
        """Offset of each parameter inside the flat vector, and the vector's length."""
        pos, out = 0, {}
        for name, shape in self.shapes().items():
            out[name] = pos
            pos += int(np.prod(shape))
        return out, pos

    def layout(self) -> np.ndarray:
        """The kernels' (L*D, 5) table: offsets of w_ih, w_hh, b_ih, b_hh and the input size."""
        offs, _ = self.offsets()
        shapes = self.shapes()
        rows = []
        for k in range(self.num_layers):
            for suffix in ("", "_reverse")[: self.directions]:
                w = f"weight_ih_l{k}{suffix}"
                rows.append([offs[w], offs[f"weight_hh_l{k}{suffix}"], offs[f"bias_ih_l{k}{suffix}"],
                             offs[f"bias_hh_l{k}{suffix}"], shapes[w][1]])
        return np.asarray(rows, dtype=np.int64)


def init_params(input_size: int, hidden_size: int, num_layers: int, output_size: int,
                seed: int = 0, dtype=np.float32, bidirectional: bool = False,
                future_size: int = 0, future_hidden: int = 0, future_inputs: int = 0) -> dict[str, np.ndarray]:
    """PyTorch-style initialisation: every array uniform(-1/sqrt(fan), 1/sqrt(fan)).

    fan is the hidden size for the LSTM, the head's input size for the head and F for
    the future block. The forget gate's bias starts at 1 (``bias_ih`` forget slice = 1,
    ``bias_hh`` = 0), so the cell state remembers by default.
    """
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers), ("output_size", output_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if int(future_size) != future_size or future_size < 0:
        raise ValueError(f"future_size must be a whole number of 0 or more, got {future_size!r}")
    if future_hidden and (not future_inputs or future_size % future_inputs):
        raise ValueError("a future block with tanh units needs future_inputs dividing future_size")
    spec = Spec(int(input_size), int(hidden_size), int(num_layers), int(output_size), bool(bidirectional),
                int(future_size), int(future_hidden), int(future_inputs) if future_hidden else 0)
    dtype = _check_dtype(dtype)
    rng = np.random.default_rng(seed)
    H = spec.hidden_size
    params = {}
    for name, shape in spec.shapes().items():
        fan = (spec.directions * H if name.startswith("head")
               else spec.future_inputs if name.startswith("future.hidden")
               else spec.future_width if name.startswith("future") else H)
        bound = 1.0 / np.sqrt(fan)
        params[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
        if name.startswith("bias_ih"):
            params[name][H:2 * H] = 1.0
        elif name.startswith("bias_hh"):
            params[name][H:2 * H] = 0.0
    return params


def forward(params: dict[str, np.ndarray], x: np.ndarray, f: np.ndarray | None = None) -> np.ndarray:
    """Predictions (batch, output_size) for inputs x (batch, time, features) and, with a
    future block, its inputs f (batch, F)."""
    net = Net.from_params(params)
    return net.predict(x, f=f)


def loss_and_grad(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                  loss: str = "mse", *, f: np.ndarray | None = None, dropout: float = 0.0,
                  seed: int | None = None, members: int = 1) -> tuple[float, dict[str, np.ndarray]]:
    """Mean loss over the observed (not NaN) elements of y (batch, output_size) and its
    exact gradient.

    Full backpropagation through time over the whole window. ``dropout`` applies
    between stacked layers (training only), with masks drawn from ``seed``. ``members``:
    see :class:`Net` (the gradient across members is then zero).
    """
    net = Net.from_params(params, members)
    rng = np.random.default_rng(seed) if dropout > 0 else None
    value, flat = net.loss_and_grad(x, y, loss, f=f, dropout=dropout, rng=rng)
    return value, net.unflatten(flat.copy())


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow: 0.5 * (1 + tanh(z / 2)), in z's dtype."""
    half = z.dtype.type(0.5)
    return half + half * np.tanh(half * z)


def _check_dtype(dtype) -> type:
    dtype = np.dtype(dtype).type
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype).name}")
    return dtype


_BLAS_LOCK = threading.Lock()
_BLAS_LIMITED = False
_POOL: ThreadPoolExecutor | None = None


def num_threads() -> int:
    """Threads the kernels use: LSTMCAST_THREADS, else the CPUs this process may run on."""
    env = os.environ.get("LSTMCAST_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _BLAS_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(1, num_threads() - 1),
                                       thread_name_prefix="lstmcast")
    return _POOL


def _one_blas_thread() -> None:
    """Make every BLAS library in the process run one thread, once, for good.

    The kernels split each batch over their own threads, each calling single-threaded
    BLAS; a multithreaded BLAS would oversubscribe the cores, and a BLAS thread pool
    woken by any numpy call busy-waits on the core a kernel thread needs (measured:
    a 2-thread step took as long as a 1-thread one). Set once, not per batch: switching
    the limit around every batch made the 2-layer benchmark step 34.5 ms instead of 23.9.
    The limit is process-wide and stays: a program that trains with lstmcast and then
    wants multithreaded numpy sets it back with ``threadpoolctl``.
    """
    global _BLAS_LIMITED
    with _BLAS_LOCK:
        if not _BLAS_LIMITED:
            import scipy.linalg.cython_blas  # noqa: F401  (load the BLAS Numba calls first)
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
            _BLAS_LIMITED = True


class Net:
    """Parameters in one flat vector, named views onto it, and a reusable workspace.

    ``theta`` is the flat vector; ``params`` maps PyTorch names to views of it, so
    writing into ``theta`` (the optimiser does) updates ``params`` and vice versa.
    ``members`` > 1: the network is an ensemble of that many members whose recurrent
    weights are block-diagonal (:mod:`lstmcast.model.ensemble`); the kernels then skip the
    zero blocks across members and give them a zero gradient.
    """

    def __init__(self, spec: Spec, theta: np.ndarray, members: int = 1):
        if members < 1 or spec.hidden_size % members:
            raise ValueError(f"{members} members do not divide a hidden size of {spec.hidden_size}")
        self.members = members
        self.spec = spec
        self.theta = theta
        self.dtype = theta.dtype.type
        self._offsets, self.size = spec.offsets()
        if theta.shape != (self.size,):
            raise ValueError(f"flat parameter vector has shape {theta.shape}, expected ({self.size},)")
        self.params = self.unflatten(theta)
        self._layout = spec.layout()
        self._ws_key = None

    @classmethod
    def from_params(cls, params: dict[str, np.ndarray], members: int = 1) -> "Net":
        spec = Spec.from_params(params)
        dtypes = {np.asarray(a).dtype for a in params.values()}
        if len(dtypes) != 1:
            raise ValueError(f"parameters mix dtypes {sorted(str(d) for d in dtypes)}")
        dtype = _check_dtype(dtypes.pop())
        offs, size = spec.offsets()
        theta = np.empty(size, dtype=dtype)
        for name, shape in spec.shapes().items():
            theta[offs[name]:offs[name] + int(np.prod(shape))] = np.asarray(params[name]).ravel()
        return cls(spec, theta, members)

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views of a flat vector laid out like ``theta``."""
        out = {}
        for name, shape in self.spec.shapes().items():
            o = self._offsets[name]
            out[name] = flat[o:o + int(np.prod(shape))].reshape(shape)
        return out

    # ------------------------------------------------------------------ running

    def _workspace(self, B: int, T: int):
        from lstmcast.nn import kernels

        nch = max(1, min(num_threads(), B))
        key = (B, T, nch)
        if self._ws_key != key:
            s = self.spec
            Bc = -(-B // nch)
            off = kernels.workspace_offsets(T, Bc, s.input_size, s.hidden_size, s.num_layers,
                                            s.directions, s.output_size)
            self._ws = np.zeros((nch, int(off[-1])), dtype=self.dtype)
            self._off = off
            self._grads = np.zeros((nch, self.size), dtype=self.dtype)
            self._grad = np.zeros(self.size, dtype=self.dtype)
            self._losses = np.zeros(nch, dtype=self.dtype)
            self._pred = np.zeros((B, s.output_size), dtype=self.dtype)
            self._ws_key = key
        return self._ws

    def _check_x(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if x.ndim != 3 or x.shape[2] != self.spec.input_size or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x must be (batch, time, {self.spec.input_size}), got {x.shape}")
        return x

    def _kernel_args(self, x, y, loss_code, delta, masks, want_grad):
        """The arguments of ``kernels.forward`` and of ``kernels.backward`` (None without
        want_grad), after ``ci``; the workspace sized for x."""
        s = self.spec
        ws = self._workspace(x.shape[0], x.shape[1])
        use_masks = masks is not None
        if masks is None:
            masks = np.zeros((0, 0, 0, 0), dtype=self.dtype)
        head_w = self._offsets["head.weight"]
        head_b = self._offsets["head.bias"]
        members = None if self.members == 1 else self.members
        fwd = (self.theta, self._losses, self._layout, s.hidden_size, members,
               s.num_layers, s.directions, head_w, head_b, s.output_size, x, y,
               loss_code, self.dtype(delta), masks, use_masks, ws, self._off,
               self._pred, want_grad)
        bwd = (self.theta, self._grads, self._layout, s.hidden_size, members, s.num_layers,
               s.directions, head_w, head_b, s.output_size, x, masks, use_masks, ws, self._off)
        return fwd, (bwd if want_grad else None)

    def _run(self, x, y, loss_code, delta, masks, want_grad):
        from lstmcast.nn import kernels

        fwd, bwd = self._kernel_args(x, y, loss_code, delta, masks, want_grad)

        def chunk(ci):
            kernels.forward(ci, *fwd)
            if bwd is not None:
                kernels.backward(ci, *bwd)

        nch = self._ws.shape[0]
        _one_blas_thread()
        # chunks 1.. on worker threads, chunk 0 on this one; the kernels release the GIL
        futures = [_pool().submit(chunk, ci) for ci in range(1, nch)]
        chunk(0)
        for f in futures:
            f.result()

    def _check_f(self, f: np.ndarray | None, batch: int) -> np.ndarray | None:
        F = self.spec.future_size
        if F == 0:
            if f is not None:
                raise ValueError("the network has no future block: f must be None")
            return None
        if f is None:
            raise ValueError(f"the network has a future block: f must be ({batch}, {F})")
        f = np.ascontiguousarray(f, dtype=self.dtype)
        if f.shape != (batch, F):
            raise ValueError(f"f must be ({batch}, {F}), got {f.shape}")
        return f

    def _future_units(self, f: np.ndarray) -> tuple[np.ndarray, tuple | None]:
        """What ``future.weight`` reads: f itself, or per step the covariates and their tanh
        units ``tanh(f_step @ future.hidden.weight.T + future.hidden.bias)``; and the
        (per-step covariates, tanh units) the gradient needs."""
        s = self.spec
        if not s.future_hidden:
            return f, None
        f3 = f.reshape(len(f), -1, s.future_inputs)
        g = np.tanh(f3 @ self.params["future.hidden.weight"].T + self.params["future.hidden.bias"])
        return np.concatenate([f3, g], axis=2).reshape(len(f), -1), (f3, g)

    def _future_out(self, f: np.ndarray | None) -> np.ndarray | None:
        """The future block's share of the output, units(f) @ future.weight.T (None without one)."""
        return None if f is None else self._future_units(f)[0] @ self.params["future.weight"].T

    def predict(self, x: np.ndarray, batch_size: int = 1024, engine: str = "auto",
                f: np.ndarray | None = None) -> np.ndarray:
        """Predictions (batch, output_size), computed in batches of ``batch_size``;
        ``f`` (batch, F): the future block's inputs, for a network with one.

        ``engine``: "numpy", "kernels", or "auto": numpy for up to NUMPY_PREDICT_MAX
        windows (nothing to JIT-load), the kernels for more.
        """
        x = self._check_x(x)
        f = self._check_f(f, x.shape[0])
        if engine not in ("auto", "numpy", "kernels"):
            raise ValueError(f"engine must be auto, numpy or kernels, got {engine!r}")
        if engine == "numpy" or (engine == "auto" and len(x) <= NUMPY_PREDICT_MAX):
            return self.predict_numpy(x, f)
        out = np.empty((x.shape[0], self.spec.output_size), dtype=self.dtype)
        dummy = np.zeros((1, 1), dtype=self.dtype)
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size]
            self._run(xb, dummy, 0, 1.0, None, False)
            out[start:start + len(xb)] = self._pred
        if f is not None:
            out += self._future_out(f)
        return out

    def predict_numpy(self, x: np.ndarray, f: np.ndarray | None = None) -> np.ndarray:
        """The forward pass in plain numpy, step by step (for a few windows)."""
        s, p = self.spec, self.params
        dt = self.dtype
        x = np.asarray(x, dtype=dt)
        B, T, _ = x.shape
        H = s.hidden_size
        layer_in, finals = x, []
        for k in range(s.num_layers):
            outs, finals = [], []
            for suffix, steps in (("", range(T)), ("_reverse", range(T - 1, -1, -1)))[:s.directions]:
                w_hh = p[f"weight_hh_l{k}{suffix}"].T
                proj = layer_in @ p[f"weight_ih_l{k}{suffix}"].T + (
                    p[f"bias_ih_l{k}{suffix}"] + p[f"bias_hh_l{k}{suffix}"])
                h = np.zeros((B, H), dt)
                c = np.zeros((B, H), dt)
                seq = np.empty((B, T, H), dt)
                for t in steps:
                    g = proj[:, t] + h @ w_hh
                    gi, gf, go = (_sigmoid(g[:, a * H:(a + 1) * H]) for a in (0, 1, 3))
                    c = gf * c + gi * np.tanh(g[:, 2 * H:3 * H])
                    h = go * np.tanh(c)
                    seq[:, t] = h
                outs.append(seq)
                finals.append(h)
            layer_in = np.concatenate(outs, axis=2) if len(outs) > 1 else outs[0]
        last = np.concatenate(finals, axis=1) if len(finals) > 1 else finals[0]
        out = last @ p["head.weight"].T + p["head.bias"]
        if s.future_size:
            out = out + self._future_out(self._check_f(f, B))
        return out.astype(dt)

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray, loss: str = "mse", *,
                      f: np.ndarray | None = None, dropout: float = 0.0,
                      rng: np.random.Generator | None = None) -> tuple[float, np.ndarray]:
        """Mean loss over the observed (not NaN) targets and the flat gradient (a buffer
        reused by the next call). ``f``: the future block's inputs (see the module
        docstring)."""
        code = losses.get(loss).code
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        x = self._check_x(x)
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if y.shape != (x.shape[0], self.spec.output_size):
            raise ValueError(f"y must be ({x.shape[0]}, {self.spec.output_size}), got {y.shape}")
        f = self._check_f(f, x.shape[0])
        observed = ~np.isnan(y)
        n_obs = int(observed.sum())
        if f is not None:  # the kernels fit the LSTM's share: y - future(f)
            y = (y - self._future_out(f)).astype(self.dtype)
        masks = None
        s = self.spec
        if dropout > 0 and s.num_layers > 1:
            if rng is None:
                raise ValueError("dropout needs a random generator")
            keep = rng.random((s.num_layers - 1, x.shape[1], x.shape[0], s.directions * s.hidden_size))
            masks = ((keep >= dropout) / (1.0 - dropout)).astype(self.dtype)
        self._run(x, y, code, losses.HUBER_DELTA, masks, True)
        np.sum(self._grads, axis=0, out=self._grad)  # the chunks' shares, in a fixed order
        value = float(self._losses.astype(np.float64).sum())
        if f is not None:  # d loss / d out, as the kernels compute it, times f
            err = np.where(observed, self._pred - y, 0).astype(self.dtype)
            dout = losses.gradient(code, err, losses.HUBER_DELTA) / self.dtype(y.size)
            u, parts = self._future_units(f)
            o = self._offsets["future.weight"]
            self._grad[o:o + y.shape[1] * s.future_width] = (dout.T @ u).ravel()
            if parts is not None:  # back through the tanh units
                f3, g = parts
                du = (dout @ self.params["future.weight"]).reshape(len(f), -1, s.future_inputs + s.future_hidden)
                dz = (du[:, :, s.future_inputs:] * (1 - g * g)).reshape(-1, s.future_hidden)
                o = self._offsets["future.hidden.weight"]
                self._grad[o:o + s.future_hidden * s.future_inputs] = (dz.T @ f3.reshape(-1, s.future_inputs)).ravel()
                o = self._offsets["future.hidden.bias"]
                self._grad[o:o + s.future_hidden] = dz.sum(axis=0)
        if n_obs < y.size:  # the kernels divided by every element: rescale to the observed
            if n_obs == 0:
                self._grad[:] = 0
                return 0.0, self._grad
            self._grad *= self.dtype(y.size / n_obs)
            value *= y.size / n_obs
        return value, self._grad
