"""Numba kernels: the LSTM forward pass, backpropagation through time, and Adam.

This module owns the arithmetic and nothing else: it imports numpy and numba only and
works on flat, preallocated buffers. `network.py` builds those buffers and gives them
names.

Layout
------
All parameters live in one flat vector ``theta`` in PyTorch's ``state_dict`` order. The
int64 table ``layout`` has one row per (layer, direction) with the offsets of
``weight_ih`` (4H, In), ``weight_hh`` (4H, H), ``bias_ih`` (4H), ``bias_hh`` (4H) and
the input size ``In``. Gate order inside the 4H rows is PyTorch's: input, forget, cell
candidate, output.

Work is split over the batch: ``forward`` and then ``backward`` do the whole forward
pass and BPTT for one chunk of rows with single-threaded BLAS (``np.dot``) and its own
workspace row, and release the GIL, so the caller runs one chunk per core on plain
threads; the cores never wait for each other inside a sequence. Per-chunk gradients are
summed afterwards in a fixed order. (Numba's ``parallel=True`` did the same job but added
~10 s to the first compilation and an OpenMP runtime that spins against other
libraries' threads.)

Compilation is what a newcomer waits for (about 9 s of CPU for a fit's kernels), and
Numba compiles one function at a time per process. So the work is split between two
entry points, called one after the other from Python, which :mod:`lstmcast.nn.warmup`
compiles in two processes at once; a process that only predicts compiles ``forward``
alone. The call graph stays shallow: Numba compiles a jitted callee on its own and again
inside each caller, so every level of jitted calls adds its callees' compilation once
more. Helpers that only jitted code calls get no CPython or C wrapper (``_INNER``).

Inside a chunk, buffers are time-major, ``(T, Bc, .)``. For a direction's hidden and
cell states the buffer has T+1 slots: the forward direction reads its previous state
at slot t and writes slot t+1; the reverse direction reads slot t+1 and writes slot t.
So a layer's output for time t sits at ``h[t+1]`` (forward) or ``h[t]`` (reverse), and
weight gradients are single GEMMs over contiguous slices after the backward sweep.

Compiled code is cached (``cache=True``) in a per-user folder keyed by the lstmcast,
Python and Numba versions, never inside the installed package (:mod:`lstmcast.nn.jitcache`). All jitted functions
live in this one file on purpose: Numba invalidates its cache per source file, so a
jitted function inlined from another file would survive that file's edits in stale
cache entries.

The gate nonlinearities are written so that LLVM vectorises them (no SVML needed):
``exp(-a)`` by Cody-Waite reduction, a Pade approximant and an exponent built with a
bitcast; accurate to about one ulp in float32 and float64. Every constant is cast to
the working dtype so float32 code never promotes to float64.
"""

from __future__ import annotations


from lstmcast.nn import jitcache

jitcache.configure()  # before Numba loads: where compiled code is cached

import numpy as np  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import njit  # noqa: E402
from numba.core import types
from numba.extending import intrinsic

LOSS_MSE, LOSS_MAE, LOSS_HUBER = 0, 1, 2

_JIT = dict(cache=True, error_model="numpy", nogil=True, no_cfunc_wrapper=True)
_INNER = dict(_JIT, no_cpython_wrapper=True)  # called from jitted code only


@intrinsic
def _pow2(typingctx, n):
    """2**n for an integer-valued float n in the normal range, in n's own float type."""
    if n not in (types.float32, types.float64):
        return None

    def codegen(context, builder, sig, args):
        if sig.return_type == types.float32:
            itype, bias, shift = ir.IntType(32), 127, 23
        else:
            itype, bias, shift = ir.IntType(64), 1023, 52
        k = builder.fptosi(args[0], itype)
        bits = builder.shl(builder.add(k, ir.Constant(itype, bias)), ir.Constant(itype, shift))
        return builder.bitcast(bits, context.get_value_type(sig.return_type))

    return n(n), codegen


