"""Time one training step (forward + BPTT + AdamW update) against PyTorch.

    python -m benchmarks.speed.step [--repeat 30] [--rounds 3] [--threads 2] [--shapes all|small]

For each shape: lstmcast's step in float32, and, when torch is importable, the same
step in ``torch.nn.LSTM`` + ``nn.Linear`` + ``torch.optim.Adam`` with
``torch.set_num_threads(threads)``. Each measurement runs in a fresh subprocess: two
OpenMP runtimes in one process (Numba's and PyTorch's) spin-wait against each other
and distort both timings. Each of ``--rounds`` rounds measures both sides once, one
after the other, so that a slow spell of a shared machine hits both; the table gives,
per side, the median over the rounds of each round's median milliseconds, the speed-up and
the fraction of this machine's own float32 GEMM rate (measured with numpy on a
1024x1024 product using the same number of threads) that each step reaches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

SHAPES = [  # input, hidden, layers, time, batch, target speed-up
    (1, 32, 1, 48, 64, 2.0),
    (1, 64, 1, 48, 64, 2.0),
    (4, 64, 2, 96, 128, 1.5),
    (5, 128, 2, 168, 128, 1.2),
]
HORIZON = 12


def step_flops(I, H, L, T, B, O=HORIZON):
    """Multiply-adds x2 of the GEMMs in forward + backward (elementwise work excluded)."""
    total = 0
    for k in range(L):
        In = I if k == 0 else H
        fwd = 2 * T * B * 4 * H * (In + H)  # input projection + recurrence
        bwd = 2 * T * B * 4 * H * H * 2 + 2 * T * B * 4 * H * In  # dh, dW_hh, dW_ih
        if k > 0:
            bwd += 2 * T * B * 4 * H * In  # dx for the layer below
        total += fwd + bwd
    return total + 3 * 2 * B * H * O


def median_ms(fn, repeat):
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def gemm_rate(threads):
    """This machine's float32 GEMM rate in GFLOP/s (numpy's BLAS, `threads` threads)."""
    from threadpoolctl import threadpool_limits

    a = np.random.rand(1024, 1024).astype(np.float32)
    b = np.random.rand(1024, 1024).astype(np.float32)
    with threadpool_limits(threads):
        ms = median_ms(lambda: a @ b, 20)
    return 2 * 1024 ** 3 / (ms / 1000) / 1e9


def lstmcast_step(I, H, L, T, B):
    from lstmcast.nn import network
    from lstmcast.nn.network import Net
    from lstmcast.nn.optim import Adam

    rng = np.random.default_rng(0)
    net = Net.from_params(network.init_params(I, H, L, HORIZON, seed=0))
    opt = Adam(net.size, lr=1e-3)
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    y = rng.normal(size=(B, HORIZON)).astype(np.float32)

    def step():
        _, grad = net.loss_and_grad(x, y)
        opt.step(net.theta, grad)

    return step


def torch_step(I, H, L, T, B, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(I, H, num_layers=L, batch_first=True)
    head = torch.nn.Linear(H, HORIZON)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    x = torch.randn(B, T, I)
    y = torch.randn(B, HORIZON)
    loss_fn = torch.nn.MSELoss()

    def step():
        opt.zero_grad()
        _, (h_n, _) = lstm(x)
        loss = loss_fn(head(h_n[-1]), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*lstm.parameters(), *head.parameters()], 1.0)
        opt.step()

    return step


def worker(which, shape, threads, repeat):
    """Run in a subprocess: print the median milliseconds of one framework's step."""
    if which == "gemm":
        print(json.dumps(gemm_rate(threads)))
        return
    I, H, L, T, B = shape
    if which == "lstmcast":
        import numba

        numba.set_num_threads(threads)
        fn = lstmcast_step(I, H, L, T, B)
    else:
        fn = torch_step(I, H, L, T, B, threads)
    print(json.dumps(median_ms(fn, repeat)))


def measure(which, shape, threads, repeat):
    cmd = [sys.executable, __file__, "--worker", which, "--threads", str(threads),
           "--repeat", str(repeat), "--shape", ",".join(map(str, shape))]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{which} {shape} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3, help="fresh-process measurements per side")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shapes", choices=("all", "small"), default="all")
    ap.add_argument("--worker", choices=("lstmcast", "torch", "gemm"), help=argparse.SUPPRESS)
    ap.add_argument("--shape", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        shape = tuple(int(v) for v in args.shape.split(",")) if args.shape else ()
        worker(args.worker, shape, args.threads, args.repeat)
        return

    try:
        import torch
    except ImportError:
        torch = None
    peak = measure("gemm", (), args.threads, args.repeat)
    core = os.environ.get("OPENBLAS_CORETYPE", "auto-detected")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"threads={args.threads}, OpenBLAS core {core}, numpy float32 GEMM {peak:.0f} GFLOP/s; "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print()
    print("| input I | hidden H | layers | time T | batch B | lstmcast ms | PyTorch ms | speed-up "
          "| target | % of GEMM rate |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    shapes = SHAPES if args.shapes == "all" else SHAPES[:2]
    for I, H, L, T, B, target in shapes:
        ours_runs, theirs_runs = [], []
        for _ in range(args.rounds):
            ours_runs.append(measure("lstmcast", (I, H, L, T, B), args.threads, args.repeat))
            if torch:
                theirs_runs.append(measure("torch", (I, H, L, T, B), args.threads, args.repeat))
        ours = statistics.median(ours_runs)
        theirs = statistics.median(theirs_runs) if torch else float("nan")
        rate = step_flops(I, H, L, T, B) / (ours / 1000) / 1e9
        ratio = theirs / ours
        ok = "met" if ratio >= target else "missed"
        print(f"| {I} | {H} | {L} | {T} | {B} | {ours:.2f} | {theirs:.2f} | {ratio:.2f}x "
              f"| {target}x ({ok}) | {100 * rate / peak:.0f}% |")


if __name__ == "__main__":
    main()
