"""The network as ONNX nodes: the standard ``LSTM`` operator per layer, then the head.

Owns the translation from lstmcast's PyTorch-named parameters (:mod:`lstmcast.nn.network`)
to ONNX: per layer, ``W`` (D, 4H, I), ``R`` (D, 4H, H) and ``B`` (D, 8H) = [Wb; Rb],
with the gates reordered from PyTorch's i, f, g, o to ONNX's i, o, f, c, and
``direction="bidirectional"`` for a bidirectional network (forward first, as in
PyTorch's ``_reverse`` naming). Layer ``k`` reads layer ``k - 1``'s outputs, both
directions concatenated per step; the head (``Gemm``) reads the last layer's final hidden
states ``Y_h``: the forward direction's after the last step and the reverse direction's
after the first, concatenated, which is exactly what :meth:`Net.predict_numpy` feeds it.

ONNX's ``LSTM`` runs time-major (``layout=0``): onnxruntime 1.32 refuses the batch-major
``layout=1`` on CPU, so the window is transposed to (time, batch, inputs) first.

Also :class:`Graph`, the small builder of nodes with generated names the rest of the
export is drawn with. Pure arrays in, ``onnx`` protos out; ``onnx`` is imported inside the
functions, so the rest of lstmcast never needs it. No pandas, prep/ or model/ here.
"""

from __future__ import annotations

import numpy as np

from lstmcast.errors import UsageError
from lstmcast.nn.network import Spec

OPSET = 17  # ReduceMean still takes its axes as an attribute; onnxruntime >= 1.13 runs it
IR_VERSION = 8  # the IR version of opset 17: runtimes back to onnxruntime 1.13 load the file
# PyTorch's gate blocks are i, f, g, o; ONNX's are i, o, f, c (c is PyTorch's g)
GATES_TO_ONNX = (0, 3, 1, 2)


def require_onnx():
    """The ``onnx`` module, or a UsageError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise UsageError("ONNX export needs the onnx package: pip install 'lstmcast[onnx]'") from None
    return onnx


class Graph:
    """Nodes and initializers with generated names; each op has one output (what
    :mod:`lstmcast.model.export` draws the graph around the network with)."""

    def __init__(self):
        self.nodes, self.inits, self._count = [], [], 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value, name: str | None = None) -> str:
        from onnx import numpy_helper

        name = self._name("const") if name is None else name
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def ints(self, value) -> str:
        """An int64 constant (indices, axes, shapes, integer arithmetic)."""
        return self.const(np.array(value, np.int64))

    def op(self, op_type: str, *inputs: str, name: str | None = None, **attrs) -> str:
        from onnx import helper

        out = self._name(op_type.lower()) if name is None else name
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def slice(self, x: str, start: int, end: int, axis: int) -> str:
        return self.op("Slice", x, self.const(np.array([start], np.int64)),
                       self.const(np.array([end], np.int64)), self.const(np.array([axis], np.int64)))


def reorder_gates(a: np.ndarray, hidden: int) -> np.ndarray:
    """Rows of a (4H, ...) PyTorch weight or (4H,) bias in ONNX gate order."""
    return np.concatenate([a[g * hidden:(g + 1) * hidden] for g in GATES_TO_ONNX], axis=0)


def layer_arrays(params: dict[str, np.ndarray], spec: Spec, k: int) -> tuple[np.ndarray, ...]:
    """ONNX ``W``, ``R``, ``B`` of layer ``k`` as float32 arrays."""
    H = spec.hidden_size
    W, R, B = [], [], []
    for suffix in ("", "_reverse")[:spec.directions]:
        W.append(reorder_gates(np.asarray(params[f"weight_ih_l{k}{suffix}"]), H))
        R.append(reorder_gates(np.asarray(params[f"weight_hh_l{k}{suffix}"]), H))
        B.append(np.concatenate([reorder_gates(np.asarray(params[f"bias_ih_l{k}{suffix}"]), H),
                                 reorder_gates(np.asarray(params[f"bias_hh_l{k}{suffix}"]), H)]))
    return tuple(np.stack(a).astype(np.float32) for a in (W, R, B))


def network_nodes(params: dict[str, np.ndarray], x: str, out: str, prefix: str = "net/"):
    """Nodes and initializers computing ``out`` (batch, output_size) from ``x`` (batch,
    time, input_size), both float32. Names made here start with ``prefix``."""
    require_onnx()
    from onnx import helper, numpy_helper

    spec = Spec.from_params(params)
    H, D = spec.hidden_size, spec.directions
    nodes, inits = [], []

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), prefix + name))
        return prefix + name

    seq = prefix + "x_time_major"
    nodes.append(helper.make_node("Transpose", [x], [seq], perm=[1, 0, 2]))
    last_h = ""
    for k in range(spec.num_layers):
        W, R, B = layer_arrays(params, spec, k)
        y, y_h = f"{prefix}l{k}/Y", f"{prefix}l{k}/Y_h"
        nodes.append(helper.make_node(
            "LSTM", [seq, const(f"l{k}/W", W), const(f"l{k}/R", R), const(f"l{k}/B", B)], [y, y_h],
            hidden_size=H, direction="bidirectional" if D == 2 else "forward", layout=0))
        last_h = y_h
        if k + 1 < spec.num_layers:  # Y (T, D, B, H) -> (T, B, D*H): directions side by side
            nodes.append(helper.make_node("Transpose", [y], [y + "_tbdh"], perm=[0, 2, 1, 3]))
            seq = f"{prefix}l{k + 1}/input"
            shape = const(f"l{k}/seq_shape", np.array([0, 0, D * H], np.int64))
            nodes.append(helper.make_node("Reshape", [y + "_tbdh", shape], [seq]))
    # Y_h (D, B, H) -> (B, D*H): [forward after the last step, reverse after the first]
    nodes.append(helper.make_node("Transpose", [last_h], [prefix + "h_bdh"], perm=[1, 0, 2]))
    shape = const("last_shape", np.array([0, D * H], np.int64))
    nodes.append(helper.make_node("Reshape", [prefix + "h_bdh", shape], [prefix + "last"]))
    weight = const("head/weight", np.asarray(params["head.weight"], np.float32))
    bias = const("head/bias", np.asarray(params["head.bias"], np.float32))
    nodes.append(helper.make_node("Gemm", [prefix + "last", weight, bias], [out], transB=1))
    return nodes, inits


def network_model(params: dict[str, np.ndarray], opset: int = OPSET):
    """The network alone as a checked ModelProto: input ``x`` float32 (batch, time,
    input_size), output ``y`` float32 (batch, output_size); ``time`` may vary per call."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    spec = Spec.from_params(params)
    nodes, inits = network_nodes(params, "x", "y")
    graph = helper.make_graph(
        nodes, "lstmcast_network",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", spec.input_size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", spec.output_size])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="lstmcast", ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model