@njit(**_INNER)
def _exp_neg(a):
    """exp(-a) for a >= 0 (a is clamped at 80, where exp(-a) ~ 1.8e-35)."""
    dt = type(a)
    v = min(a, dt(80.0))
    n = dt(np.int32(v * dt(1.4426950408889634) + dt(0.5)))
    r = n * dt(0.693145751953125) - v + n * dt(1.42860682030941723212e-6)
    rr = r * r
    px = r * ((dt(1.26177193074810590878e-4) * rr + dt(3.02994407707441961300e-2)) * rr
              + dt(9.99999999999999999910e-1))
    qx = ((dt(3.00198505138664455042e-6) * rr + dt(2.52448340349684104192e-3)) * rr
          + dt(2.27265548208155028766e-1)) * rr + dt(2.00000000000000000009e0)
    e = dt(1.0) + dt(2.0) * px / (qx - px)
    return e * _pow2(-n)


@njit(**_JIT)
def _sigmoid(x):
    dt = type(x)
    z = _exp_neg(abs(x))
    r = dt(1.0) / (dt(1.0) + z)
    return r if x >= dt(0.0) else z * r


@njit(**_JIT)
def _tanh(x):
    dt = type(x)
    ax = abs(x)
    # |x| >= 0.625: from exp; below, Cephes' rational form keeps relative accuracy near 0.
    z = _exp_neg(dt(2.0) * ax)
    big = (dt(1.0) - z) / (dt(1.0) + z)
    big = big if x >= dt(0.0) else -big
    x2 = x * x
    p = (dt(-9.64399179425052238628e-1) * x2 + dt(-9.92877231001918586564e1)) * x2 \
        + dt(-1.61468768441708447952e3)
    q = ((x2 + dt(1.12811678491632931402e2)) * x2 + dt(2.23548839060100448583e3)) * x2 \
        + dt(4.84406305325125486048e3)
    small = x + x * x2 * p / q
    return big if ax >= dt(0.625) else small


# --------------------------------------------------------------------------- workspace

# Regions of one chunk's workspace row, per (layer, direction) j and per layer k.
_N_SHARED = 10


def workspace_offsets(T, Bc, I, H, L, D, O):
    """Offsets of every region in one chunk's workspace; the last entry is the size.

    Per (layer, direction) j: gates (T,Bc,4H), cell (T+1,Bc,H), hidden (T+1,Bc,H),
    tanh(cell) (T,Bc,H). Per layer k >= 1: its input (T,Bc,D*H). Shared: layer-0 input
    (T,Bc,I), recurrent product (Bc,4H), gate gradients (T,Bc,4H), dh and dc (Bc,H),
    three input-gradient buffers (T,Bc,max In): from above, accumulated, one direction's,
    final hidden (Bc,D*H), prediction (Bc,O). Plain Python: it runs once per batch shape.
    """
    DH = D * H
    n = L * D * 4 + L + _N_SHARED + 1
    off = np.zeros(n, dtype=np.int64)
    pos = 0
    i = 0
    for _ in range(L * D):
        for size in (T * Bc * 4 * H, (T + 1) * Bc * H, (T + 1) * Bc * H, T * Bc * H):
            off[i] = pos
            pos += size
            i += 1
    for k in range(L):
        off[i] = pos
        pos += T * Bc * DH if k > 0 else 0
        i += 1
    in_max = max(I, DH)
    for size in (T * Bc * I, Bc * 4 * H, T * Bc * 4 * H, Bc * H, Bc * H,
                 T * Bc * in_max, T * Bc * in_max, T * Bc * in_max, Bc * DH, Bc * O):
        off[i] = pos
        pos += size
        i += 1
    off[i] = pos
    return off


# --------------------------------------------------------------------------- ensembles

# An ensemble of K members is one wide LSTM whose recurrent weights are block-diagonal:
# member m owns hidden units m*Hm .. (m+1)*Hm of every gate (Hm = H / K) and reads only
# its own units (lstmcast.model.ensemble). Given ``members`` (K; None for one network) the
# three recurrent products run per member on that member's block, gathered into
# contiguous scratch for BLAS: K times fewer multiply-adds than the dense GEMM. The
# weights across members are zero (a gradient mask keeps them so) and their gradient is
# written as zero. ``members`` is None or an int so that Numba prunes the branches it
# does not take at compile time: one network never compiles the block code (it would
# add about half to the first compilation).


@njit(**_INNER)
def _member_blocks(W, K, H, out, transpose):
    """Member blocks of a (4H, H) recurrent matrix into out: (K, 4Hm, Hm), gates in
    order, or (K, Hm, 4Hm) if transpose. (Element loops: an array assignment's shape
    check costs seconds of first compilation.)"""
    Hm = H // K
    for m in range(K):
        for q in range(4):
            for i in range(Hm):
                for j in range(Hm):
                    v = W[q * H + m * Hm + i, m * Hm + j]
                    if transpose:
                        out[m, j, q * Hm + i] = v
                    else:
                        out[m, q * Hm + i, j] = v


