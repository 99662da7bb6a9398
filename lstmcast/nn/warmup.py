"""Compiling the kernels before a run: only the variants it calls, and on a cold cache
on two CPUs at once.

A fit calls two entry points, :func:`~lstmcast.nn.kernels.forward` and
:func:`~lstmcast.nn.kernels.backward`, in float32, plus AdamW's two loops; an ensemble
calls the kernels' block-diagonal variant as well. Numba compiles one function at a time
in a process (a global compiler lock), so when ``backward`` is not cached and a CPU is
idle, a second Python process compiles it into the shared cache while this one compiles
``forward``, and this one then loads it. On an idle 2-core machine the quick start's
first fit compiled in 5.0 s instead of 9.0 (6.4 s from the command to the model instead
of 10.4, ``NUMBA_CACHE_DIR`` empty; ``python -m benchmarks.speed.cli``). With one CPU,
no writable cache, busy CPUs, or a second process that fails, this process compiles
everything itself, as it did before: the second process is a shortcut, never a
requirement.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

# The second process's whole job; the arguments are the dtype and the member counts.
_CHILD = "import sys; from lstmcast.nn.warmup import compile_backward; compile_backward(sys.argv[1], sys.argv[2:])"
CHILD_TIMEOUT = 300.0  # seconds; a hung compiler in the other process is killed and this one compiles


def warm_up(dtype=np.float32, ensemble: bool = False) -> tuple[float, bool]:
    """Compile (or load from the cache) every kernel a fit uses, on a tiny network (with
    ``ensemble``, the kernels' ensemble variant too, which one network never compiles).

    Returns the seconds it took, so that compiling is not counted as training, and
    whether anything was compiled rather than loaded from the cache.
    """
    from lstmcast.nn import jitcache
    from lstmcast.nn.network import num_threads
    from lstmcast.nn.optim import Adam

    started = time.perf_counter()
    variants = (1, 2) if ensemble else (1,)
    jitcache.configure()
    before = _cpu_ticks()  # the idle CPUs are measured while Numba loads (0.2 s)
    from lstmcast.nn import kernels

    runs = [_tiny(dtype, members) for members in variants]
    child = None
    if jitcache.enabled() and num_threads() > 1:
        missing = [net.members for net, _, _, (_, bwd) in runs if not cached(kernels.backward, bwd)]
        if missing and idle_cpus(before) >= 0.5:
            child = _spawn(np.dtype(dtype).name, missing)
    misses = _misses()
    try:
        for net, x, _, _ in runs:  # meanwhile, forward (a prediction) and the optimiser's loops here
            net.predict(x, engine="kernels")
            Adam(net.size, dtype=dtype).step(net.theta, np.zeros(net.size, dtype))
        if child is not None:
            child.wait(CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass  # compiled here below
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
    for net, x, y, _ in runs:  # a training step: backward from the cache (or compiled here)
        _, grad = net.loss_and_grad(x, y)
        Adam(net.size, dtype=dtype).step(net.theta, grad)
    return time.perf_counter() - started, child is not None or _misses() > misses


def compile_backward(dtype: str, members: list[str]) -> None:
    """The second process: compile ``backward`` for these member counts into the cache."""
    from lstmcast.nn import kernels

    for m in members:
        _, _, _, (_, bwd) = _tiny(np.dtype(dtype).type, int(m))
        kernels.backward(*bwd)


def cached(kernel, args: tuple) -> bool:
    """Whether Numba's cache holds ``kernel`` compiled for the arguments ``args`` (``ci``
    first), by reading the kernel's cache index without loading anything. Uses Numba's
    private cache API; when that changes, True (so no second process, compiling here)."""
    try:
        from numba import typeof
        from numba.core.typing.typeof import Purpose

        sig = tuple(typeof(a, Purpose.argument) for a in args)
        if sig in kernel.overloads:
            return True
        cache = kernel._cache
        key = cache._index_key(sig, kernel.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - any surprise: compile in this process, as before
        return True


def _tiny(dtype, members: int):
    """A tiny network, a batch, and the kernels' (forward, backward) arguments for it,
    ``ci`` first: typed exactly as a fit's (a test checks that a fit adds no signature)."""
    from lstmcast.nn import network

    net = network.Net.from_params(network.init_params(2, 4, 1, 1, dtype=dtype), members)
    x, y = np.zeros((2, 3, 2), dtype), np.zeros((2, 1), dtype)
    fwd, bwd = net._kernel_args(x, y, 0, 1.0, None, True)
    return net, x, y, ((0, *fwd), (0, *bwd))


def _cpu_ticks():
    """(idle, total) CPU ticks of the whole machine so far (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return ticks[3] + ticks[4], sum(ticks)


def idle_cpus(before) -> float:
    """How many CPUs were idle since ``before`` (a :func:`_cpu_ticks` reading), over at
    least 0.1 s; infinity where the machine does not say (not Linux).

    A second process only helps on an idle CPU. Where other processes keep the CPUs
    busy (Linux's autogroup scheduling gives each session a fair share: one CPU of two
    when another session keeps one busy) it would compete with this one for one CPU and add
    its own start-up and shared helpers: with another session keeping one of two CPUs
    busy, the first fit took 14.5 s instead of 12.5 compiling in one process.
    """
    if before is None:
        return float("inf")
    now = _cpu_ticks()
    if now is not None and now[1] - before[1] < 10 * (os.cpu_count() or 1):  # 10 ticks a CPU: 0.1 s
        time.sleep(0.1)
        now = _cpu_ticks()
    if now is None or now[1] <= before[1]:
        return float("inf")
    return (now[0] - before[0]) / (now[1] - before[1]) * (os.cpu_count() or 1)


def _misses() -> int:
    """How many times this process has compiled a kernel (not found it in the cache)."""
    from lstmcast.nn import kernels, optim

    return sum(sum(d.stats.cache_misses.values()) for d in (kernels.forward, kernels.backward,
                                                             *optim._JITTED.values()))


def _spawn(dtype: str, members: list[int]):
    """Start the second process (its output discarded: it only fills the cache), or None."""
    import lstmcast

    if not sys.executable:  # an embedded interpreter: no Python to start
        return None
    # run from the folder holding this lstmcast package, so that the child imports the same one
    root = os.path.dirname(os.path.dirname(os.path.abspath(lstmcast.__file__)))
    try:
        return subprocess.Popen([sys.executable, "-c", _CHILD, dtype, *map(str, members)], cwd=root,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None