@njit(**_INNER)
def _gather_gates(a, m, K, H, out):
    """out (N,4Hm) = member m's gate columns of a (N,4H)."""
    Hm = H // K
    for r in range(a.shape[0]):
        for q in range(4):
            for i in range(Hm):
                out[r, q * Hm + i] = a[r, q * H + m * Hm + i]


@njit(**_INNER)
def _gather_units(a, m, K, H, out):
    """out (N,Hm) = member m's unit columns of a (N,H)."""
    Hm = H // K
    for r in range(a.shape[0]):
        for j in range(Hm):
            out[r, j] = a[r, m * Hm + j]


@njit(**_INNER)
def _block_hw(hp, WmT, out, K, H, hs, gs):
    """out (Bc,4H) = hp (Bc,H) @ Whh.T on the member blocks; WmT (K,Hm,4Hm) are the
    blocks transposed, hs (Bc,Hm) and gs (Bc,4Hm) scratch."""
    Hm = H // K
    for m in range(K):
        _gather_units(hp, m, K, H, hs)
        np.dot(hs, WmT[m], gs)
        for r in range(hp.shape[0]):
            for q in range(4):
                for i in range(Hm):
                    out[r, q * H + m * Hm + i] = gs[r, q * Hm + i]


@njit(**_INNER)
def _block_gw(dg, Wm, dh, K, H, gs, hs):
    """dh (Bc,H) = dg (Bc,4H) @ Whh on the member blocks; Wm (K,4Hm,Hm) the blocks,
    gs (Bc,4Hm) and hs (Bc,Hm) scratch."""
    Hm = H // K
    for m in range(K):
        _gather_gates(dg, m, K, H, gs)
        np.dot(gs, Wm[m], hs)
        for r in range(dg.shape[0]):
            for j in range(Hm):
                dh[r, m * Hm + j] = hs[r, j]


@njit(**_INNER)
def _block_grad(dg2, hp2, gw, K, H):
    """gw (4H,H) = dg2.T (4H,N) @ hp2 (N,H) on the member blocks, zero across members."""
    N = dg2.shape[0]
    Hm = H // K
    gs = np.empty((N, 4 * Hm), dg2.dtype)
    hs = np.empty((N, Hm), dg2.dtype)
    blk = np.empty((4 * Hm, Hm), dg2.dtype)
    zero = dg2.dtype.type(0.0)
    for r in range(4 * H):
        for j in range(H):
            gw[r, j] = zero
    for m in range(K):
        _gather_gates(dg2, m, K, H, gs)
        _gather_units(hp2, m, K, H, hs)
        np.dot(gs.T, hs, blk)
        for q in range(4):
            for i in range(Hm):
                for j in range(Hm):
                    gw[q * H + m * Hm + i, m * Hm + j] = blk[q * Hm + i, j]


# --------------------------------------------------------------------------- forward


@njit(**_INNER)
def _layer_forward(theta, row, x2, T, Bc, H, members, reverse, G, c, h, tc, tmp):
    """One direction of one layer over the whole window for one chunk.

    x2 is the layer input as (T*Bc, In); G receives the activated gates (T,Bc,4H).
    Hot loops index flat per-step views with unsigned integers: with signed indices
    Numba emits a negative-index wraparound that stops LLVM from vectorising.
    """
    dt = theta.dtype.type
    In = row[4]
    Wih = theta[row[0]:row[0] + 4 * H * In].reshape((4 * H, In))
    Whh = theta[row[1]:row[1] + 4 * H * H].reshape((4 * H, H))
    # BLAS is markedly faster with a C-contiguous right operand than with a transposed view
    WihT = np.ascontiguousarray(Wih.T)
    WhhT = np.ascontiguousarray(Whh.T)
    if members is not None:  # the member blocks, transposed, and scratch for one member's units and gates
        WmT = np.empty((members, H // members, 4 * (H // members)), theta.dtype)
        _member_blocks(Whh, members, H, WmT, True)
        hs = np.empty((Bc, H // members), theta.dtype)
        gs = np.empty((Bc, 4 * (H // members)), theta.dtype)
    bias = theta[row[2]:row[2] + 4 * H] + theta[row[3]:row[3] + 4 * H]
    G2 = G.reshape((T * Bc, 4 * H))
    u4H = np.uint64(4 * H)
    u3H = np.uint64(3 * H)
    u2H = np.uint64(2 * H)
    uH = np.uint64(H)
    gf = G.reshape(T * Bc * 4 * H)
    wf = WihT.reshape(In * 4 * H)
    xf = x2.reshape(T * Bc * In)
    uIn = np.uint64(In)
    if In <= 8:  # narrow inputs: a fused loop beats a GEMM with K = In
        for r in range(np.uint64(T * Bc)):
            a = r * u4H
            for j in range(u4H):
                gf[a + j] = bias[j]
            for k in range(uIn):
                xv = xf[r * uIn + k]
                w = k * u4H
                for j in range(u4H):
                    gf[a + j] += xv * wf[w + j]
    else:  # the input projection for all time steps in one GEMM
        np.dot(x2, WihT, G2)
        for r in range(np.uint64(T * Bc)):
            a = r * u4H
            for j in range(u4H):
                gf[a + j] += bias[j]
    zero = dt(0.0)
    first = T if reverse else 0
    h[first, :, :] = zero
    c[first, :, :] = zero
    tm = tmp.reshape(Bc * 4 * H)
    for s in range(T):
        t = T - 1 - s if reverse else s
        tp = t + 1 if reverse else t  # slot of the previous state
        tn = t if reverse else t + 1  # slot this step writes
        if members is None:
            np.dot(h[tp], WhhT, tmp)
        else:
            _block_hw(h[tp], WmT, tmp, members, H, hs, gs)
        gt = G[t].reshape(Bc * 4 * H)
        cp = c[tp].reshape(Bc * H)
        cn = c[tn].reshape(Bc * H)
        tcr = tc[t].reshape(Bc * H)
        hn = h[tn].reshape(Bc * H)
        for r in range(Bc):
            a = np.uint64(r) * u4H
            for j in range(a, a + u2H):
                gt[j] = _sigmoid(gt[j] + tm[j])
            for j in range(a + u2H, a + u3H):
                gt[j] = _tanh(gt[j] + tm[j])
            for j in range(a + u3H, a + u4H):
                gt[j] = _sigmoid(gt[j] + tm[j])
            o = np.uint64(r) * uH
            for j in range(uH):
                cn[o + j] = gt[a + uH + j] * cp[o + j] + gt[a + j] * gt[a + u2H + j]
        for k in range(np.uint64(Bc) * uH):
            tcr[k] = _tanh(cn[k])
        for r in range(Bc):
            a = np.uint64(r) * u4H + u3H
            o = np.uint64(r) * uH
            for j in range(uH):
                hn[o + j] = gt[a + j] * tcr[o + j]


@njit(**_INNER)
def _layer_backward(theta, grad, row, x2, T, Bc, H, members, reverse, G, c, h, tc,
                    dout, dcol, has_dout, dfinal, dG, dh, dc, dx2, want_dx):
    """BPTT for one direction of one layer; writes its weight gradients into ``grad``.

    dout (T,Bc,DH), columns dcol:dcol+H, is the gradient reaching this direction's
    output at every step (from the layer above); dfinal (Bc,H) reaches its final state
    (from the head). If want_dx, dx2 (T*Bc, In) receives the gradient of the input.
    """
    dt = theta.dtype.type
    one = dt(1.0)
    In = row[4]
    Wih = theta[row[0]:row[0] + 4 * H * In].reshape((4 * H, In))
    Whh = theta[row[1]:row[1] + 4 * H * H].reshape((4 * H, H))
    if members is not None:  # the member blocks and scratch (see _layer_forward)
        Wm = np.empty((members, 4 * (H // members), H // members), theta.dtype)
        _member_blocks(Whh, members, H, Wm, False)
        hs = np.empty((Bc, H // members), theta.dtype)
        gs = np.empty((Bc, 4 * (H // members)), theta.dtype)
    # element loops, not slice assignment: Numba's shape-mismatch message for an array
    # assignment costs ~3 s of first compilation (string formatting code)
    for r in range(Bc):
        for j in range(H):
            dh[r, j] = dfinal[r, j]
    dc[:, :] = dt(0.0)
    u4H = np.uint64(4 * H)
    u3H = np.uint64(3 * H)
    u2H = np.uint64(2 * H)
    uH = np.uint64(H)
    DH = np.uint64(dout.shape[2])
    ucol = np.uint64(dcol)
    dhf = dh.reshape(Bc * H)
    dcf = dc.reshape(Bc * H)
    for s in range(T):
        t = s if reverse else T - 1 - s  # reverse of the forward order
        tp = t + 1 if reverse else t
        if has_dout:
            do = dout[t].reshape(Bc * dout.shape[2])
            for r in range(Bc):
                o = np.uint64(r) * uH
                a = np.uint64(r) * DH + ucol
                for j in range(uH):
                    dhf[o + j] += do[a + j]
        gt = G[t].reshape(Bc * 4 * H)
        dg = dG[t].reshape(Bc * 4 * H)
        cp = c[tp].reshape(Bc * H)
        tcr = tc[t].reshape(Bc * H)
        # Five short loops rather than one: each touches few arrays, so LLVM can prove
        # them independent with few runtime checks and vectorises every one.
        for r in range(Bc):
            a = np.uint64(r) * u4H + u3H  # output gate
            o = np.uint64(r) * uH
            for j in range(uH):
                th = tcr[o + j]
                go = gt[a + j]
                dg[a + j] = dhf[o + j] * th * go * (one - go)
                dcf[o + j] += dhf[o + j] * go * (one - th * th)
        for r in range(Bc):
            a = np.uint64(r) * u4H
            o = np.uint64(r) * uH
            for j in range(uH):
                gi = gt[a + j]
                gg = gt[a + u2H + j]
                dg[a + j] = dcf[o + j] * gg * gi * (one - gi)
                dg[a + u2H + j] = dcf[o + j] * gi * (one - gg * gg)
        for r in range(Bc):
            a = np.uint64(r) * u4H + uH  # forget gate
            o = np.uint64(r) * uH
            for j in range(uH):
                gf = gt[a + j]
                dg[a + j] = dcf[o + j] * cp[o + j] * gf * (one - gf)
                dcf[o + j] *= gf
        if s < T - 1:
            if members is None:
                np.dot(dG[t], Whh, dh)
            else:
                _block_gw(dG[t], Wm, dh, members, H, gs, hs)
    dG2 = dG.reshape((T * Bc, 4 * H))
    hprev = h[1:T + 1] if reverse else h[0:T]
    np.dot(dG2.T, x2, grad[row[0]:row[0] + 4 * H * In].reshape((4 * H, In)))
    if members is None:
        np.dot(dG2.T, hprev.reshape((T * Bc, H)), grad[row[1]:row[1] + 4 * H * H].reshape((4 * H, H)))
    else:
        _block_grad(dG2, hprev.reshape((T * Bc, H)), grad[row[1]:row[1] + 4 * H * H].reshape((4 * H, H)),
                    members, H)
    gb = grad[row[2]:row[2] + 4 * H]
    gb[:] = dt(0.0)
    for r in range(T * Bc):
        g = dG2[r]
        for j in range(u4H):
            gb[j] += g[j]
    gbh = grad[row[3]:row[3] + 4 * H]
    for j in range(u4H):
        gbh[j] = gb[j]
    if want_dx:
        np.dot(dG2, Wih, dx2)


# --------------------------------------------------------------------------- one chunk


@njit(**_JIT)
def forward(ci, theta, losses, layout, H, members, L, D, head_w, head_b, O, x, y,
            loss_code, delta, masks, use_masks, wss, off, pred_out, want_grad):
    """Forward pass for chunk ci of the batch: rows [ci*B/n, (ci+1)*B/n).

    losses (nchunks,) receives each chunk's share of the mean loss (0 unless want_grad);
    pred_out (B, O) the predictions. A NaN target is masked: no loss and no gradient (the
    caller rescales the mean). With want_grad, the chunk's workspace row of wss
    (nchunks, W) is left ready for :func:`backward`: the states of every layer and d loss
    / d prediction. Releases the GIL, so the caller runs chunks on several Python
    threads at once. ``members``: None for one network, else K, an ensemble of K members
    whose recurrent weights are block-diagonal (see ``_block_hw``).
    """
    dt = theta.dtype.type
    B = x.shape[0]
    T = x.shape[1]
    I = x.shape[2]
    nch = wss.shape[0]
    nrm = dt(B * O)
    b0 = (ci * B) // nch
    b1 = ((ci + 1) * B) // nch
    Bc = b1 - b0
    ws = wss[ci]
    DH = D * H
    base = L * D * 4 + L  # the shared regions (see workspace_offsets)
    xin = ws[off[base]:off[base] + T * Bc * I].reshape((T, Bc, I))
    tmp = ws[off[base + 1]:off[base + 1] + Bc * 4 * H].reshape((Bc, 4 * H))
    hfin = ws[off[base + 8]:off[base + 8] + Bc * DH].reshape((Bc, DH))
    pred = ws[off[base + 9]:off[base + 9] + Bc * O].reshape((Bc, O))

    for t in range(T):
        for b in range(Bc):
            for f in range(I):
                xin[t, b, f] = x[b0 + b, t, f]

    # ---- layer by layer
    for k in range(L):
        # its input as (T*Bc, In): the chunk's data, or the layer below's output
        x2 = xin.reshape((T * Bc, I)) if k == 0 else \
            ws[off[L * D * 4 + k]:off[L * D * 4 + k] + T * Bc * DH].reshape((T * Bc, DH))
        for d in range(D):
            j = k * D + d  # its gates (T,Bc,4H), cell (T+1,Bc,H), hidden (T+1,Bc,H), tanh(cell) (T,Bc,H)
            G = ws[off[4 * j]:off[4 * j] + T * Bc * 4 * H].reshape((T, Bc, 4 * H))
            c = ws[off[4 * j + 1]:off[4 * j + 1] + (T + 1) * Bc * H].reshape((T + 1, Bc, H))
            h = ws[off[4 * j + 2]:off[4 * j + 2] + (T + 1) * Bc * H].reshape((T + 1, Bc, H))
            tc = ws[off[4 * j + 3]:off[4 * j + 3] + T * Bc * H].reshape((T, Bc, H))
            _layer_forward(theta, layout[j], x2, T, Bc, H, members, d == 1, G, c, h, tc, tmp)
            if k + 1 < L:  # the next layer's input: this layer's outputs, maybe dropped out
                nxt = ws[off[L * D * 4 + k + 1]:off[L * D * 4 + k + 1] + T * Bc * DH].reshape((T, Bc, DH))
                for t in range(T):
                    slot = t if d == 1 else t + 1
                    for b in range(Bc):
                        for f in range(H):
                            v = h[slot, b, f]
                            if use_masks:
                                v *= masks[k, t, b0 + b, d * H + f]
                            nxt[t, b, d * H + f] = v
            else:
                slot = 0 if d == 1 else T
                for b in range(Bc):
                    for f in range(H):
                        hfin[b, d * H + f] = h[slot, b, f]

    # ---- head and loss
    Wo = theta[head_w:head_w + O * DH].reshape((O, DH))
    bo = theta[head_b:head_b + O]
    np.dot(hfin, Wo.T, pred)
    total = dt(0.0)
    for b in range(Bc):
        for o in range(O):
            p = pred[b, o] + bo[o]
            pred[b, o] = p
            pred_out[b0 + b, o] = p
            if want_grad:
                yv = y[b0 + b, o]
                if yv != yv:  # a missing target (NaN): no error, no gradient
                    pred[b, o] = dt(0.0)
                    continue
                e = p - yv
                ae = abs(e)
                if loss_code == LOSS_MSE:
                    total += e * e
                    g = dt(2.0) * e
                elif loss_code == LOSS_MAE:
                    total += ae
                    g = dt(1.0) if e > dt(0.0) else (dt(-1.0) if e < dt(0.0) else dt(0.0))
                else:
                    if ae < delta:
                        total += dt(0.5) * e * e
                        g = e
                    else:
                        total += delta * (ae - dt(0.5) * delta)
                        g = delta if e > dt(0.0) else -delta
                pred[b, o] = g / nrm  # pred now holds d loss / d pred
    losses[ci] = total / nrm if want_grad else dt(0.0)


@njit(**_JIT)
def backward(ci, theta, grads, layout, H, members, L, D, head_w, head_b, O, x, masks, use_masks, wss, off):
    """BPTT for chunk ci after :func:`forward` with want_grad: the chunk's gradient into
    grads (nchunks, P). The arguments are forward's (x for its shape only)."""
    dt = theta.dtype.type
    B = x.shape[0]
    T = x.shape[1]
    I = x.shape[2]
    nch = wss.shape[0]
    b0 = (ci * B) // nch
    b1 = ((ci + 1) * B) // nch
    Bc = b1 - b0
    grad = grads[ci]
    ws = wss[ci]
    DH = D * H
    in_max = max(I, DH)
    base = L * D * 4 + L  # the shared regions (see workspace_offsets)
    xin = ws[off[base]:off[base] + T * Bc * I].reshape((T, Bc, I))
    tmp = ws[off[base + 1]:off[base + 1] + Bc * 4 * H].reshape((Bc, 4 * H))
    dG = ws[off[base + 2]:off[base + 2] + T * Bc * 4 * H].reshape((T, Bc, 4 * H))
    dh = ws[off[base + 3]:off[base + 3] + Bc * H].reshape((Bc, H))
    dc = ws[off[base + 4]:off[base + 4] + Bc * H].reshape((Bc, H))
    dxa = ws[off[base + 5]:off[base + 5] + T * Bc * in_max]
    dxb = ws[off[base + 6]:off[base + 6] + T * Bc * in_max]
    dxc = ws[off[base + 7]:off[base + 7] + T * Bc * in_max]
    hfin = ws[off[base + 8]:off[base + 8] + Bc * DH].reshape((Bc, DH))
    pred = ws[off[base + 9]:off[base + 9] + Bc * O].reshape((Bc, O))
    Wo = theta[head_w:head_w + O * DH].reshape((O, DH))

    # ---- head
    dpred = pred
    np.dot(dpred.T, hfin, grad[head_w:head_w + O * DH].reshape((O, DH)))
    gbo = grad[head_b:head_b + O]
    gbo[:] = dt(0.0)
    for b in range(Bc):
        for o in range(O):
            gbo[o] += dpred[b, o]
    np.dot(dpred, Wo, hfin)  # hfin now holds d loss / d final hidden states
    tmp[:, :] = dt(0.0)
    zero_final = tmp[:, :H]  # tmp is free during the backward sweep
    for k in range(L - 1, -1, -1):
        In = I if k == 0 else DH
        x2 = xin.reshape((T * Bc, I)) if k == 0 else \
            ws[off[L * D * 4 + k]:off[L * D * 4 + k] + T * Bc * DH].reshape((T * Bc, DH))
        # the gradient from the layer above sits in dxa as (T, Bc, DH), already masked
        dout = dxa[:T * Bc * DH].reshape((T, Bc, DH))
        acc = dxb[:T * Bc * In].reshape((T * Bc, In))
        part = dxc[:T * Bc * In].reshape((T * Bc, In))
        for d in range(D):
            j = k * D + d
            G = ws[off[4 * j]:off[4 * j] + T * Bc * 4 * H].reshape((T, Bc, 4 * H))
            c = ws[off[4 * j + 1]:off[4 * j + 1] + (T + 1) * Bc * H].reshape((T + 1, Bc, H))
            h = ws[off[4 * j + 2]:off[4 * j + 2] + (T + 1) * Bc * H].reshape((T + 1, Bc, H))
            tc = ws[off[4 * j + 3]:off[4 * j + 3] + T * Bc * H].reshape((T, Bc, H))
            final = hfin[:, d * H:(d + 1) * H] if k == L - 1 else zero_final
            _layer_backward(theta, grad, layout[j], x2, T, Bc, H, members, d == 1, G, c, h, tc,
                            dout, d * H, k < L - 1, final, dG, dh, dc,
                            acc if d == 0 else part, k > 0)
            if k > 0 and d == 1:
                for r in range(T * Bc):
                    for f in range(In):
                        acc[r, f] += part[r, f]
        if k > 0:
            # hand the input gradient down, through the dropout mask of layer k-1's output
            nd = dxa[:T * Bc * DH].reshape((T, Bc, DH))
            a3 = acc.reshape((T, Bc, DH))
            for t in range(T):
                for b in range(Bc):
                    for f in range(DH):
                        v = a3[t, b, f]
                        if use_masks:
                            v *= masks[k - 1, t, b0 + b, f]
                        nd[t, b, f] = v
